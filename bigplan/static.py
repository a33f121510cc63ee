"""The static Leontief model: gross output for many plans, and labour values.

``solve_output`` answers "how much of every product must be made so that the
final-demand targets are met": ``(I - A) x = y`` for each plan ``y``.
``labour_values`` answers "how much labour does each product embody, directly
and through all its inputs": ``v (I - A) = l``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .backend import Backend, array_library, get_backend
from .economy import Economy
from .errors import InvalidDemandError, LabelError, ShapeError
from .solvers import Auto, raise_if_failed, solve_block

__all__ = ["solve_output", "labour_values", "choose_method", "OutputSolution", "ValuesSolution"]


def _summary(obj, what: str) -> str:
    res = np.atleast_1d(obj.residual)
    state = "converged" if obj.converged else "NOT converged"
    return (
        f"<{type(obj).__name__} {what}: {state}, method={obj.method}, backend={obj.backend}, "
        f"iterations={obj.iterations}, max relative residual={float(np.max(res)):.3g}, {obj.seconds:.3g} s>"
    )


@dataclass(frozen=True, eq=False, repr=False)
class OutputSolution:
    """Gross outputs for one or many plans, with the evidence of the solve.

    Attributes
    ----------
    output : array, shape (n,) or (n, k)
        Gross output of every product (the intermediate targets), same shape as
        the final demand.  NumPy unless the caller kept results on the device.
    labour : array, shape (m,) or (m, k), or None
        Labour each plan needs (one row per labour kind), when the economy has labour.
    converged : bool
        Every plan reached the tolerance (its true residual was checked).
    plan_converged : numpy.ndarray of bool, shape (k,)
    iterations : int
        Iterations of the slowest plan (``plan_iterations`` per plan).
    residual : numpy.ndarray, shape (k,) (a float for one plan)
        Achieved relative residual ``||y - (I - A) x|| / ||y||`` of each plan.
    backend, method, reason : str
        Where and how it was solved, and why ``auto`` chose that method.
    matvecs : int
        Sparse products done, counted per plan.
    seconds : float
        Wall time of the solve.
    clipped : int
        Entries in ``[-tolerance, 0)`` set to 0 for plans with ``y >= 0`` (the
        exact answer is non-negative there; a larger negative is never hidden and
        is reported in ``notes``).
    notes : list of str
    """

    output: Any
    labour: Any
    converged: bool
    plan_converged: np.ndarray
    iterations: int
    plan_iterations: np.ndarray
    residual: Any
    backend: str
    method: str
    reason: str
    matvecs: int
    seconds: float
    labels: pd.Index | None = None
    plans: pd.Index | None = None
    labour_names: tuple | None = None
    clipped: int = 0
    notes: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """Gross output as a DataFrame: products (labels) x plans."""
        out = np.asarray(self.output if array_library(self.output) == "numpy" else _host(self.output))
        out2 = out[:, None] if out.ndim == 1 else out
        return pd.DataFrame(out2, index=self.labels, columns=self.plans)

    def labour_frame(self) -> pd.DataFrame:
        """Labour needed as a DataFrame: labour kinds x plans."""
        if self.labour is None:
            raise ValueError("this economy has no labour coefficients")
        lab = np.asarray(_host(self.labour))
        lab2 = lab[:, None] if lab.ndim == 1 else lab
        return pd.DataFrame(lab2, index=list(self.labour_names), columns=self.plans)

    def __repr__(self) -> str:
        k = 1 if np.ndim(self.output) == 1 else np.shape(self.output)[1]
        return _summary(self, f"{np.shape(self.output)[0]} products x {k} plans")


@dataclass(frozen=True, eq=False, repr=False)
class ValuesSolution:
    """Labour values ``v`` solving ``v (I - A) = l``.

    Attributes
    ----------
    values : array, shape (n,) for one labour kind, else (m, n)
        Labour embodied per unit of each product, directly and through all inputs.
    converged, iterations, residual, backend, method, reason, matvecs, seconds
        As in :class:`OutputSolution`.
    """

    values: Any
    converged: bool
    iterations: int
    residual: Any
    backend: str
    method: str
    reason: str
    matvecs: int
    seconds: float
    labels: pd.Index | None = None
    labour_names: tuple | None = None
    notes: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """Labour values as a DataFrame: products x labour kinds."""
        v = np.asarray(_host(self.values))
        v2 = v[None, :] if v.ndim == 1 else v
        return pd.DataFrame(v2.T, index=self.labels, columns=list(self.labour_names))

    def __repr__(self) -> str:
        return _summary(self, f"{np.shape(self.values)[-1]} products")


def _host(x):
    lib = array_library(x)
    if lib == "cupy":
        return x.get()
    return np.asarray(x)


def choose_method(economy: Economy, k: int = 1, *, rtol: float = 1e-10, backend="numpy") -> tuple[str, str]:
    """Say which method ``method="auto"`` would use, and why.

    Parameters
    ----------
    economy : Economy
    k : int
        Plans solved at once.
    rtol : float
        The tolerance asked for.
    backend : str or Backend
        Where the solve would run (default ``"numpy"``).

    Returns
    -------
    name, reason : str
    """
    meth, reason = Auto().choose(economy, k, rtol=rtol, backend=get_backend(backend))
    return meth.name, reason


def _demand_block(economy: Economy, final_demand: Any):
    """Validate final demand; return (block (n, k), was_1d, plan names, library, nonneg flags)."""
    n = economy.n
    plans = None
    if isinstance(final_demand, (pd.Series, pd.DataFrame)):
        fd = final_demand
        if economy.labels is not None:
            idx = fd.index
            if not idx.is_unique:
                raise LabelError("final demand has duplicated product labels")
            missing = economy.labels.difference(idx)
            extra = idx.difference(economy.labels)
            if len(extra):
                raise LabelError(
                    f"final demand names {len(extra)} products the economy does not have, e.g. {list(extra[:5])}"
                )
            if len(missing):
                raise LabelError(
                    f"final demand lacks {len(missing)} of the economy's products, e.g. {list(missing[:5])}; "
                    "give 0 for products with no final demand"
                )
            fd = fd.reindex(economy.labels)
        if isinstance(fd, pd.Series):
            plans = pd.Index([fd.name if fd.name is not None else 0])
        else:
            plans = fd.columns
        arr = fd.to_numpy(dtype=np.float64)
        lib = "numpy"
    else:
        lib = array_library(final_demand) or "numpy"
        arr = final_demand if lib in ("cupy", "jax") else np.asarray(final_demand)
        if lib == "numpy" and (arr.dtype == object or not np.issubdtype(arr.dtype, np.number)):
            raise InvalidDemandError(f"final demand must be numeric, got dtype {arr.dtype}")
    shape = tuple(arr.shape)
    if len(shape) not in (1, 2) or shape[0] != n:
        raise ShapeError(
            f"final demand must have shape ({n},) or ({n}, k) for k plans, got {shape}; "
            "one row per product, one column per plan"
        )
    if len(shape) == 2 and shape[1] == 0:
        raise ShapeError("final demand has no plans (0 columns)")
    was_1d = len(shape) == 1
    xp = _xp(lib)
    block = arr[:, None] if was_1d else arr
    # column minima and maxima, no temporaries: NaN reaches both, +inf the maximum, -inf the minimum
    if lib == "numpy":
        colmin, colmax = get_backend("numpy").colrange(block)
    else:
        colmin = np.asarray(_host(xp.min(block, axis=0)), dtype=np.float64)
        colmax = np.asarray(_host(xp.max(block, axis=0)), dtype=np.float64)
    if not (np.isfinite(colmin).all() and np.isfinite(colmax).all()):
        raise InvalidDemandError(
            "final demand has NaN or infinite entries; every target must be a finite number (use 0 for none)"
        )
    nonneg = colmin >= 0
    return block, was_1d, plans, lib, nonneg


def _xp(lib: str):
    if lib == "cupy":
        import cupy

        return cupy
    if lib == "jax":
        import jax.numpy as jnp

        return jnp
    return np


def _clip_tiny_negatives(bk: Backend, X, nonneg: np.ndarray, residual: np.ndarray, notes: list):
    """Set to 0 the negatives an iterative answer carries at the tolerance (plans with y >= 0)."""
    if not nonneg.any():
        return X, 0
    xp = bk.xp
    colmin, _ = bk.colrange(X)
    if not (nonneg & (colmin < 0)).any():  # the usual case: one pass, nothing to do
        return X, 0
    colmax = xp.max(xp.abs(X), axis=0)
    # a negative within (residual-sized) rounding of a non-negative exact answer
    thresh = xp.asarray(np.maximum(residual, 1e-15) * 10, dtype=X.dtype) * colmax
    thresh = xp.where(xp.asarray(nonneg), thresh, xp.zeros_like(thresh))
    neg = X < 0
    tiny = neg & (X >= -thresh[None, :])
    big = neg & ~tiny & xp.asarray(nonneg)[None, :]
    nclip = int(tiny.sum())
    nbig = int(big.sum())
    if nbig:
        notes.append(
            f"{nbig} outputs are negative beyond the tolerance for plans with non-negative demand; "
            "they are reported as computed (check the coefficients' units)"
        )
    if nclip:
        X = xp.where(tiny, xp.zeros_like(X), X)
    return X, nclip


def solve_output(
    economy: Economy,
    final_demand: Any,
    *,
    backend: str | Backend = "auto",
    method: Any = "auto",
    rtol: float = 1e-10,
    atol: float = 0.0,
    x0: Any = None,
    dtype: Any = None,
    keep_on_device: bool | None = None,
    raise_on_failure: bool = True,
) -> OutputSolution:
    """Gross output ``x`` solving ``(I - A) x = y`` for one plan or a batch of plans.

    Parameters
    ----------
    economy : Economy
    final_demand : array_like, shape (n,) or (n, k); pandas Series or DataFrame
        Final-demand targets: one column per alternative plan.  pandas objects are
        aligned to the economy's labels (every product present, no others), and
        a DataFrame's columns name the plans.  NumPy, CuPy or JAX arrays.
    backend : {"auto", "numpy", "cupy", "jax"} or Backend
        ``"auto"``: the arrays' own library, else a CUDA device, else NumPy.
    method : {"auto", "bicgstab", "neumann", "direct", "refined"} or a method object
        ``"auto"`` picks by size and spectral radius; the result's ``reason`` says why.
    rtol, atol : float
        Each plan stops when ``||y - (I - A) x|| <= max(rtol ||y||, atol)``.
    x0 : array_like, shape like ``final_demand``, optional
        Warm start, e.g. the previous answer after a small change of coefficients.
    dtype : numpy dtype, optional
        Working precision of the plans (default float64, whatever the storage precision:
        float32-stored coefficients are read as stored and accumulated in float64).
    keep_on_device : bool, optional
        Return device arrays (CuPy/JAX) instead of NumPy.  Default: keep them on
        the device exactly when the final demand came as device arrays.
    raise_on_failure : bool, default True
        Raise :class:`ConvergenceError` when a plan misses the tolerance; when
        False, return the result with ``converged=False``.

    Returns
    -------
    OutputSolution

    Raises
    ------
    ShapeError, InvalidDemandError, LabelError
        Final demand of the wrong shape, non-finite, or with the wrong labels.
    MixedBackendError, BackendUnavailableError
    ConvergenceError
        A plan did not reach the tolerance (with ``raise_on_failure``).

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0])
    >>> sol = bigplan.solve_output(e, np.array([[10.0, 11.0], [5.0, 5.0]]))
    >>> sol.output.shape, bool(sol.converged)
    ((2, 2), True)
    """
    if not isinstance(economy, Economy):
        raise TypeError(f"economy must be a bigplan.Economy, got {type(economy).__name__}; build one with Economy(A)")
    block, was_1d, plans, lib, nonneg = _demand_block(economy, final_demand)
    bk = get_backend(backend, block, x0)
    x0b = None
    if x0 is not None:
        x0a = x0.to_numpy(dtype=np.float64) if isinstance(x0, (pd.Series, pd.DataFrame)) else x0
        if tuple(np.shape(x0a)) != tuple(np.shape(final_demand)):
            raise ShapeError(f"x0 has shape {np.shape(x0a)}; it must match final demand {np.shape(final_demand)}")
        x0b = x0a[:, None] if np.ndim(x0a) == 1 else x0a
    bs = solve_block(bk, economy, block, method=method, rtol=rtol, atol=atol, x0=x0b, dtype=dtype)
    if raise_on_failure:
        raise_if_failed(bs, rtol, "solve_output", economy)
    notes = list(bs.notes)
    X, nclip = _clip_tiny_negatives(bk, bs.X, nonneg, bs.residual, notes)
    lab = None
    if economy.labour is not None:
        L = economy.cached(("labour", bk.name), lambda: bk.asarray(economy.labour, dtype=X.dtype))
        lab = L @ X
    keep = (lib in ("cupy", "jax")) if keep_on_device is None else keep_on_device
    if not keep:
        X = bk.to_numpy(X)
        lab = None if lab is None else bk.to_numpy(lab)
    if was_1d:
        X = X[:, 0]
        lab = None if lab is None else lab[:, 0]
    if plans is None:
        plans = pd.RangeIndex(1 if was_1d else block.shape[1])
    res = bs.residual[0] if was_1d else bs.residual
    return OutputSolution(
        output=X,
        labour=lab,
        converged=bool(bs.converged.all()),
        plan_converged=bs.converged,
        iterations=int(bs.iterations.max()),
        plan_iterations=bs.iterations,
        residual=res,
        backend=bs.backend,
        method=bs.method,
        reason=bs.reason,
        matvecs=bs.matvecs,
        seconds=bs.seconds,
        labels=economy.labels,
        plans=plans,
        labour_names=economy.labour_names,
        clipped=nclip,
        notes=notes,
    )


def labour_values(
    economy: Economy,
    labour: Any = None,
    *,
    backend: str | Backend = "auto",
    method: Any = "auto",
    rtol: float = 1e-10,
    atol: float = 0.0,
    x0: Any = None,
    dtype: Any = None,
    keep_on_device: bool | None = None,
    raise_on_failure: bool = True,
) -> ValuesSolution:
    """Labour values ``v`` solving ``v (I - A) = l`` (the transposed system).

    Parameters
    ----------
    economy : Economy
    labour : array_like, shape (n,) or (m, n), optional
        Labour coefficients to value; default the economy's own.
    backend, method, rtol, atol, x0, dtype, keep_on_device, raise_on_failure
        As in :func:`solve_output`.

    Returns
    -------
    ValuesSolution
        ``values`` of shape ``(n,)`` for one kind of labour, else ``(m, n)``.

    Raises
    ------
    ValueError
        The economy has no labour coefficients and none were given.
    ShapeError, InvalidDemandError, ConvergenceError

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0])
    >>> v = bigplan.labour_values(e).values
    >>> bool(np.allclose(v - v @ e.A.toarray(), [1.0, 2.0]))
    True
    """
    if not isinstance(economy, Economy):
        raise TypeError(f"economy must be a bigplan.Economy, got {type(economy).__name__}")
    names = economy.labour_names
    if labour is None:
        if economy.labour is None:
            raise ValueError(
                "this economy has no labour coefficients; pass labour=... or build it with Economy(A, labour=l)"
            )
        L = economy.labour
        lib = "numpy"
    else:
        lib = array_library(labour) or "numpy"
        L = labour if lib in ("cupy", "jax") else np.asarray(labour, dtype=np.float64)
        if L.ndim == 1:
            L = L[None, :]
        if L.ndim != 2 or L.shape[1] != economy.n:
            raise ShapeError(f"labour must have shape ({economy.n},) or (m, {economy.n}), got {np.shape(labour)}")
        if not bool(_xp(lib).isfinite(L).all()):
            raise InvalidDemandError("labour coefficients have NaN or infinite entries")
        names = tuple(f"labour_{i}" for i in range(L.shape[0])) if L.shape[0] > 1 else ("labour",)
    bk = get_backend(backend, L, x0)
    B = L.T
    x0b = None
    if x0 is not None:
        x0b = np.asarray(x0) if array_library(x0) == "numpy" else x0
        x0b = x0b[None, :] if x0b.ndim == 1 else x0b
        x0b = x0b.T
    bs = solve_block(bk, economy, B, transpose=True, method=method, rtol=rtol, atol=atol, x0=x0b, dtype=dtype)
    if raise_on_failure:
        raise_if_failed(bs, rtol, "labour_values", economy)
    nonneg = np.asarray(_host((B >= 0).all(axis=0)))
    notes = list(bs.notes)
    V, _ = _clip_tiny_negatives(bk, bs.X, nonneg, bs.residual, notes)
    keep = (lib in ("cupy", "jax")) if keep_on_device is None else keep_on_device
    V = V.T
    if not keep:
        V = bk.to_numpy(V)
    if V.shape[0] == 1:
        V = V[0]
    return ValuesSolution(
        values=V,
        converged=bool(bs.converged.all()),
        iterations=int(bs.iterations.max()),
        residual=bs.residual if bs.residual.size > 1 else bs.residual[0],
        backend=bs.backend,
        method=bs.method,
        reason=bs.reason,
        matvecs=bs.matvecs,
        seconds=bs.seconds,
        labels=economy.labels,
        labour_names=names,
        notes=notes,
    )
