"""Suggestions for misspelt keys and names."""

from __future__ import annotations

import difflib
from typing import Iterable


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """``did you mean 'reviewers'?`` for the candidate closest to a misspelt word, or None."""
    options = [c for c in candidates if isinstance(c, str)]
    folded = {c.lower().replace("-", "_"): c for c in options}
    same = folded.get(str(word).lower().replace("-", "_"))
    if same is not None and same != word:
        return f"did you mean {same!r}?"
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=cutoff)
    if not close:
        close = [folded[m] for m in difflib.get_close_matches(str(word).lower(), list(folded), n=1, cutoff=cutoff)]
    return f"did you mean {close[0]!r}?" if close else None
