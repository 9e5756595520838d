"""The Python API as the README shows it: a plain script, and failures that cannot pass unseen."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import sim

ROOT = Path(__file__).resolve().parents[1]


def readme_python_example() -> str:
    """The README's Python example, verbatim."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert len(blocks) == 1, "the README has one Python example"
    return blocks[0]


def test_readme_example_runs_as_a_plain_script_on_a_process_pool(tmp_path):
    """Saved as example.py with no __main__ guard and run with python, on 2 worker processes."""
    code = readme_python_example()
    # Shortened: a 3-day horizon and 2 replications; the example must still say what it says.
    assert '["review.policy=fifo"]' in code and "replications=8" in code
    code = code.replace('["review.policy=fifo"]', '["review.policy=fifo", "horizon=3d"]')
    code = code.replace("replications=8", "replications=2, workers=2")
    code += "\nprint('ROWS', len(tables.replications), 'FAILURES', len(tables.failures))\n"
    (tmp_path / "example.py").write_text(code)
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ROWS 2 FAILURES 0" in done.stdout
    assert "bootstrapping" not in done.stderr


def test_failed_replications_raise_with_the_finished_tables(load, failing_replication):
    failing_replication(1)
    scenario = load("validation/mmc.yaml", "horizon=150h")
    with pytest.raises(sim.ReplicationsFailed, match=r"1 of 3 replication\(s\) failed.*RuntimeError: boom") as info:
        sim.run(scenario, replications=3, seed=2, workers=1)
    assert list(info.value.tables.replications.replication) == [0, 2]
    tables = sim.run(scenario, replications=3, seed=2, workers=1, allow_failures=True)
    assert list(tables.failures.replication) == [1]
