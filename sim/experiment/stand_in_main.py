"""Worker processes never run the user's script a second time.

To start a worker, multiprocessing's fork server (and spawn) first run the parent's main script
again, as ``__mp_main__``, so that functions defined in it can be unpickled in the worker. A plain
script that calls ``sim.run`` at its top level, without ``if __name__ == "__main__":``, would then
start a pool inside every worker while it is still starting, and every replication would die with
multiprocessing's "bootstrapping phase" error.

modsim sends its workers only its own functions and plain data (scenario dicts, seeds), so they
need nothing from the script. The parent therefore names its main script in the environment
(``describe_main``) before the fork server starts, and the fork server preloads this module, which
puts a stand-in module by that name in ``sys.modules``: multiprocessing finds the main module
"already loaded" and every forked worker skips the script. Work that needs a function of the
script itself (a custom function sent to a pool) must define it in an importable module instead.
"""

from __future__ import annotations

import os
import sys
import types
from importlib.machinery import ModuleSpec

MAIN_PATH = "MODSIM_MAIN_PATH"
MAIN_NAME = "MODSIM_MAIN_NAME"


def describe_main() -> None:
    """Name this process's main script (or module) in the environment the fork server inherits."""
    from multiprocessing import spawn

    data = spawn.get_preparation_data("modsim")
    for variable, key in ((MAIN_PATH, "init_main_from_path"), (MAIN_NAME, "init_main_from_name")):
        if key in data:
            os.environ[variable] = data[key]
        else:
            os.environ.pop(variable, None)


def _install_stand_in() -> None:
    path, name = os.environ.get(MAIN_PATH), os.environ.get(MAIN_NAME)
    if not path and not name:
        return
    stand_in = types.ModuleType("__mp_main__", "stand-in for the parent's main script (not run in workers)")
    if path:
        stand_in.__file__ = path
    stand_in.__spec__ = ModuleSpec(name, None) if name else None
    sys.modules["__main__"] = sys.modules["__mp_main__"] = stand_in


_install_stand_in()
