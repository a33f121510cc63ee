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
``bigplan.synthetic``, ``bigplan.io``, ``bigplan.dynamic`` and
``bigplan.inventory`` (imported on first use).
"""

from __future__ import annotations

import importlib

from .backend import available_backends, cuda_available, get_backend
from .economy import Economy, Productivity
from .errors import (
    BackendError,
    BackendUnavailableError,
    BEAFormatError,
    BigplanError,
    ConvergenceError,
    CorruptStoreError,
    InfeasiblePlanError,
    InsufficientMemoryError,
    InvalidDemandError,
    InvalidEconomyError,
    InvalidPlanError,
    LabelError,
    MixedBackendError,
    NegativePlanError,
    InvalidOptionError,
    InvalidPlanOptionError,
    NegativeStockError,
    NoCapitalError,
    NotProductiveError,
    ShapeError,
    StoreBusyError,
    StoreError,
    StoreVersionError,
    UnknownProductError,
    UnsustainableGrowthError,
)
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
    "BigplanError",
    "InvalidEconomyError",
    "NotProductiveError",
    "ShapeError",
    "LabelError",
    "InvalidDemandError",
    "ConvergenceError",
    "BackendError",
    "BackendUnavailableError",
    "MixedBackendError",
    "InsufficientMemoryError",
    "InfeasiblePlanError",
    "StoreError",
    "CorruptStoreError",
    "StoreVersionError",
    "UnknownProductError",
    "BEAFormatError",
    "NoCapitalError",
    "InvalidPlanError",
    "UnsustainableGrowthError",
    "NegativePlanError",
    "StoreBusyError",
    "NegativeStockError",
    "InvalidOptionError",
    "InvalidPlanOptionError",
    "synthetic",
    "io",
    "dynamic",
    "inventory",
    "spectral",
]

_SUBMODULES = {"synthetic", "io", "dynamic", "inventory", "cli", "spectral"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        mod = importlib.import_module(f".{name}", __name__)
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'bigplan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
