"""Calibration: fit a scenario's assumed parameters to observed facts by ABC-SMC (``modsim calibrate``).

- ``targets``: the targets file (observed facts, each with its tolerance), validated like a scenario;
- ``priors``: the ``--param PATH=LOW..HIGH`` (uniform) and ``PATH=log:LOW..HIGH`` (log-uniform) priors;
- ``simulate``: the worker function that runs one replication and measures every target;
- ``sampler``: a pyabc sampler that evaluates each generation's proposals in batches on modsim's executors;
- ``abc``: the ABC-SMC loop, one generation at a time from its database (so it resumes);
- ``outputs``: the posterior tables, the posterior predictive check and ``calibrated.yaml``.
"""
