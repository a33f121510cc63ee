"""The static Leontief model: gross output for many plans, and labour values.

``solve_output`` answers "how much of every product must be made so that the
final-demand targets are met": ``(I - A) x = y`` for each plan ``y``.
``labour_values`` answers "how much labour does each product embody, directly
and through all its inputs": ``v (I - A) = l``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._arrays import to_host
from ._evidence import Evidence, WithEvidence, plan_status
from ._inputs import host_array, plan_block
from .backend import Backend, get_backend
from .economy import Economy
from ._options import check_atol, check_bool, check_int, check_rtol
from .errors import InvalidEconomyError, InvalidOptionError, ShapeError
from .solvers import Auto, BlockSolve, raise_if_failed, solve_block, working_dtype

__all__ = ["solve_output", "labour_values", "choose_method", "OutputSolution", "ValuesSolution"]


_FLOAT32_NOTE = (
    "{what} came in float32 and was promoted to float64: digits beyond float32's ~7 were lost before the "
    "solve (for JAX, enable x64 before creating arrays: jax.config.update('jax_enable_x64', True); or pass "
    "float64 / NumPy arrays)"
)


def _summary(obj, what: str) -> str:
    state = "converged" if obj.converged else "NOT converged"
    return (
        f"<{type(obj).__name__} {what}: {state}, method={obj.method}, backend={obj.backend}, "
        f"iterations={obj.iterations}, max relative residual={float(np.max(obj.residual)):.3g}, {obj.seconds:.3g} s>"
    )


def _evidence(bs: BlockSolve, notes) -> Evidence:
    return Evidence(
        converged=bool(bs.converged.all()),
        status=bs.status if bs.status is not None else plan_status(bs.converged, bs.residual, bs.iterations, None),
        iterations=int(bs.iterations.max()) if bs.iterations.size else 0,
        residual=bs.residual,
        backend=bs.backend,
        method=bs.method,
        matvecs=bs.matvecs,
        seconds=bs.seconds,
        notes=tuple(notes),
    )


@dataclass(frozen=True, eq=False, repr=False)
class OutputSolution(WithEvidence):
    """Gross outputs for one or many plans, with the evidence of the solve.

    Attributes
    ----------
    output : array, shape (n,) or (n, k)
        Gross output of every product (the intermediate targets), same shape as
        the final demand.  NumPy unless the caller kept results on the device.
    labour : array, shape (m,) or (m, k), or None
        Labour each plan needs (one row per labour kind), when the economy has labour.
    evidence : Evidence
        The shared evidence block; its fields are also attributes of the result:
        ``converged`` (every plan reached the tolerance; its true residual was
        checked), ``status`` (a :class:`~bigplan.Status` code per plan),
        ``iterations`` (of the slowest plan), ``residual`` (shape ``(k,)``, always:
        ``||y - (I - A) x|| / ||y||`` of each plan), ``backend``, ``method``,
        ``matvecs``, ``seconds``, ``notes``.
    plan_converged : numpy.ndarray of bool, shape (k,)
    plan_iterations : numpy.ndarray, shape (k,)
    reason : str
        Why ``auto`` chose the method.
    clipped : int
        Entries in ``[-tolerance, 0)`` set to 0 for plans with ``y >= 0`` (the
        exact answer is non-negative there; a larger negative is never hidden and
        is reported in ``notes``).
    """

    output: Any
    labour: Any
    evidence: Evidence
    plan_converged: np.ndarray
    plan_iterations: np.ndarray
    reason: str
    labels: pd.Index | None = None
    plans: pd.Index | None = None
    labour_names: tuple | None = None
    clipped: int = 0

    def to_frame(self) -> pd.DataFrame:
        """Gross output as a DataFrame: products (labels) x plans."""
        out = np.asarray(to_host(self.output))
        out2 = out[:, None] if out.ndim == 1 else out
        return pd.DataFrame(out2, index=self.labels, columns=self.plans)

    def labour_frame(self) -> pd.DataFrame:
        """Labour needed as a DataFrame: labour kinds x plans."""
        if self.labour is None:
            raise InvalidEconomyError("this economy has no labour coefficients; build it with Economy(A, labour=l)")
        lab = np.asarray(to_host(self.labour))
        lab2 = lab[:, None] if lab.ndim == 1 else lab
        return pd.DataFrame(lab2, index=list(self.labour_names), columns=self.plans)

    def __repr__(self) -> str:
        k = 1 if np.ndim(self.output) == 1 else np.shape(self.output)[1]
        return _summary(self, f"{np.shape(self.output)[0]} products x {k} plans")


@dataclass(frozen=True, eq=False, repr=False)
class ValuesSolution(WithEvidence):
    """Labour values ``v`` solving ``v (I - A) = l``.

    Attributes
    ----------
    values : array, shape (n,) for one labour kind, else (m, n)
        Labour embodied per unit of each product, directly and through all inputs.
    evidence : Evidence
        As in :class:`OutputSolution` (one "plan" per labour kind).
    reason : str
    """

    values: Any
    evidence: Evidence
    reason: str
    labels: pd.Index | None = None
    labour_names: tuple | None = None

    def to_frame(self) -> pd.DataFrame:
        """Labour values as a DataFrame: products x labour kinds."""
        v = np.asarray(to_host(self.values))
        v2 = v[None, :] if v.ndim == 1 else v
        return pd.DataFrame(v2.T, index=self.labels, columns=list(self.labour_names))

    def __repr__(self) -> str:
        return _summary(self, f"{np.shape(self.values)[-1]} products")


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

    Raises
    ------
    InvalidOptionError
        ``economy`` not an Economy, ``k`` not a whole number >= 1, ``rtol`` outside (0, 1).
    """
    _check_economy(economy)
    k = check_int(k, "k (plans solved at once)", lo=1)
    meth, reason = Auto().choose(economy, k, rtol=check_rtol(rtol), backend=get_backend(backend))
    return meth.name, reason


def _check_economy(economy) -> None:
    if not isinstance(economy, Economy):
        raise InvalidOptionError(
            f"economy must be a bigplan.Economy, got {type(economy).__name__}; build one with Economy(A)"
        )


def _check_flags(raise_on_failure, keep_on_device) -> None:
    check_bool(raise_on_failure, "raise_on_failure")
    if keep_on_device is not None:
        check_bool(keep_on_device, "keep_on_device")


_EPS32 = float(np.finfo(np.float32).eps)


def _check_precision(rtol: float, atol: float, dtype: np.dtype) -> None:
    """Refuse up front a float32 solve asked for a tolerance float32 cannot resolve (it would only fail)."""
    if dtype == np.float32 and atol == 0.0 and rtol < _EPS32:
        raise InvalidOptionError(
            f"rtol={rtol:g} is below float32's resolution ({_EPS32:.2g}): a float32 working precision cannot "
            "reach it; pass rtol >= 1e-6 with dtype=numpy.float32, or keep the default float64 working "
            "precision (method='refined' gives float32 speed with float64 accuracy)"
        )


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
        Final demand of the wrong shape, non-finite, or with the wrong labels; or an
        answer too large for the working precision (InvalidDemandError).
    InvalidOptionError
        ``rtol`` outside (0, 1), ``atol`` negative or infinite, a working ``dtype`` other
        than float32/float64, or an unknown method; method='neumann' whose estimated
        iterations exceed its limit; ``dtype=float32`` with ``rtol`` below float32's
        resolution (and ``atol=0``); ``raise_on_failure``/``keep_on_device`` not booleans.
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
    _check_economy(economy)
    rtol, atol, dtype = check_rtol(rtol), check_atol(atol), working_dtype(dtype)
    _check_precision(rtol, atol, dtype)
    _check_flags(raise_on_failure, keep_on_device)
    pb = plan_block(economy, final_demand, "final demand")
    block, was_1d, plans, lib, nonneg = pb.values, pb.squeeze, pb.names, pb.library, pb.nonneg
    pre_notes = []
    if np.dtype(block.dtype) == np.float32 and dtype == np.float64:
        block = block.astype(np.float64)
        pre_notes.append(_FLOAT32_NOTE.format(what="final demand"))
    bk = get_backend(backend, block, x0)
    x0b = None
    if x0 is not None:
        xb = plan_block(economy, x0, "x0")
        if xb.values.shape != block.shape:
            raise ShapeError(f"x0 has shape {np.shape(x0)}; it must match final demand {np.shape(final_demand)}")
        x0b = xb.values
    bs = solve_block(bk, economy, block, method=method, rtol=rtol, atol=atol, x0=x0b, dtype=dtype, colmax=pb.colmax)
    if raise_on_failure:
        raise_if_failed(bs, rtol, "solve_output", economy)
    notes = pre_notes + list(bs.notes)
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
    return OutputSolution(
        output=X,
        labour=lab,
        evidence=_evidence(bs, notes),
        plan_converged=bs.converged,
        plan_iterations=bs.iterations,
        reason=bs.reason,
        labels=economy.labels,
        plans=plans,
        labour_names=economy.labour_names,
        clipped=nclip,
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
    InvalidEconomyError
        The economy has no labour coefficients and none were given.
    InvalidOptionError
        A tolerance outside its range, a working dtype other than float32/float64, or
        ``dtype=float32`` with ``rtol`` below float32's resolution.
    ShapeError, InvalidDemandError, ConvergenceError

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0])
    >>> v = bigplan.labour_values(e).values
    >>> bool(np.allclose(v - v @ e.A.toarray(), [1.0, 2.0]))
    True
    """
    _check_economy(economy)
    rtol, atol, dtype = check_rtol(rtol), check_atol(atol), working_dtype(dtype)
    _check_precision(rtol, atol, dtype)
    _check_flags(raise_on_failure, keep_on_device)
    names = economy.labour_names
    if labour is None:
        if economy.labour is None:
            raise InvalidEconomyError(
                "this economy has no labour coefficients; pass labour=... or build it with Economy(A, labour=l)"
            )
        lb = plan_block(economy, economy.labour.T, "labour")
    else:
        if isinstance(labour, pd.DataFrame):  # products x kinds, like Economy(labour=DataFrame)
            lb = plan_block(economy, labour, "labour")
        elif isinstance(labour, pd.Series):
            lb = plan_block(economy, labour, "labour")
        else:
            if not hasattr(labour, "ndim"):  # lists: ragged or non-numeric input is refused by the input layer
                labour = host_array(labour, "labour")
            if np.ndim(labour) not in (1, 2) or np.shape(labour)[-1] != economy.n:
                raise ShapeError(f"labour must have shape ({economy.n},) or (m, {economy.n}), got {np.shape(labour)}")
            lb = plan_block(economy, labour.T if np.ndim(labour) == 2 else labour, "labour")
        m = lb.k
        names = (
            tuple(str(c) for c in lb.names) if lb.names is not None and not isinstance(labour, pd.Series)
            else (tuple(f"labour_{i}" for i in range(m)) if m > 1 else ("labour",))
        )
    B, lib = lb.values, lb.library
    pre_notes = []
    if np.dtype(B.dtype) == np.float32 and economy.dtype == np.float64 and dtype == np.float64:
        B = B.astype(np.float64)
        pre_notes.append(_FLOAT32_NOTE.format(what="labour"))
    bk = get_backend(backend, B, x0)
    x0b = None
    if x0 is not None:
        if not isinstance(x0, (pd.Series, pd.DataFrame)) and not hasattr(x0, "T"):
            x0 = host_array(x0, "x0")
        x0t = x0.T if (not isinstance(x0, (pd.Series, pd.DataFrame)) and np.ndim(x0) == 2) else x0
        xb = plan_block(economy, x0t, "x0")
        if xb.values.shape != B.shape:
            raise ShapeError(f"x0 has shape {np.shape(x0)}; it must match the labour values' shape")
        x0b = xb.values
    bs = solve_block(
        bk, economy, B, transpose=True, method=method, rtol=rtol, atol=atol, x0=x0b, dtype=dtype, colmax=lb.colmax
    )
    if raise_on_failure:
        raise_if_failed(bs, rtol, "labour_values", economy)
    notes = pre_notes + list(bs.notes)
    V, _ = _clip_tiny_negatives(bk, bs.X, lb.nonneg, bs.residual, notes)
    keep = (lib in ("cupy", "jax")) if keep_on_device is None else keep_on_device
    V = V.T
    if not keep:
        V = bk.to_numpy(V)
    if V.shape[0] == 1:
        V = V[0]
    return ValuesSolution(
        values=V,
        evidence=_evidence(bs, notes),
        reason=bs.reason,
        labels=economy.labels,
        labour_names=names,
    )
