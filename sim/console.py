"""The `modsim` console script: a Ctrl-C while the command line is still being loaded ends quietly.

Loading the command line (Typer, rich, the command modules) takes a tenth of a second; an interrupt
then would otherwise print Python's own traceback. After loading, ``sim.cli.main`` handles every
interrupt and signal itself.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Load the command line and run it; exit 130 quietly if interrupted while loading."""
    try:
        from sim.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    run()
