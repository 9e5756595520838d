"""The special functions of scipy that modsim calls (``ndtri``, ``betaincinv``, ``stdtrit``), without
``scipy.special``'s package import.

``import scipy.special`` loads scipy's array-API layer (array_api_compat, numpy.testing): about 17 MiB of a
worker's 23 MiB for scipy, against 6 MiB for the compiled ufuncs themselves. Where ``scipy.special`` is not
loaded yet, its ``_ufuncs`` extension is imported under a bare stand-in package that is removed at once, so
that a later ``import scipy.special`` (scipy.stats in the parent) runs the real package, which finds the same
extension already loaded: the functions are the very same ufunc objects either way, so are the numbers.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types


def _ufuncs() -> types.ModuleType:
    if "scipy.special" in sys.modules:
        import scipy.special

        return scipy.special
    origin = importlib.util.find_spec("scipy").origin
    stand_in = types.ModuleType("scipy.special")
    stand_in.__path__ = [os.path.join(os.path.dirname(origin), "special")]
    sys.modules["scipy.special"] = stand_in
    try:
        from scipy.special import _ufuncs
    finally:
        if sys.modules.get("scipy.special") is stand_in:
            del sys.modules["scipy.special"]
    return _ufuncs


_module = _ufuncs()
ndtri = _module.ndtri
betaincinv = _module.betaincinv
stdtrit = _module.stdtrit  # Student t quantile (df, p): what scipy.stats.t.ppf computes, without scipy.stats' import
