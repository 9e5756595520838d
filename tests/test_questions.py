"""docs/questions.md stays true: its generator runs (quick size) and the committed page matches its questions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))

import questions  # noqa: E402


def test_the_committed_walkthrough_asks_the_questions_of_its_generator():
    page = (ROOT / "docs" / "questions.md").read_text()
    titles = re.findall(r"^## (.+)$", page, re.MULTILINE)
    assert titles == [q.title for q in questions.QUESTIONS]
    assert page.count("**Answer.**") == len(questions.QUESTIONS)
    for image in re.findall(r"\]\((questions/[^)]+)\)", page):
        assert (ROOT / "docs" / image).is_file(), image


@pytest.mark.slow
def test_the_walkthrough_runs_at_a_reduced_size(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "questions.py"), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    page = (tmp_path / "questions.md").read_text()
    assert page.count("**Answer.**") == 4 and "Traceback" not in page
    assert len(list((tmp_path / "questions").glob("*.png"))) >= 4
