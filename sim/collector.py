"""What a command has imported is held to its end: frozen, so that Python's cyclic collector stops scanning it.

A command's own process imports pandas, pyarrow, matplotlib, Optuna or pyabc: 100,000 to 400,000 objects the
collector tracks, which live until the process ends. Every full collection after that scans them all again,
about 0.1 s each: six of them in the bench's calibration (0.64 s of the parent's CPU), five in its tune (0.43 s),
one in the report of ``modsim run -n 1`` (0.09 s, on its critical path), measured. Frozen (``gc.freeze``) they
are left out; reference counting still frees whatever is not in a cycle, as ever.

A command holds its imports once the heavy ones are in (``hold``), and every command releases them when it ends
(``release``, from ``sim.cli.common.user_errors``), so that a caller in the same process (a test, a notebook)
gets its collector back whole. A freeze the caller made itself is left alone: nothing is held then.
"""

from __future__ import annotations

import gc

_held = False  # whether the objects frozen now were frozen by hold()


def hold() -> None:
    """Freeze every object the collector tracks now (again: what was imported since is added)."""
    global _held
    if _held or gc.get_freeze_count() == 0:
        gc.freeze()
        _held = True


def release() -> None:
    """Unfreeze what ``hold`` froze (nothing when it froze nothing)."""
    global _held
    if _held:
        gc.unfreeze()
        _held = False
