"""A pyabc sampler that evaluates each generation's proposals in batches on modsim's executors.

pyabc hands a sampler ``simulate_one``, which draws a proposal (from the prior, or by perturbing a
particle of the last generation), simulates it and accepts or rejects it, all in one call. The draws
use numpy's global random state and no simulation result, so a batch is made in two passes:

1. with the random state saved, ``simulate_one`` is called ``batch`` times while the model only
   records the proposals (``ProposalModel`` in ``record`` mode);
2. the recorded proposals are simulated together, on the local pool, a Dask cluster or serially
   (``evaluate``: each with its own replication seed, so the results do not depend on where they ran);
3. the random state is restored and ``simulate_one`` called again for the same proposals, the model
   now returning their results in order (``replay`` mode), so pyabc computes their distances, acceptance
   and weights itself.

The generation takes its proposals in order until ``n`` are accepted; what a last batch evaluated
beyond that is not counted. Its population is therefore the same whatever the batch size, the number
of workers or the executor: same seed, same posterior.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Callable

import numpy as np
import pyabc

Evaluate = Callable[[int, int, list[dict]], list[dict]]


class ProposalModel(pyabc.Model):
    """The model pyabc sees: it records proposals, or replays the results evaluated for them."""

    def __init__(self, names: list[str], observed: dict) -> None:
        super().__init__("modsim")
        self.names = names
        self.observed = dict(observed)
        self.recording = False
        self.recorded: list[dict] = []
        self.results: deque = deque()

    def sample(self, pars) -> dict:
        values = {name: float(pars[name]) for name in self.names}
        if self.recording:
            self.recorded.append(values)
            return dict(self.observed)  # a placeholder: this pass's particles are thrown away
        expected, stats = self.results.popleft()
        if expected != values:
            raise RuntimeError("pyabc proposed other parameters on replay than on recording (its random draws "
                               "are no longer reproducible)")
        return dict(stats)


class BatchSampler(pyabc.sampler.Sampler):
    """Sample until ``n`` proposals are accepted, evaluating them in batches with ``evaluate``.

    ``evaluate(t, first, proposals)`` returns the summary statistics of proposals ``first``,
    ``first + 1``... of generation ``t``. ``batch(n, accepted, tried)`` says how many to evaluate next.
    ``on_batch(t, accepted, n)`` is told the progress after each batch.
    """

    def __init__(self, model: ProposalModel, evaluate: Evaluate, batch: Callable[[int, int, int], int],
                 on_batch: Callable[[int, int, int], None] = lambda t, a, n: None) -> None:
        super().__init__()
        self.model = model
        self.evaluate = evaluate
        self.batch = batch
        self.on_batch = on_batch

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        """pyabc's entry point: a Sample holding the proposals up to (and with) the n-th accepted one."""
        sample = self._create_empty_sample()
        accepted = tried = 0
        while accepted < n and tried < max_eval:
            size = max(1, int(min(self.batch(n, accepted, tried), max_eval - tried if math.isfinite(max_eval)
                                  else math.inf)))
            state = np.random.get_state()
            self.model.recording, self.model.recorded = True, []
            for _ in range(size):
                simulate_one()
            proposals = self.model.recorded
            self.model.recording = False
            results = self.evaluate(t, tried, proposals)
            np.random.set_state(state)
            self.model.results = deque(zip(proposals, results))
            for _ in range(size):
                particle = simulate_one()
                sample.append(particle)
                tried += 1
                accepted += bool(particle.accepted)
                if accepted >= n:
                    break
            self.model.results.clear()
            self.on_batch(t, accepted, n)
        self.nr_evaluations_ = tried
        if sample.n_accepted < n:
            sample.ok = False
        return sample
