"""Choosing a backend.

One module owns the choice of array library (explicit name, the arrays' own
library, else a CUDA device, else NumPy) and imports CuPy and JAX lazily:
recognising a CuPy or JAX array (:func:`array_library`, from
:mod:`bigplan._arrays`) looks at its class, so merely checking never imports
either library, and the backend implementations (:mod:`bigplan.cpu`,
:mod:`bigplan.gpu`) are imported only when one is first asked for.

The interface they implement, :class:`Backend`, lives in
:mod:`bigplan._backend_api` and is re-exported here.  Selection sits above the
implementations: they import the interface, never this module.

Examples
--------
>>> from bigplan.backend import get_backend
>>> get_backend("numpy").name
'numpy'
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from typing import Any

from ._arrays import array_library, infer_library
from ._backend_api import Backend
from .errors import BackendError, BackendUnavailableError, MixedBackendError

__all__ = [
    "Backend",
    "BACKENDS",
    "array_library",
    "infer_library",
    "get_backend",
    "available_backends",
    "cuda_available",
]

#: Names accepted by ``backend=``.
BACKENDS = ("auto", "numpy", "cupy", "jax")


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@lru_cache(maxsize=None)
def _cupy_has_device() -> bool:
    if not _installed("cupy"):
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, no device, broken install: all mean "no"
        return False


@lru_cache(maxsize=None)
def _jax_has_gpu() -> bool:
    if not _installed("jax"):
        return False
    # only pay for importing JAX when a CUDA plugin is installed
    if not any(_installed(p) for p in ("jax_cuda13_plugin", "jax_cuda12_plugin", "jax_plugins")):
        return False
    try:
        import jax

        return len(jax.devices("gpu")) > 0
    except Exception:
        return False


def cuda_available() -> bool:
    """True when CuPy or JAX can see a CUDA device."""
    return _cupy_has_device() or _jax_has_gpu()


def available_backends() -> list[str]:
    """Backends usable on this machine (JAX counts when installed, CPU or GPU)."""
    out = ["numpy"]
    if _cupy_has_device():
        out.append("cupy")
    if _installed("jax"):
        out.append("jax")
    return out


@lru_cache(maxsize=None)
def _make_backend(name: str) -> Backend:
    if name == "numpy":
        from .cpu import NumpyBackend

        return NumpyBackend()
    if name == "cupy":
        if not _installed("cupy"):
            raise BackendUnavailableError(
                "backend='cupy' needs CuPy: install it with pip install 'bigplan[cuda13]' "
                "(or 'bigplan[cuda12]' for CUDA 12), or pick backend='numpy' or 'jax'"
            )
        if not _cupy_has_device():
            raise BackendUnavailableError(
                "backend='cupy' needs a CUDA device and none is visible to CuPy; "
                "pick backend='numpy' (or 'jax' for JAX on the CPU), or run on a GPU node"
            )
        from .gpu import CupyBackend

        return CupyBackend()
    if name == "jax":
        if not _installed("jax"):
            raise BackendUnavailableError(
                "backend='jax' needs JAX: install it with pip install 'bigplan[jax]' "
                "(add jax[cuda13] for GPUs), or pick backend='numpy'"
            )
        from .gpu import JaxBackend

        return JaxBackend()
    raise BackendError(f"unknown backend {name!r}; choose one of {BACKENDS}")


def get_backend(name: str | Backend = "auto", *arrays: Any) -> Backend:
    """Resolve a backend.

    Parameters
    ----------
    name : {"auto", "numpy", "cupy", "jax"} or Backend
        ``"auto"`` uses the arrays' own library, else a CUDA device if one is
        present (CuPy first, then JAX), else NumPy.  A :class:`Backend` instance
        is used as it is.
    *arrays
        The call's array inputs, inspected (never converted) for ``"auto"``.

    Raises
    ------
    BackendError
        Unknown name.
    BackendUnavailableError
        The library is not installed or has no CUDA device; the message names
        the extra to install or the backend to pick instead.
    MixedBackendError
        Inputs mix arrays of two GPU libraries.
    """
    if isinstance(name, Backend):
        return name
    if not isinstance(name, str) or name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {BACKENDS}")
    lib = infer_library(*arrays)
    if name != "auto":
        if lib not in (None, "numpy", name):
            raise MixedBackendError(
                f"backend={name!r} was asked for but the inputs are {lib} arrays; "
                f"pass backend='auto' or {lib!r}, or convert the inputs"
            )
        return _make_backend(name)
    if lib in ("cupy", "jax"):
        return _make_backend(lib)
    if _cupy_has_device():
        return _make_backend("cupy")
    if _jax_has_gpu():
        return _make_backend("jax")
    return _make_backend("numpy")
