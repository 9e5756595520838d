"""The quick commands start quickly: --help, list, schema and validate import none of the heavy libraries.

Their start-up time is measured in bench/ (``python -m bench``, section "start-up"), never here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "matplotlib", "dask", "distributed", "optuna", "SALib", "scipy", "numpy", "pyarrow", "simpy")
PROBE = """
import json, sys
from sim.cli import main
sys.argv = ["modsim", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["list"], ["schema"],
                                  ["validate", "scenarios/baseline.yaml", "scenarios/cambodia_2023.yaml"]],
                         ids=lambda a: " ".join(a))
def test_quick_commands_import_nothing_heavy(args):
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), json.dumps(args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


def test_workers_import_only_the_model():
    """What the fork server preloads for every worker: the model and its numerics, never the table, chart or
    study libraries (pandas alone is about 60 MiB of a worker's memory)."""
    probe = ("import json, sys\nfrom sim.experiment.executors import WORKER_MODULES\n"
             "for name in WORKER_MODULES: __import__(name)\n"
             "print(json.dumps(sorted(m for m in %r if m in sys.modules)))" % (HEAVY,))
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert set(json.loads(done.stdout.strip().splitlines()[-1])) <= {"numpy", "scipy", "simpy"}
