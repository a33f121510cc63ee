"""The C kernels' ctypes signatures, in one table, and the checked loader.

:data:`SIGNATURES` names every function :mod:`bigplan.cpu` calls in
``bigplan/_kernels.c`` with its ``(restype, argtypes)``; :func:`load_kernels`
applies the table in one loop.  A build that lacks a function, or whose
:data:`ABI_VERSION` differs from the table's (a stale build after the kernels
changed), raises :class:`~bigplan.errors.BackendError` at load time instead
of calling a function with the wrong arguments, which would crash the process.

Change a kernel's name or arguments only together with its row here, and bump
``ABI_VERSION`` in both files.
"""

from __future__ import annotations

import ctypes
import importlib.util

from .errors import BackendError

__all__ = ["ABI_VERSION", "SIGNATURES", "kernels_path", "load_kernels"]

#: Must equal ``BIGPLAN_ABI_VERSION`` in ``bigplan/_kernels.c``.
ABI_VERSION = 2

_I64, _PTR, _INT = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int


def _void(n_ints: int, n_ptrs: int, *tail) -> tuple:
    """A ``void f(int64_t x n_ints, void * x n_ptrs, *tail)`` signature."""
    return None, (_I64,) * n_ints + (_PTR,) * n_ptrs + tail


_KINDS = ("d", "f", "ff")  # float64 / float32 coefficients into float64 blocks / float32 both
_IDX = ("i32", "i64")
_SFX = ("", "_s")  # float64 / float32 blocks

#: name -> (restype, argtypes) of every exported kernel; rows are over ``(r0, r1, k[, kk])``, then pointers.
SIGNATURES: dict[str, tuple] = {
    "bigplan_abi_version": (_I64, ()),
    # indptr, indices, data, X, Y, subtract
    **{f"bigplan_spmm_{kd}_{ix}": _void(3, 5, _INT) for kd in _KINDS for ix in _IDX},
    # indptr, indices, data, X, Y, p1, p2
    **{f"bigplan_spmm_dots_{kd}_{ix}": _void(3, 7) for kd in _KINDS for ix in _IDX},
    # indptr, indices, data, B, X, R, R32, prr
    **{f"bigplan_residual_{kd}_{ix}": _void(3, 8) for kd in ("d", "f") for ix in _IDX},
    "bigplan_add_widened": _void(3, 2),  # X, D
    # X, Xo, lim, peak, hits, over, worst, colmax; thr, athr
    "bigplan_moved_scan": _void(3, 8, ctypes.c_double, ctypes.c_double),
    **{
        f"bigplan_{name}{sfx}": sig
        for sfx in _SFX
        for name, sig in (
            ("colrange", _void(3, 3)),  # x, pmin, pmax
            ("p_update", _void(3, 5)),  # r, p, v, beta, omega
            ("xs_update", _void(3, 5)),  # x, p, s, alpha, omega
            ("axpy", _void(3, 4)),  # a, x, y, out
            ("coldot", _void(3, 3)),  # x, y, partial
            ("coldot2", _void(3, 4)),  # x, y, pxx, pxy
            ("axpy_dots", _void(3, 7)),  # a, x, y, out, z, poo, pzo
            ("step_end", _void(3, 10)),  # x, p, s, t, z, alpha, omega, r, prr, pzr
            ("take_columns", _void(4, 3)),  # X, idx, out
            ("put_columns", _void(4, 3)),  # X, idx, part
        )
    },
}

_FIX = (
    "reinstall bigplan with a C compiler available (pip install --force-reinstall --no-deps bigplan, "
    "or pip install -e . in a checkout), or set BIGPLAN_NO_KERNELS=1 to use SciPy's kernels"
)


def kernels_path() -> str | None:
    """Path of the compiled ``bigplan._kernels`` library, or None when bigplan was built without it."""
    try:
        spec = importlib.util.find_spec("bigplan._kernels")
    except (ImportError, ValueError):  # pragma: no cover - broken package metadata
        return None
    return spec.origin if spec is not None and spec.origin else None


def load_kernels(path: str | None = None, signatures: dict | None = None, abi_version: int = ABI_VERSION):
    """Load the compiled kernels and declare their signatures from :data:`SIGNATURES`.

    Parameters
    ----------
    path : str, optional
        The shared library (default: :func:`kernels_path`).
    signatures, abi_version
        The table and version to check against (default: this module's).

    Returns
    -------
    ctypes.CDLL or None
        The library, every function in the table declared; None when there is
        no compiled build at all (an install without a C compiler).

    Raises
    ------
    BackendError
        The library cannot be loaded, lacks a function of the table, or was
        built for another version of the table.  The message names the fix.
    """
    path = kernels_path() if path is None else path
    if path is None:
        return None
    table = SIGNATURES if signatures is None else signatures
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        raise BackendError(f"bigplan's compiled kernels at {path} cannot be loaded ({exc}); {_FIX}") from exc
    missing = [name for name in table if not hasattr(lib, name)]
    if missing:
        raise BackendError(
            f"bigplan's compiled kernels at {path} lack {', '.join(missing[:4])}"
            f"{f' and {len(missing) - 4} more' if len(missing) > 4 else ''}: a stale or foreign build; {_FIX}"
        )
    for name, (restype, argtypes) in table.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = list(argtypes)
    if "bigplan_abi_version" in table:
        built = int(lib.bigplan_abi_version())
        if built != abi_version:
            raise BackendError(
                f"bigplan's compiled kernels at {path} were built for kernel ABI {built}, this bigplan "
                f"calls ABI {abi_version}: a stale build; {_FIX}"
            )
    return lib
