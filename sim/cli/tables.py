"""The terminal tables every command prints: names never cut, tracked posts grouped, short dotted paths.

A table fits the terminal, or 100 columns when the output is not one (``sim.cli.common.console``). Outcome names wrap instead of being
cut to ``revie…``; the interval sits on its own line under each mean, so a column is only as wide
as its longest number; outcomes of a tracked post (``tracked_bat_speech_up_d``) come together under
a row naming the post; dotted parameter paths (``review.pools.khmer.reviewers``) are shown by their
shortest distinct tail (``khmer.reviewers``), with the full path in a legend under the table.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from sim.formatting import format_number


def new_table(title: str, first: str = "outcome"):
    """A rich Table with the given title and a first column whose names wrap, never cut."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column(first, overflow="fold", no_wrap=False, min_width=12, max_width=40)
    return table


def add_number_column(table, header: str) -> None:
    """A right-aligned column whose header wraps, never cut."""
    table.add_column(header, justify="right", overflow="fold")


def estimate(mean, low, high) -> str:
    """A mean with its interval on the line below, or '-' when it is not defined."""
    if mean is None or mean != mean:
        return "-"
    return f"{format_number(mean)}\n({format_number(low)} .. {format_number(high)})"


def grouped(outcomes: Sequence[str]) -> list[tuple[str, str | None]]:
    """Rows in order as (label, outcome): each tracked post's outcomes under a heading row (outcome None)."""
    rows: list[tuple[str, str | None]] = []
    posts: dict[str, list[str]] = {}
    for name in outcomes:
        post = _tracked_post(name)
        if post is None:
            rows.append((name, name))
        else:
            posts.setdefault(post, []).append(name)
    for post, names in posts.items():
        rows.append((f"tracked post {post}:", None))
        rows += [("  " + name[len(f"tracked_{post}_"):], name) for name in names]
    return rows


def _tracked_post(name: str) -> str | None:
    if not name.startswith("tracked_"):
        return None
    for suffix in ("_up_d", "_removed", "_views"):
        if name.endswith(suffix):
            return name[len("tracked_"):-len(suffix)]
    return None


def short_paths(paths: Iterable[str]) -> dict[str, str]:
    """The shortest distinct dotted tail of each path: ``review.pools.khmer.reviewers`` -> ``khmer.reviewers``."""
    paths = list(dict.fromkeys(paths))
    short = {}
    for path in paths:
        parts = path.split(".")
        for k in range(min(2, len(parts)), len(parts) + 1):
            tail = ".".join(parts[-k:])
            if sum(1 for other in paths if other == tail or other.endswith("." + tail)) == 1:
                short[path] = tail
                break
        else:
            short[path] = path
    return short


def legend(short: dict[str, str]) -> str | None:
    """The line under a table that spells out every shortened path, or None when none was shortened."""
    shortened = [f"{tail} = {path}" for path, tail in short.items() if tail != path]
    return "; ".join(shortened) if shortened else None


def show(table, note: str | None = None) -> None:
    """Print a table (and the note under it) on standard output at the tables' width."""
    from sim.cli.common import console

    console.print(table)
    if note:
        console.print(note, markup=False, highlight=False)
