"""Whole studies as a user runs them: ``python -m bench --studies [--quick]``.

Each study is one ``modsim`` command, run as a new process on ``workers`` local workers (``--workers``),
in one window, one after another: a compare, a tune, a sweep, a Morris sensitivity study and a
calibration (when ``sim.calibration`` exists). Every replication appends its start, end and CPU
seconds to a log (``MODSIM_TASK_LOG``, see ``sim.experiment.replicate.simulate_data``), which gives:

- **sim CPU**: the sum of the replications' CPU seconds (the work itself);
- **efficiency**: sim CPU / (wall x workers): 1.0 when every worker simulates all the time;
- **fixed**: the wall seconds before the first replication starts (start-up, imports, scenario
  checks, pool start) plus those after the last one ends (tables, charts, report, exit), and their
  share of the wall time. What remains of the wall time beyond sim CPU / workers is idle workers
  in between (the end of a batch, the scheduler).

Then the whole-process comparison (``modsim run mmc.yaml -n 1`` against the idiomatic SimPy script
on the same 200k customers, best of interleaved rounds) and the memory probes (``bench.memory``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
MMC, BASELINE, CAMBODIA = SCENARIOS / "validation" / "mmc.yaml", SCENARIOS / "baseline.yaml", SCENARIOS / "cambodia_2023.yaml"
COUNTERFACTUAL = SCENARIOS / "counterfactuals" / "follow_board_suspension.yaml"
TARGETS = SCENARIOS / "targets" / "mmc.yaml"
TASK_LOG = "MODSIM_TASK_LOG"
REVIEWERS = "review.pools.agents.reviewers"
MORRIS_PARAMS = ["--param", "detection.classifier.recall=0.3..0.9", "--param", "review.pools.khmer.handling_time.mean=3min..12min"]

FULL = {"compare": (20, []), "tune": (30, 5, ["horizon=6000h"]), "sweep": (20, []), "morris": (7, 3, []),
        "calibrate": ["--particles", "40", "--generations", "3", "-n", "20"], "customers": 200_000, "mmc_h": "11100h", "rounds": 3,
        "memory": [("mmc.yaml 200k tickets", MMC, 1, ["horizon=11100h"]),
                   ("baseline.yaml 10x users 30 days", BASELINE, 10, ["horizon=30d"]),
                   ("baseline.yaml 10x users 90 days", BASELINE, 10, []),
                   ("baseline.yaml 3x users 30 days", BASELINE, 3, ["horizon=30d"]),
                   ("baseline.yaml 3x users 90 days", BASELINE, 3, []),
                   ("baseline.yaml 3x users 360 days", BASELINE, 3, ["horizon=360d"])]}
QUICK = {"compare": (2, ["horizon=30d"]), "tune": (4, 2, ["horizon=300h"]), "sweep": (2, ["horizon=5d"]),
         "morris": (2, 1, ["horizon=5d"]), "calibrate": ["--particles", "6", "--generations", "1", "-n", "2", "--set", "horizon=300h"], "customers": 20_000, "mmc_h": "1110h",
         "rounds": 1, "memory": [("mmc.yaml 20k tickets", MMC, 1, ["horizon=1110h"]),
                                 ("baseline.yaml 2x users 3 days", BASELINE, 2, ["horizon=3d"]),
                                 ("baseline.yaml 2x users 9 days", BASELINE, 2, ["horizon=9d"])]}
IDIOMATIC = ("import sys; sys.path.insert(0, {root!r}); from bench.references import idiomatic_simpy_mmc; "
             "idiomatic_simpy_mmc(20, 18.0, 1.0, {customers}, 12345)")


def _sets(sets: list[str]) -> list[str]:
    return [word for s in sets for word in ("--set", s)]


def study_commands(cfg: dict) -> dict[str, list[str] | None]:
    """The words after ``modsim`` of each study (None: not available in this modsim)."""
    n, sets = cfg["compare"]
    trials, reps, tune_sets = cfg["tune"]
    sweep_n, sweep_sets = cfg["sweep"]
    samples, morris_n, morris_sets = cfg["morris"]
    commands: dict[str, list[str] | None] = {
        "compare": ["compare", str(CAMBODIA), str(COUNTERFACTUAL), "-n", str(n), *_sets(sets)],
        "tune": ["tune", str(MMC), "--param", f"{REVIEWERS}=15..40", "--param",
                 "review.pools.agents.handling_time.mean=50min..70min", "--objective", "max:reviewer_utilization",
                 "--constraint", "queue_wait_mean_h<=0.1", "--trials", str(trials), "-n", str(reps), *_sets(tune_sets)],
        "sweep": ["sweep", str(BASELINE), "--vary", "detection.classifier.recall=0.3:0.9:0.2", "-n", str(sweep_n),
                  *_sets(sweep_sets)],
        "morris": ["sensitivity", str(BASELINE), *MORRIS_PARAMS, "--method", "morris", "--samples", str(samples),
                   "-n", str(morris_n), *_sets(morris_sets)],
        "calibrate": None,
    }
    if _calibration_available():
        commands["calibrate"] = ["calibrate", str(MMC), "--targets", str(TARGETS), "--param",
                                 "review.pools.agents.handling_time.mean=40min..80min", *cfg["calibrate"]]
    return commands


def _calibration_available() -> bool:
    """Whether this modsim has ``modsim calibrate`` (package ``sim.calibration``) and the M/M/c targets it calibrates against."""
    import importlib.util

    try:
        return importlib.util.find_spec("sim.calibration") is not None and TARGETS.exists()
    except (ImportError, ValueError):
        return False


def modsim() -> str:
    """The console script of this interpreter."""
    return str(Path(sys.executable).with_name("modsim"))


def task_lines(log: Path) -> list[tuple[float, float, float]]:
    """(start, end, CPU seconds) of every replication logged in ``log``."""
    if not log.exists():
        return []
    rows = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3:
            rows.append((float(parts[0]), float(parts[1]), float(parts[2])))
    return rows


def study_figures(wall_start: float, wall_end: float, tasks: list[tuple[float, float, float]], workers: int) -> dict:
    """Wall, sim CPU, parallel efficiency and fixed cost (before the first and after the last replication)."""
    wall = wall_end - wall_start
    cpu = sum(c for _, _, c in tasks)
    head = (min(s for s, _, _ in tasks) - wall_start) if tasks else wall
    tail = (wall_end - max(e for _, e, _ in tasks)) if tasks else 0.0
    return {"wall_s": wall, "sim_cpu_s": cpu, "replications": len(tasks), "workers": workers,
            "efficiency": cpu / (wall * workers) if wall > 0 else float("nan"), "head_s": head, "tail_s": tail,
            "fixed_s": head + tail, "fixed_share": (head + tail) / wall if wall > 0 else float("nan")}


def measure_study(name: str, words: list[str], workers: int, folder: Path) -> dict:
    """Run one study as a new process and measure it (see the module's docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}.tasks"
    line = [modsim(), *words, "--workers", str(workers), "--out", str(folder / name)]
    load = os.getloadavg()[0]
    started = time.time()
    done = subprocess.run(line, cwd=ROOT, capture_output=True, text=True, env={**os.environ, TASK_LOG: str(log)})
    ended = time.time()
    result = {"name": name, "command": " ".join(["modsim", *words, "--workers", str(workers)]),
              "exit": done.returncode, "load_before": load, **study_figures(started, ended, task_lines(log), workers)}
    if done.returncode not in (0, 3):
        result["error"] = (done.stderr.strip().splitlines() or ["?"])[-1]
    return result


def whole_process(cfg: dict, folder: Path, log: Callable[[str], None]) -> dict:
    """``modsim run mmc.yaml -n 1`` and the idiomatic SimPy script on the same customers, each a new process,
    best of ``rounds`` interleaved rounds; the ratio is SimPy's time over modsim's (above 1: modsim faster)."""
    lines = {"idiomatic SimPy script": [sys.executable, "-c", IDIOMATIC.format(root=str(ROOT), customers=cfg["customers"])]}
    best = {"idiomatic SimPy script": float("inf"), "modsim run mmc.yaml -n 1": float("inf")}
    for k in range(cfg["rounds"]):
        log(f"whole process, round {k + 1} of {cfg['rounds']} ...")
        lines["modsim run mmc.yaml -n 1"] = [modsim(), "run", str(MMC), "-n", "1", "--set", f"horizon={cfg['mmc_h']}",
                                             "--out", str(folder / f"run-{k}")]
        for name, line in lines.items():
            started = time.perf_counter()
            subprocess.run(line, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            best[name] = min(best[name], time.perf_counter() - started)
    simpy, ours = best["idiomatic SimPy script"], best["modsim run mmc.yaml -n 1"]
    return {"customers": cfg["customers"], "horizon": cfg["mmc_h"], "rounds": cfg["rounds"], "simpy_s": simpy,
            "modsim_s": ours, "ratio": simpy / ours, "phases": run_phases(cfg)}


def run_phases(cfg: dict) -> dict:
    """Where a ``modsim run -n 1`` spends its time, phase by phase, in a fresh interpreter (``bench.phases``)."""
    done = subprocess.run([sys.executable, "-m", "bench.phases", str(MMC), f"horizon={cfg['mmc_h']}"], cwd=ROOT,
                          capture_output=True, text=True)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1]}


def probe(*args: str) -> dict:
    """One ``bench.memory`` probe in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", "from bench.memory import main; main()", *args], cwd=ROOT,
                          capture_output=True, text=True)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1]}


def memory(cfg: dict, log: Callable[[str], None]) -> dict:
    """A worker's imports, and replications' peak and retained memory per ticket."""
    log("memory: a worker's imports ...")
    result: dict[str, Any] = {"worker_imports": probe("worker_imports"), "replications": []}
    for label, path, factor, sets in cfg["memory"]:
        log(f"memory: {label} ...")
        result["replications"].append({"label": label, **probe("replication", str(path), str(factor), *sets)})
    return result


def run_studies(quick: bool, workers: int | None = None, log: Callable[[str], None] = print,
                only: list[str] | None = None) -> dict:
    """Every study, the whole-process comparison and the memory probes; with ``only``, those studies alone
    (names of ``study_commands``, each as often as named), nothing else."""
    from sim.experiment.executors import default_workers

    cfg = QUICK if quick else FULL
    workers = workers or default_workers()
    commands = study_commands(cfg)
    unknown = sorted(set(only or ()) - set(commands))
    if unknown:
        raise SystemExit(f"--only: no study {', '.join(unknown)} (the studies: {', '.join(commands)})")
    results: dict[str, Any] = {"workers": workers, "studies": [], "notes": []}
    with tempfile.TemporaryDirectory(prefix="modsim-bench-") as tmp:
        folder = Path(tmp)
        for k, name in enumerate(only or commands):
            words = commands[name]
            if words is None:
                results["studies"].append({"name": name, "unavailable": True})
                continue
            log(f"{name}: modsim {' '.join(Path(w).name if '/' in w else w for w in words)} ...")
            results["studies"].append(measure_study(name, words, workers, folder / str(k)))
        if not only:
            results["whole_process"] = whole_process(cfg, folder, log)
    if not only:
        results["memory"] = memory(cfg, log)
    results["loadavg_end"] = os.getloadavg()
    return results


def _mib(x) -> str:
    return "-" if x is None else f"{x / 2**20:8.1f}"


def render_studies(results: dict) -> str:
    """The studies table, the whole-process comparison and the memory section."""
    header = (f"{'study':<10} {'wall s':>8} {'sim CPU s':>9} {'reps':>5} {'effic.':>6} {'fixed s':>7} {'fixed %':>7} "
              f"{'head s':>6} {'tail s':>6} {'load':>5}  command")
    lines = [f"studies on {results['workers']} workers (efficiency = sim CPU / (wall x workers); fixed = before the "
             "first replication + after the last)", header, "-" * len(header)]
    for s in results["studies"]:
        if s.get("unavailable"):
            lines.append(f"{s['name']}: not available")
            continue
        lines.append(f"{s['name']:<10} {s['wall_s']:>8.2f} {s['sim_cpu_s']:>9.2f} {s['replications']:>5} "
                     f"{s['efficiency']:>6.2f} {s['fixed_s']:>7.2f} {100 * s['fixed_share']:>6.1f}% {s['head_s']:>6.2f} "
                     f"{s['tail_s']:>6.2f} {s['load_before']:>5.2f}  {s['command']}")
        if "error" in s:
            lines.append(f"  exit {s['exit']}: {s['error']}")
    w = results.get("whole_process")
    if w:
        lines += ["", f"whole process, {w['customers']:,} customers (best of {w['rounds']}): idiomatic SimPy script "
                      f"{w['simpy_s']:.2f} s, modsim run mmc.yaml -n 1 {w['modsim_s']:.2f} s: {w['ratio']:.2f}x"]
        phases = w.get("phases") or {}
        if "error" not in phases:
            lines.append("  where modsim's time goes: " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()))
    m = results.get("memory")
    if m:
        wi = m["worker_imports"]
        lines += ["", "memory (RSS, fresh interpreter per probe):"]
        if "error" in wi:
            lines.append(f"  worker imports: {wi['error']}")
        else:
            lines.append(f"  a worker's imports ({', '.join(wi['modules'])}): {_mib(wi['rss'])} MiB "
                         f"(bare interpreter {_mib(wi['bare_rss']).strip()} MiB); table/chart/study libraries loaded: "
                         f"{', '.join(wi['heavy_loaded']) or 'none'}")
        for r in m["replications"]:
            if "error" in r:
                lines.append(f"  {r['label']}: {r['error']}")
                continue
            lines.append(f"  {r['label']:<34} tickets {r['tickets']:>10,}  peak {_mib(r['peak_rss'])} MiB "
                         f"({r['peak_per_ticket']:6.0f} B/ticket)  retained at the end {_mib(r['retained_rss'])} MiB "
                         f"({r['retained_per_ticket']:6.0f} B/ticket; {r.get('retained_trimmed_per_ticket', 0):4.0f} "
                         f"once the allocator returns its free pages)  {r['seconds']:.1f} s")
    lines.append(f"load average at the end: {' '.join(f'{x:.2f}' for x in results.get('loadavg_end', ()))}")
    return "\n".join(lines)
