"""The errors modsim shows to its users: one line each, saying where and what went wrong.

Anything derived from ``ModsimError`` is a mistake in the user's input or environment, not a bug:
the command line prints ``str(err)`` on one line and exits with status 2, never a traceback.
"""

from __future__ import annotations

import re


class ModsimError(Exception):
    """Base of every user-facing error; ``str()`` is the whole message, on one line."""


class ScenarioError(ModsimError):
    """A mistake in a scenario file or a ``--set`` expression, with its position.

    ``str()`` renders ``FILE:LINE:COL: KEY: MESSAGE``; absent parts are left out
    (``FILE: MESSAGE``, ``FILE:LINE: KEY: MESSAGE``, ``--set: column 4: MESSAGE``).
    Line and column are 1-based; ``key`` is dotted, with list indices as numbers.
    """

    def __init__(
        self,
        file: str,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
        message: str = "",
    ) -> None:
        message = _one_line(message)
        super().__init__(file, line, column, key, message)
        self.file = str(file)
        self.line = line
        self.column = column
        self.key = key
        self.message = message

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        elif self.column is not None:
            where += f": column {self.column}"
        parts = [where]
        if self.key:
            parts.append(self.key)
        parts.append(self.message)
        return ": ".join(parts)

    def __repr__(self) -> str:
        return (
            f"ScenarioError(file={self.file!r}, line={self.line!r}, column={self.column!r}, "
            f"key={self.key!r}, message={self.message!r})"
        )


class OutputError(ModsimError):
    """The results folder cannot be used as asked."""


def os_reason(exc: BaseException) -> str:
    """The operating system's reason for a failure, in words (``No space left on device``)."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _one_line(text: str) -> str:
    """The text on one line: every line break (and the indentation after it) turned into one space, and every other
    character that does not print shown as its Python escape (a key typed with a control character in it, such as
    '\\x1e', which terminals and ``str.splitlines`` would take for a line break)."""
    joined = re.sub(r"\s*[\r\n]+\s*", " ", str(text)).strip()
    if joined.isprintable():
        return joined
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in joined)
