"""bigplan: the computing of a plan factory.

Given technical coefficients and many alternative targets, bigplan works out,
exactly and fast, what each proposal implies for every product: gross outputs
(the intermediate targets), the labour each plan needs, and labour values, on
NumPy/SciPy, CuPy or JAX, for economies of ten to millions of products.  It lays
out the implications of each proposal; it never decides.

Public API
----------
Economy, solve_output, labour_values, choose_method, the method objects
(BiCGSTAB, Neumann, Direct, Auto), the typed errors, and the submodules
``bigplan.synthetic``, ``bigplan.io``, ``bigplan.dynamic``,
``bigplan.inventory``, ``bigplan.activity``, ``bigplan.distributed`` and
``bigplan.plot`` (imported on first use), and ``bigplan.load`` (a one-file economy).
"""

from __future__ import annotations

import importlib

from .backend import available_backends, cuda_available, get_backend
from .economy import Economy, Productivity
from . import errors
from .errors import *  # noqa: F401,F403  every typed error at the top level
from ._evidence import Evidence, Status
from .solvers import Auto, BiCGSTAB, Direct, Neumann, Refined
from .static import (
    OutputSolution,
    ValuesSolution,
    choose_method,
    labour_values,
    solve_output,
)

__version__ = "0.1.0"

__all__ = [
    "Economy",
    "Productivity",
    "solve_output",
    "labour_values",
    "choose_method",
    "OutputSolution",
    "ValuesSolution",
    "Evidence",
    "Status",
    "BiCGSTAB",
    "Neumann",
    "Direct",
    "Auto",
    "Refined",
    "get_backend",
    "available_backends",
    "cuda_available",
    "synthetic",
    "io",
    "dynamic",
    "inventory",
    "spectral",
    "activity",
    "distributed",
    "plot",
    "load",
] + list(errors.__all__)

_SUBMODULES = {"synthetic", "io", "dynamic", "inventory", "cli", "spectral", "activity", "distributed", "plot", "store"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        mod = importlib.import_module(f".{name}", __name__)
        globals()[name] = mod
        return mod
    if name == "load":  # the one-file economy reader lives in bigplan.io
        return importlib.import_module(".io", __name__).load
    raise AttributeError(f"module 'bigplan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES | {"load"})
