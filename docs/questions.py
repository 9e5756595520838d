"""Writes docs/questions.md: the four questions modsim's users ask, answered by its own commands.

    python docs/questions.py            # full size (several minutes on 2 cores); rewrites docs/questions.md
    python docs/questions.py --quick    # short horizons and 2 replications, into a temporary folder

Each question is a few `modsim` command lines; the script runs them as a user would (the console
script, from the repository's root), keeps their printed tables, copies the chart that answers the
question into docs/questions/, and states the answer in one sentence computed from the results
folder (so the page cannot say what the numbers do not). The test suite runs it with --quick.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@dataclass
class Step:
    """One command of a question: its words ({n} for replications), its results folder and the chart it shows."""

    words: str
    out: str
    chart: str | None = None
    quick: str = ""  # options added by --quick (a short horizon that the scenario accepts)


@dataclass
class Question:
    """A user's question, the commands that answer it, and how to say the answer from their folders."""

    title: str
    who: str
    steps: list[Step]
    answer: Callable[[dict[str, Path]], str]
    reading: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


def _fmt(value: float) -> str:
    if value != value:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _interval(row) -> str:
    return f"{_fmt(row['mean'])} [{_fmt(row['ci_low'])} .. {_fmt(row['ci_high'])}]"


def _reviewers(count: float) -> str:
    return f"{count:g} reviewer{'' if count == 1 else 's'}"


def _reviewers_answer(folders: dict[str, Path]) -> str:
    table = pd.read_parquet(folders["sweep"] / "sweep.parquet")
    path = "review.pools.khmer.reviewers"
    share = table[table.outcome == "decided_within_24h_violence_incitement"].sort_values(path)
    enough = share[share.ci_low >= 0.9]
    if enough.empty:
        best = share.iloc[-1]
        return (f"None of the staffings tried decides 90% of incitement tickets within 24 hours with confidence: "
                f"at {best[path]:g} Khmer reviewers the share is {_interval(best)}.")
    first = enough.iloc[0]
    below = share[share[path] < first[path]]
    if below.empty:
        return (f"Even the fewest tried, {first[path]:g} Khmer-language reviewers on duty around the clock, decide "
                f"90% or more of incitement tickets within 24 hours with 95% confidence: {_interval(first)}; try "
                f"fewer to find the limit.")
    return (f"{first[path]:g} Khmer-language reviewers on duty around the clock are the fewest tried whose share of "
            f"incitement tickets decided within 24 hours is 90% or more with 95% confidence: {_interval(first)} "
            f"({_reviewers(below.iloc[-1][path])}: {_interval(below.iloc[-1])}).")


def _comparison_row(folder: Path, outcome: str, scenario: str) -> pd.Series:
    table = pd.read_csv(folder / "comparison.csv")
    return table[(table.outcome == outcome) & (table.scenario == scenario)].iloc[0]


def _newsworthiness_answer(folders: dict[str, Path]) -> str:
    folder = folders["compare"]
    cf = "no_newsworthiness_for_leader_incitement"
    base_up, cf_up = (_comparison_row(folder, "tracked_bat_speech_up_d", s) for s in ("cambodia_2023", cf))
    base_views, cf_views = (_comparison_row(folder, "tracked_bat_speech_views", s) for s in ("cambodia_2023", cf))
    return (f"Without the allowance for incitement by a head of government, the video would have stayed up "
            f"{_interval(cf_up)} days instead of {_interval(base_up)} (paired difference "
            f"{_fmt(cf_up.diff_mean)} [{_fmt(cf_up.diff_low)} .. {_fmt(cf_up.diff_high)}]), with {_interval(cf_views)} "
            f"views instead of {_interval(base_views)}.")


def _suspension_answer(folders: dict[str, Path]) -> str:
    folder = folders["compare"]
    cf = "follow_board_suspension"
    parts = []
    for outcome, what in (("deescalations", "de-escalations"), ("grievance_at_horizon", "grievance at the end of "
                                                                  "the year"), ("days_at_rung_bar_board",
                                                                                "days with the board barred")):
        base, other = (_comparison_row(folder, outcome, s) for s in ("cambodia_2023", cf))
        parts.append(f"{what} {_interval(other)} against {_interval(base)}")
    sweep = pd.read_parquet(folders["sweep"] / "sweep.parquet")
    blocks = sweep[sweep.outcome == "platform_blocked_days"].sort_values("government.ladder.4.threshold")
    moved = "; ".join(f"threshold {row['government.ladder.4.threshold']:g}: {_interval(row)} days"
                      for _, row in blocks.iterrows())
    return (f"Had the platform suspended him: {'; '.join(parts)}. Whether the government would have blocked the "
            f"platform hangs on the block's threshold, which the case never revealed (no block happened): days "
            f"blocked by threshold, {moved}.")


def _sensitivity_answer(folders: dict[str, Path]) -> str:
    table = pd.read_csv(folders["morris"] / "sensitivity.csv")
    mu = table[(table.outcome == "incitement_views") & (table["index"] == "mu_star")].sort_values("value",
                                                                                                   ascending=False)
    ranked = ", then ".join(f"{row.parameter} (mu_star {_fmt(row.value)} [{_fmt(row.ci_low)} .. {_fmt(row.ci_high)}])"
                            for _, row in mu.iterrows())
    return f"Ranked by their effect on views of incitement: {ranked}."


QUESTIONS = [
    Question(
        "1. How many Khmer-language reviewers are needed so that 90% of incitement reports are decided within 24 hours?",
        "A trust-and-safety analyst",
        [Step("modsim sweep scenarios/baseline.yaml --vary review.pools.khmer.reviewers=1:8:1 -n {n} "
              "--outcomes decided_within_24h_violence_incitement,decided_within_24h_pool_khmer,"
              "queue_wait_p90_h_pool_khmer", "sweep", "sweep_decided_within_24h_violence_incitement",
              "--set horizon=10d")],
        _reviewers_answer,
        "Setting `reviewers` on the Khmer pool staffs it around the clock (it replaces the baseline's shifts). "
        "Waits are censored, not dropped: a ticket still waiting at the end counts as not decided, so fewer "
        "reviewers never look faster."),
    Question(
        "2. Had the newsworthiness allowance not applied to incitement by heads of government, how long would the "
        "2023 video have stayed up, and how many views would it have had?",
        "Board staff or a digital-rights group",
        [Step("modsim compare scenarios/cambodia_2023.yaml "
              "scenarios/counterfactuals/no_newsworthiness_for_leader_incitement.yaml -n {n} --outcomes "
              "tracked_bat_speech_up_d,tracked_bat_speech_removed,tracked_bat_speech_views,newsworthy_keeps",
              "compare", "tracked_bat_speech", "--set horizon=60d")],
        _newsworthiness_answer,
        "The counterfactual keeps the allowance for his other posts and for opposition politicians "
        "(`review.newsworthiness.exceptions`). Both scenarios see the same posts and reports (common random numbers), "
        "so the paired difference is the effect of the policy alone."),
    Question(
        "3. If the platform had followed the board's 6-month suspension, what would the government likely have done?",
        "Board staff or a digital-rights group",
        [Step("modsim compare scenarios/cambodia_2023.yaml scenarios/counterfactuals/follow_board_suspension.yaml "
              "-n {n} --outcomes retaliation_events,deescalations,grievance_peak,grievance_at_horizon,"
              "days_at_rung_bar_board,platform_blocks,platform_blocked_days", "compare", "government",
              "--set horizon=200d"),
         Step("modsim sweep scenarios/counterfactuals/follow_board_suspension.yaml "
              "--vary government.ladder.4.threshold=4,6,8,10 -n {n} "
              "--outcomes platform_blocks,platform_blocked_days,users_lost", "sweep",
              "sweep_platform_blocked_days", "--set horizon=200d")],
        _suspension_answer,
        "The ladder's thresholds are assumptions (the case shows threats, expulsions and a ban, never a block), so the "
        "second command shows how the answer moves across their plausible range instead of one confident number."),
    Question(
        "4. Across many scenario draws, which policy parameters matter most for exposure to incitement?",
        "A researcher",
        [Step("modsim sensitivity scenarios/baseline.yaml --param detection.classifier.recall=0.3..0.9 "
              "--param review.pools.khmer.reviewers=8..24 --param review.cross_check.reviewers=1..6 "
              "--method morris --samples {samples} -n {n} --outcomes incitement_views,violating_views",
              "morris", "sensitivity", "--set horizon=10d")],
        _sensitivity_answer,
        "Morris screening: mu_star is the mean absolute change of the outcome when one parameter moves across its "
        "range, in the outcome's unit; its interval comes from the replications and the design."),
]


def run_question(question: Question, work: Path, quick: bool, charts: Path) -> dict[str, Path]:
    """Run a question's commands; keep their printed tables and copy their charts into ``charts``."""
    folders = {}
    for number, step in enumerate(question.steps):
        words = step.words.format(n=2 if quick else 10, samples=2 if quick else 6)
        if quick:
            words += " " + step.quick
        out = work / f"{step.out}-{number}"
        line = f"{words} --out {out}"
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        done = subprocess.run(["bash", "-c", line], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PATH": path})
        if done.returncode != 0:
            raise SystemExit(f"{line}\nfailed ({done.returncode}):\n{done.stderr}")
        question.outputs[words] = done.stdout.replace(str(out), f"results/{step.out}").rstrip()
        folders[step.out] = out
        if step.chart and (out / "charts" / f"{step.chart}.png").is_file():
            slug = question.title.split(".")[0]
            shutil.copy(out / "charts" / f"{step.chart}.png", charts / f"q{slug}-{step.chart}.png")
    return folders


def write_page(target: Path, quick: bool) -> Path:
    """Run every question and write the walkthrough (``target``/questions.md and its charts)."""
    charts = target / "questions"
    charts.mkdir(parents=True, exist_ok=True)
    lines = ["# Four questions, answered", "",
             "Generated by `python docs/questions.py` from the bundled scenarios"
             + (" (quick size: short horizons, 2 replications)" if quick else "")
             + "; every number below comes from the commands shown, run as they are written. Means are over "
             "replications, with 95% intervals; differences are paired on common random numbers.", ""]
    with tempfile.TemporaryDirectory() as scratch:
        for question in QUESTIONS:
            folders = run_question(question, Path(scratch) / question.title.split(".")[0], quick, charts)
            lines += [f"## {question.title}", "", f"*{question.who}.*", ""]
            for words, printed in question.outputs.items():
                lines += ["```bash", words, "```", "", "```text", printed, "```", ""]
            lines += [f"**Answer.** {question.answer(folders)}", ""]
            if question.reading:
                lines += [question.reading, ""]
            slug = question.title.split(".")[0]
            for png in sorted(charts.glob(f"q{slug}-*.png")):
                lines += [f"![{png.stem}](questions/{png.name})", ""]
    page = target / "questions.md"
    page.write_text("\n".join(lines))
    return page


def main(argv: list[str] | None = None) -> int:
    """Command line: write docs/questions.md (or, with --quick, a quick version into --out)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short horizons and 2 replications")
    parser.add_argument("--out", type=Path, default=None, help="folder for questions.md (default docs/, or a "
                                                                "temporary folder with --quick)")
    args = parser.parse_args(argv)
    target = args.out or (Path(tempfile.mkdtemp()) if args.quick else DOCS)
    print(write_page(target, args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
