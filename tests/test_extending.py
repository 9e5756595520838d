"""docs/extending.md, followed: its modules and scripts run as written, and the registry of kinds is whole."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys

import pytest

from sim.model.policies import POLICIES, PriorityPolicy
from sim.model.retaliation import STEPS, RetaliationStep
from sim.scenario import load_scenario
from sim.errors import ScenarioError
from sim.scenario.kinds import kind_of
from tests.conftest import ROOT

GUIDE = ROOT / "docs" / "extending.md"


def guide_blocks() -> tuple[dict[str, str], list[str]]:
    """The guide's Python blocks: modules (a first line '# name.py') by file name, and the scripts."""
    modules, scripts = {}, []
    for block in re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S):
        first = block.splitlines()[0]
        if re.fullmatch(r"# \w+\.py", first):
            modules[first[2:]] = block
        else:
            scripts.append(block)  # (the throttle excerpt is fenced as py, not python: it is sim's own code)
    return modules, scripts


def test_the_guide_runs_as_written(tmp_path):
    """Each script of the guide, with its modules beside it, runs on a process pool and prints its numbers."""
    modules, scripts = guide_blocks()
    assert set(modules) == {"oldest_first.py", "fines.py"} and len(scripts) == 2
    for name, code in modules.items():
        (tmp_path / name).write_text(code)
    printed = []
    for k, script in enumerate(scripts):
        path = tmp_path / f"script_{k}.py"
        path.write_text(script)
        done = subprocess.run([sys.executable, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                              env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr[-2000:]
        printed.append(done.stdout.split())
    wait = float(printed[0][-1])
    assert 0 < wait < 10
    fines, steps = map(float, printed[1][-2:])
    assert fines >= 1 and fines == steps  # the fine is the ladder's only step, and the leader's post is removed


def test_an_own_policy_orders_the_queue_and_differs_from_fifo(tmp_path):
    """The guide's policy really ranks: under it the oldest post's ticket is served first (not arrival order)."""
    modules, _ = guide_blocks()
    (tmp_path / "oldest_first.py").write_text(modules["oldest_first.py"])
    sys.path.insert(0, str(tmp_path))
    try:
        from oldest_first import OldestPostFirst
    finally:
        sys.path.remove(str(tmp_path))
    scenario = load_scenario(ROOT / "scenarios/validation/priority_mmc.yaml", [("review.policy", OldestPostFirst())])
    assert type(scenario.review.policy) is OldestPostFirst
    assert scenario.model_dump(mode="json")["review"]["policy"] == {"kind": "oldest_post_first"}


def test_a_file_cannot_name_an_own_kind(tmp_path):
    """A YAML file picks kinds by name among those the schema knows; it never imports code."""
    with pytest.raises(ScenarioError, match="review.policy: expected one of 'fifo'"):
        load_scenario(ROOT / "scenarios/baseline.yaml", ["review.policy=oldest_first.OldestPostFirst"])
    with pytest.raises(ScenarioError, match="kind: expected one of 'threat'.*found 'fine'"):
        load_scenario(ROOT / "scenarios/cambodia_2023.yaml", ["government.ladder=[{kind: fine, threshold: 1}]"])


@pytest.mark.parametrize("base, kinds, method", [(PriorityPolicy, POLICIES, "priority"),
                                                 (RetaliationStep, STEPS, "act")])
def test_every_kind_in_the_schema_has_an_implementation(base, kinds, method):
    """Each kind the schema accepts is its own class, with its own name and its own acting method."""
    names = [kind_of(kind) for kind in kinds]
    assert len(set(names)) == len(names) and all(issubclass(kind, base) for kind in kinds)
    for kind in kinds:
        assert getattr(kind, method) is not getattr(base, method), f"{kind.__name__} does not implement {method}"
        assert inspect.getdoc(getattr(kind, method))
    own = {subclass for subclass in base.__subclasses__() if subclass.__module__.startswith("sim.")}
    assert own == set(kinds), "a kind in sim/ that the schema does not list (or the other way round)"


def test_each_kind_refuses_the_settings_of_another(tmp_path):
    with pytest.raises(ScenarioError, match=r"ladder.0.user_loss: unknown key"):
        load_scenario(ROOT / "scenarios/cambodia_2023.yaml",
                      ["government.ladder=[{kind: throttle, threshold: 1, user_loss: 0.1}]"])
    with pytest.raises(ScenarioError, match=r"ladder.0.factor: expected a number greater than 1"):
        load_scenario(ROOT / "scenarios/cambodia_2023.yaml",
                      ["government.ladder=[{kind: throttle, threshold: 1, factor: 0.5}]"])
