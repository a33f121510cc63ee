"""The algorithms, written once against :class:`bigplan.backend.Backend`.

The block operations BiCGSTAB fuses (``step_end``, ``i_minus_dot2``,
``residual``, ...) and their generic versions live beside it in
:mod:`bigplan._krylov_ops`; a backend overrides those it can do in one pass.

Every method solves ``(I - A) X = Y`` (or the transposed system, for labour
values) for a block ``Y`` of ``k`` plans at once, with per-plan convergence: the
relative residual of plan ``j`` is ``||y_j - (I - A) x_j||_2 / ||y_j||_2`` and a
plan stops when it is at most ``rtol`` (or its absolute residual is at most
``atol``).  Finished plans are dropped from the block, so the rest run on a
smaller one.  A plan is reported converged only after its *true* residual (not
the recurrence's) has been computed and found under the tolerance.

Methods (small frozen objects; pass one, or its name, as ``method=``):

- :class:`BiCGSTAB`: Krylov, two products per iteration, short recurrences (8
  blocks of memory).  The default for large sparse economies.
- :class:`Neumann`: the series ``x <- y + A x`` (Richardson on ``I - A``), one
  product per iteration; monotone from below when ``y >= 0`` and ``x0 = 0``;
  iterations grow like ``log(rtol) / log(rho(A))``.
- :class:`Direct`: dense LU of ``I - A``, factorized once per economy and cached.
  Exact and fastest for small economies; O(n^2) memory, so refused above
  ``max_n``.  Sparse LU is deliberately absent: on input-output structure it
  fills in almost completely.
- :class:`Auto`: picks one of these and says why (:meth:`Auto.choose`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ._backend_api import Backend
from ._krylov_ops import krylov_backend
from ._evidence import Status, plan_status
from ._methods import (  # noqa: F401  (re-exported: the method objects are part of this module's API)
    METHOD_NAMES, Auto, BiCGSTAB, Direct, Method, Neumann, Refined, neumann_iterations, as_method, working_dtype,
    tight_radius_upper,
)
from ._options import check_atol, check_rtol
from .errors import (
    BackendError, ConvergenceError, InsufficientMemoryError, InvalidDemandError, InvalidOptionError, ShapeError,
)

__all__ = ["BiCGSTAB", "Neumann", "Direct", "Refined", "Auto", "Method", "BlockSolve", "solve_block", "as_method"]


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------
@dataclass
class BlockSolve:
    """What :func:`solve_block` returns: the block on the device and its evidence."""

    X: object
    converged: np.ndarray
    residual: np.ndarray
    iterations: np.ndarray
    matvecs: int
    method: str
    reason: str
    backend: str
    seconds: float
    restarts: int = 0
    notes: list = field(default_factory=list)
    status: np.ndarray | None = None  # per-plan bigplan.Status codes


# ---------------------------------------------------------------------------
# helpers shared by the methods
# ---------------------------------------------------------------------------
def _put_columns(bk: Backend, X, idx, part):
    return bk.put_columns(X, idx, part)


def _padded(bk: Backend, idx: np.ndarray, width: int) -> np.ndarray:
    """``idx`` (sorted columns of a block of ``width``), padded on backends that compile per shape.

    JAX compiles every operation once per array shape, and the number of
    columns some steps work on (plans left at the iteration limit, or left to
    finish in float64 after refinement) depends on the data: each new count
    would compile anew.  (There blocks are never compacted, and candidates are
    verified on the whole block, for the same reason.)  ``idx`` is extended by other columns of the block to the next power of
    four (at most ``width``), so the counts come from a fixed small set (a 64-plan
    block: 64, 16, 4, 1); callers use only the results of ``idx``'s own columns,
    or write back values that are final or overwritten later.  Elsewhere ``idx``
    is returned unchanged.
    """
    if not bk.compiles or idx.size == 0 or idx.size >= width:
        return idx
    m = min(width, 4 ** math.ceil(math.log(idx.size, 4) - 1e-9))
    if m == idx.size:
        return idx
    rest = np.setdiff1d(np.arange(width), idx, assume_unique=True)[: m - idx.size]
    return np.sort(np.concatenate([idx, rest]))


def _op_key(bk: Backend, transpose: bool, dtype) -> tuple:
    return ("op", bk.cache_tag, bool(transpose), np.dtype(dtype).str)


def _operator(bk: Backend, economy, transpose: bool, dtype):
    key = _op_key(bk, transpose, dtype)
    return economy.cached(key, lambda: bk.operator(economy.AT if transpose else economy.A, dtype))


def operator(bk: Backend, economy, *, transpose: bool = False, dtype=np.float64):
    """The backend operator of ``A`` (``A^T`` with ``transpose``) in ``dtype``, cached on the economy as the solvers use it."""
    return _operator(bk, economy, transpose, dtype)


def _check_memory(bk: Backend, economy, k: int, blocks: int, dtype, transpose: bool, op_dtypes=None) -> int:
    """Largest batch that fits in device memory; raise if not even one plan fits.

    ``blocks`` work blocks of ``dtype`` per plan, plus the output of a product
    (cuSPARSE's SpMM writes a fresh block before it is combined), and every
    operator in ``op_dtypes`` (default ``(dtype,)``; refinement holds a float32
    and a float64 one) that is not on the device yet.
    """
    avail = bk.memory_available()
    if avail is None:
        return k
    item = np.dtype(dtype).itemsize
    idx_item = 4 if economy.nnz <= 2**31 - 1 else 8  # the GPU backends hold int32 indices where they can
    op_bytes = sum(
        economy.nnz * (np.dtype(t).itemsize + idx_item) + (economy.n + 1) * idx_item
        for t in dict.fromkeys(np.dtype(t) for t in (op_dtypes or (dtype,)))
        if not economy.is_cached(_op_key(bk, transpose, t))
    )
    per_plan = (blocks + 1) * economy.n * item
    room = int(0.9 * avail) - op_bytes
    if room < per_plan:
        raise InsufficientMemoryError(
            f"this solve needs at least {op_bytes + per_plan:,} bytes of device memory "
            f"({op_bytes:,} for the matrix, {per_plan:,} per plan) and {avail:,} are available on the "
            f"{bk.name} device; use backend='numpy', a device with more memory, or float32 storage"
        )
    return max(1, min(k, room // per_plan))


# ---------------------------------------------------------------------------
# the methods
# ---------------------------------------------------------------------------
# Finished plans are frozen in place (their step lengths set to 0) and the block
# is compacted only once at least this fraction of its columns is frozen: a
# compaction copies every block, a frozen column costs only its share of a product.
_COMPACT_FRACTION = 0.5


def _work_block(bk: Backend, work, name: str, like, zero: bool):
    """A block shaped like ``like`` from the workspace ``work`` (made on first use).

    The inner solves of one refinement reuse their blocks: in a virtual machine
    whose host reclaims freed memory, fresh pages cost more than the products.
    """
    if work is None or not bk.mutable:
        return bk.zeros(like.shape, like.dtype) if zero else bk.block(like, like.dtype)
    a = work.get(name)
    if a is None or a.shape != like.shape or a.dtype != like.dtype:
        a = bk.zeros(like.shape, like.dtype)
        work[name] = a
    elif zero:
        a.fill(0)
    return a


def _bicgstab_run(
    bk: Backend, op, B, X, tol, maxiter, max_restarts, st, verify: bool = True, own_b: bool = False, work=None
):
    """Batched BiCGSTAB on the columns of ``B`` (host ``tol`` per column).

    With ``verify`` (the default) a plan whose recurrence residual meets its
    tolerance is accepted only after its true residual ``b - (I - A) x`` does,
    and restarted from there otherwise.  The inner solves of iterative
    refinement pass ``verify=False``: there the outer float64 residual is the
    check, and a plan stops when its recurrence residual meets the tolerance
    (or breaks down, marked not converged).  ``X=None`` starts from zero;
    with ``own_b`` as well (and no ``verify``, which rereads ``B``) the
    residual takes over ``B``'s memory instead of copying it.  ``work`` (a
    dict, with ``verify=False``) keeps the blocks for the next call.
    """
    if verify:
        work = None  # compaction replaces the blocks
    B0 = B
    xp = bk.xp
    k = B.shape[1]
    conv = np.zeros(k, bool)
    res = np.full(k, np.inf)
    its = np.zeros(k, np.int64)
    restarts = np.zeros(k, np.int64)
    scratch = st.setdefault("_scratch", [])  # blocks the wrapper hands back to the backend

    if X is None:  # start from zero: the residual is B itself, no product needed
        rn = bk.colnorm(B)
        R = B if (own_b and not verify and bk.mutable) else bk.block(B, B.dtype)
        X = _work_block(bk, work, "X", B, zero=True)
    else:
        R, rn = bk.residual(op, B, X)
        st["matvecs"] += k
    rn = bk.to_numpy(rn)
    res[:] = rn
    frozen = rn <= tol  # local columns that are finished (their x is final)
    conv[frozen] = True
    if frozen.all():
        return X, conv, res, its, 0
    Xfull = X
    active = np.arange(k)  # global index of each local column

    ka = R.shape[1]
    one = xp.ones(ka, dtype=R.dtype)
    Rhat = _work_block(bk, work, "Rhat", R, zero=False)
    if work is not None and bk.mutable:
        bk.copy_into(Rhat, R)
    P, V, T = (_work_block(bk, work, name, R, zero=True) for name in ("P", "V", "T"))
    if work is None:
        scratch[:] = [lambda: [a for a in (R, Rhat, P, V, T) if a is not B0]]
    rho_prev, alpha, omega = one, one, one
    live = xp.asarray(~frozen)
    rho = bk.coldot(Rhat, R)
    for it in range(1, maxiter + 1):
        beta = bk.bicg_beta(live, rho, rho_prev, alpha, omega)
        P = bk.p_update(R, P, V, beta, omega)
        V, denom = bk.i_minus_dot(op, P, Rhat, out=V)  # v = (I - A) p and (rhat, v)
        alpha, ok_a = bk.bicg_alpha(live, rho, denom)
        S = bk.axpy(-alpha, V, R, out=R)  # R is not needed again: S takes its memory
        T, tt, ts = bk.i_minus_dot2(op, S, out=T)  # t = (I - A) s with (t, t) and (t, s)
        omega, ok_w = bk.bicg_omega(live, tt, ts)
        # x += alpha p + omega s and r = s - omega t, with ||r||^2 and the next rho = (rhat, r), in one pass
        X, R, rr, rho_next = bk.step_end(X, P, S, T, Rhat, alpha, omega, out=S)
        rho_prev, rho = rho, rho_next
        st["matvecs"] += 2 * int((~frozen).sum())
        h = bk.to_numpy(bk.bicg_flags(rr, ok_a, ok_w, omega))
        rn, healthy = h[0], h[1] > 0
        its[active[~frozen]] = it
        cand = ~frozen & ((rn <= tol[active]) | ~healthy | ~np.isfinite(rn))
        if not cand.any():
            continue
        loc = np.flatnonzero(cand)
        if not verify:  # inner solve: the recurrence residual decides, the caller checks
            fin_ok = np.isfinite(rn[loc]) & (rn[loc] <= tol[active[loc]]) & healthy[loc]
            res[active[loc]] = rn[loc]
            conv[active[loc[fin_ok]]] = True
            finished, again = loc, loc[:0]
        else:
            # verify candidates with the true residual; restart those that drifted or broke down
            # most columns: one fused pass over the whole block beats copying columns out; and where
            # the library compiles per shape, a subset of data-dependent width would compile anew
            if 2 * loc.size >= ka or bk.compiles:
                Rt, rt = bk.residual(op, B, X)
                rt = bk.to_numpy(rt)[loc]
                st["matvecs"] += ka
            else:
                Rt, rt = bk.residual(op, bk.take_columns(B, loc), bk.take_columns(X, loc))
                rt = bk.to_numpy(rt)
                st["matvecs"] += loc.size
            good = np.isfinite(rt) & (rt <= tol[active[loc]])
            res[active[loc]] = rt
            conv[active[loc[good]]] = True
            finished = loc[good]
            again = loc[~good]
            if again.size:
                restarts[active[again]] += 1
                give_up = (restarts[active[again]] > max_restarts) | ~np.isfinite(rt[~good])
                finished = np.concatenate([finished, again[give_up]])
                again = again[~give_up]
        frozen[finished] = True
        if again.size:
            mask = np.zeros(ka, bool)
            mask[again] = True
            # the true residuals as a block of the whole width (Rt already is one when all were checked)
            Rfull = Rt if Rt.shape[1] == ka else _put_columns(bk, bk.zeros(R.shape, R.dtype), loc, Rt)
            # every block stays in the backend's order: the next product takes them as they are
            R = bk.set_columns_where(R, mask, Rfull)
            Rhat = bk.set_columns_where(Rhat, mask, Rfull)
            P = bk.set_columns_where(P, mask, 0.0)
            V = bk.set_columns_where(V, mask, 0.0)
            del Rfull, Rt
            m = xp.asarray(mask)
            ones = xp.ones_like(rho_prev)
            rho_prev, alpha, omega = (xp.where(m, ones, a) for a in (rho_prev, alpha, omega))
            rho = bk.coldot(Rhat, R)  # restarted plans begin again with rho = (r, r)
        if frozen.all():
            return _put_columns(bk, Xfull, active, X) if Xfull is not X else X, conv, res, its, int(restarts.sum())
        # Inner solves are short and their plans finish within an iteration or two of
        # each other: copying every block out would cost more than the products it saves.
        # Where the library compiles per shape (JAX), frozen columns ride along instead: a
        # narrower block would compile every operation again, at a width that depends on the data.
        if verify and not bk.compiles and frozen.sum() >= _COMPACT_FRACTION * ka:
            done = np.flatnonzero(frozen)
            keep = np.flatnonzero(~frozen)
            Xfull = _put_columns(bk, Xfull, active[done], bk.take_columns(X, done))
            X, B, R, Rhat, P, V, T = (bk.take_columns(a, keep) for a in (X, B, R, Rhat, P, V, T))
            ki = xp.asarray(keep)
            rho_prev, alpha, omega, rho = rho_prev[ki], alpha[ki], omega[ki], rho[ki]
            active = active[keep]
            ka = keep.size
            frozen = np.zeros(ka, bool)
        live = xp.asarray(~frozen)
    # iteration limit: record the true residual of what is left
    left = np.flatnonzero(~frozen)
    leftp = _padded(bk, left, ka)
    _, rt = bk.residual(op, bk.take_columns(B, leftp), bk.take_columns(X, leftp))
    st["matvecs"] += leftp.size
    res[active[left]] = bk.to_numpy(rt)[np.searchsorted(leftp, left)]
    conv[active[left]] = res[active[left]] <= tol[active[left]]
    return (_put_columns(bk, Xfull, active, X) if Xfull is not X else X), conv, res, its, int(restarts.sum())


def _bicgstab(bk: Backend, op, B, X, tol, maxiter, max_restarts, st, verify: bool = True, own_b: bool = False, work=None):
    """:func:`_bicgstab_run`, handing its work blocks back to the backend when it returns."""
    try:
        return _bicgstab_run(bk, op, B, X, tol, maxiter, max_restarts, st, verify=verify, own_b=own_b, work=work)
    finally:
        for get in st.pop("_scratch", []):
            bk.release(*get())


def _neumann(bk: Backend, op, B, X, tol, maxiter, st):
    """The series ``x <- x + (y - (I - A) x)``, per plan, finished plans frozen."""
    xp = bk.xp
    k = B.shape[1]
    conv = np.zeros(k, bool)
    res = np.full(k, np.inf)
    its = np.zeros(k, np.int64)
    Xfull = X
    active = np.arange(k)
    frozen = np.zeros(k, bool)
    for it in range(0, maxiter + 1):
        R, rn = bk.residual(op, B, X)
        st["matvecs"] += int((~frozen).sum())
        rn = bk.to_numpy(rn)
        live_idx = np.flatnonzero(~frozen)
        its[active[live_idx]] = it
        res[active[live_idx]] = rn[live_idx]
        fin = ~frozen & ((rn <= tol[active]) | ~np.isfinite(rn))
        conv[active[fin]] = np.isfinite(rn[fin])
        frozen |= fin
        if frozen.all():
            break
        if not bk.compiles and frozen.sum() >= _COMPACT_FRACTION * frozen.size:  # JAX: see _bicgstab_run
            done, keep = np.flatnonzero(frozen), np.flatnonzero(~frozen)
            Xfull = _put_columns(bk, Xfull, active[done], bk.take_columns(X, done))
            X, B, R = (bk.take_columns(a, keep) for a in (X, B, R))
            active, frozen = active[keep], np.zeros(keep.size, bool)
        if it == maxiter:
            break
        step = xp.asarray((~frozen).astype(np.float64), dtype=X.dtype)
        X = bk.axpy(step, R, X, out=X)  # x + (y - (I - A) x) = y + A x; frozen plans keep x
    return (_put_columns(bk, Xfull, active, X) if Xfull is not X else X), conv, res, its


# The last correction of a refinement aims at this fraction of the tolerance: the
# float64 residual after it exceeds the float32 recurrence's by rounding, and a
# missed target costs a whole further correction.
_LAST_STEP_MARGIN = 0.1


def _refined(bk: Backend, economy, B, X, tol, transpose: bool, meth: Refined, st):
    """Iterative refinement: float64 residuals, float32 corrections.

    ``X`` is a float64 warm start, or None: the first correction then solves for
    ``B`` itself and needs no float64 product.  Each later step computes the
    float64 residual, rounded to float32 in the same pass, solves for the
    correction in float32 to ``inner_rtol`` and adds it.  A plan is converged
    only when its float64 residual meets ``tol``.
    """
    k = B.shape[1]
    op64 = _operator(bk, economy, transpose, np.float64)
    op32 = _operator(bk, economy, transpose, np.float32)
    conv = np.zeros(k, bool)
    its = np.zeros(k, np.int64)
    restarts = 0
    pred = neumann_iterations(economy.productivity.upper, meth.inner_rtol) or 500
    inner_max = meth.inner.maxiter or (max(200, 2 * pred) if isinstance(meth.inner, BiCGSTAB) else 2 * pred + 50)
    if X is None:
        R32, rn = bk.block(B, np.float32), bk.colnorm(B)
    else:
        R32, rn = bk.residual(op64, B, X, out_dtype=np.float32)
        st["matvecs"] += k
    work = {}  # the inner solves' blocks, reused from one correction to the next
    stalled = np.zeros(k, bool)
    prev = np.full(k, np.inf)
    for outer in range(meth.max_outer + 1):
        rn = bk.to_numpy(rn).astype(np.float64)
        res = rn.copy()
        conv = np.isfinite(rn) & (rn <= tol)
        # a correction that did not halve the residual will not do better next time
        # (float32 cannot represent this plan's residual, or the inner solve failed)
        stalled |= ~conv & ~(rn <= 0.5 * prev)
        prev = rn
        if (conv | stalled).all() or outer == meth.max_outer:
            break
        # each correction needs only to bring the residual to the target: reducing it
        # further than _LAST_STEP_MARGIN * tol would cost iterations nobody asked for
        itol = np.maximum(np.maximum(meth.inner_rtol * rn, _LAST_STEP_MARGIN * tol), 1e-300)
        itol[conv | stalled] = np.inf  # finished plans take no inner steps
        sti = {"matvecs": 0}
        if isinstance(meth.inner, BiCGSTAB):  # from zero: the first residual is r, with no product
            D, _cv, _rs, it, rst = _bicgstab(
                bk, op32, R32, None, itol, inner_max, meth.inner.max_restarts, sti, verify=False, own_b=True, work=work
            )
            if bk.mutable:
                work["R"] = R32  # taken over by the inner solve, free again: the next residual goes there
            restarts += rst
        else:  # from the first term of the series, r
            D, _cv, _rs, it = _neumann(bk, op32, R32, bk.block(R32, np.float32), itol, inner_max, sti)
        del R32
        its += it
        st["matvecs"] += sti["matvecs"]
        X = bk.block(D, np.float64) if X is None else bk.add_widened(X, D)
        del D
        R32, rn = bk.residual(op64, B, X, out_dtype=np.float32, out=work.get("R"))
        st["matvecs"] += k
    work["R"] = R32
    bk.release(*{id(a): a for a in work.values()}.values())
    if X is None:  # every plan met its tolerance at zero (zero or negligible demand)
        X = bk.zeros(B.shape, np.float64)
    return X, conv, res, its, restarts


def _direct(bk: Backend, economy, B, transpose: bool, dtype, method: Direct):
    n = economy.n
    if n > method.max_n:
        raise BackendError(
            f"method='direct' builds a dense {n} x {n} matrix ({8 * n * n / 2**30:.1f} GiB); it is limited to "
            f"n <= {method.max_n}. Use method='bicgstab' (or 'auto') for large economies"
        )
    key = ("lu", bk.name, bool(transpose), np.dtype(dtype).str)

    def factor():
        M = np.eye(n, dtype=dtype) - economy.A.toarray().astype(dtype, copy=False)
        return bk.dense_factor(M.T if transpose else M, dtype)

    fac = economy.cached(key, factor)
    return bk.dense_solve(fac, B)


# Largest number of Neumann iterations run without an explicit ``maxiter``: past it the
# series is refused up front (BiCGSTAB needs about the square root as many products).
NEUMANN_MAX_ITERATIONS = 100_000


def _neumann_maxiter(economy, rtol: float, meth: Neumann) -> int:
    """The Neumann series' iteration limit; refuse a default run whose estimate exceeds the cap."""
    pred = neumann_iterations(economy.productivity.upper, rtol)
    if meth.maxiter is not None:
        return meth.maxiter
    if pred is None:
        return NEUMANN_MAX_ITERATIONS
    upper = economy.productivity.upper
    if pred > NEUMANN_MAX_ITERATIONS:  # only on the way to a refusal: tighten a loose certificate first
        upper = tight_radius_upper(economy)
        pred = neumann_iterations(upper, rtol) or pred
    if pred > NEUMANN_MAX_ITERATIONS:
        raise InvalidOptionError(
            f"method='neumann' would need about {pred:,} iterations to reach rtol={rtol:g} (the certified "
            f"spectral radius of A is <= {upper:.9g}), more than the limit of "
            f"{NEUMANN_MAX_ITERATIONS:,}; use method='bicgstab' (or 'auto'), or pass "
            "method=bigplan.Neumann(maxiter=...) to run the series that long anyway"
        )
    return 2 * pred + 50


# Columns whose largest magnitude lies outside these bounds are scaled by a power of two
# before the solve: their 2-norms (sums of squares) would overflow or underflow.
_SAFE_MAGNITUDE = {np.dtype(np.float64): (1e-100, 1e100), np.dtype(np.float32): (1e-10, 1e10)}


def _column_scale(colmax, k: int, dtype) -> np.ndarray | None:
    """Per-column powers of two (float64) that bring each column's max-abs near 1, or None when none is needed."""
    if colmax is None:
        return None
    amax = np.asarray(colmax, dtype=np.float64).reshape(-1)
    if amax.size != k:
        return None
    lo, hi = _SAFE_MAGNITUDE[np.dtype(dtype)]
    out = (amax > 0) & np.isfinite(amax) & ((amax < lo) | (amax > hi))
    if not out.any():
        return None
    scale = np.ones(k)
    scale[out] = np.exp2(np.clip(-np.floor(np.log2(amax[out])), -1000, 1000))  # subnormals: 2^1000 at most
    return scale


def _exponents(scale: np.ndarray) -> np.ndarray:
    return np.rint(np.log2(scale)).astype(np.int32)


def _scale_columns(bk: Backend, B, scale: np.ndarray):
    """``B`` times ``scale`` per column, exactly (``ldexp``: the factor itself never overflows a float32)."""
    e = _exponents(scale)[None, :]
    if isinstance(B, np.ndarray):
        return np.ldexp(B if B.dtype.kind == "f" else B.astype(np.float64), e)
    xp = bk.xp
    return xp.ldexp(xp.asarray(B), xp.asarray(e))


def _unscale(bk: Backend, X, scale: np.ndarray, what: str):
    """Undo :func:`_scale_columns` on the answer; refuse answers beyond the working precision."""
    xp = bk.xp
    lo, hi = bk.colrange(X)
    fi = np.finfo(X.dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        amax = np.maximum(np.abs(lo), np.abs(hi)) / scale  # float64 on the host: never overflows here
    big = np.flatnonzero(~(amax <= float(fi.max)))
    tiny = np.flatnonzero((amax > 0) & (amax < float(fi.tiny)))
    name = np.dtype(X.dtype).name
    if big.size:
        raise InvalidDemandError(
            f"the answer for plan(s) {big[:10].tolist()} exceeds the largest {name} number "
            f"({float(fi.max):.3g}) although {what} is finite; express the demand in larger units "
            "(divide it by a power of ten) and scale the answer back"
        )
    if tiny.size:
        raise InvalidDemandError(
            f"the answer for plan(s) {tiny[:10].tolist()} lies below the smallest normal {name} number "
            f"({float(fi.tiny):.3g}), where it would lose its digits; "
            + ("use dtype=numpy.float64, or " if name == "float32" else "")
            + "express the demand in smaller units (multiply it by a power of ten)"
        )
    return xp.ldexp(X, xp.asarray(-_exponents(scale)[None, :]))


def solve_block(
    bk: Backend,
    economy,
    B,
    *,
    transpose: bool = False,
    method="auto",
    rtol: float = 1e-10,
    atol: float = 0.0,
    x0=None,
    dtype=None,
    colmax=None,
) -> BlockSolve:
    """Solve ``(I - A) X = B`` (or ``(I - A)^T X = B``) for a block of plans.

    Parameters
    ----------
    bk : Backend
    economy : Economy
    B : array, shape (n, k)
        Right-hand sides, any library (moved to ``bk``'s device).
    transpose : bool
        Solve the transposed system (labour values).
    method : str or Method
    rtol, atol : float
        Per-plan stopping test ``||b - M x|| <= max(rtol * ||b||, atol)``.
    x0 : array, shape (n, k), optional
        Warm start (ignored by the direct method).
    dtype : numpy dtype, optional
        Working precision of the plans: float64 (default) or float32; float32-stored coefficients
        are read as stored and accumulated in float64.
    colmax : numpy.ndarray, shape (k,), optional
        The largest magnitude in each column of ``B`` (on the host, as the input layer's
        column range gives it).  Columns too large or too small for the working precision's
        norms are scaled by a power of two before the solve and back after it, so any finite
        demand is solved (or refused with :class:`~bigplan.InvalidDemandError` when the answer
        itself overflows).

    Returns
    -------
    BlockSolve
    """
    t0 = time.perf_counter()
    rtol = check_rtol(rtol)
    atol = check_atol(atol)
    bk = krylov_backend(bk)  # the fused operations: the backend's own, or the generic ones of _krylov_ops
    dtype = working_dtype(dtype)
    meth = as_method(method)
    k = B.shape[1]
    reason = "chosen by the caller"
    if isinstance(meth, Auto):
        meth, reason = meth.choose(economy, k, rtol=rtol, backend=bk, dtype=dtype)
        auto_refined = isinstance(meth, Refined)
    else:
        auto_refined = False
    n = economy.n
    if B.shape[0] != n:
        raise ShapeError(f"right-hand side has {B.shape[0]} rows for {n} products")

    # device memory is checked before anything large is put on the device
    blocks = {BiCGSTAB: 12, Neumann: 7, Refined: 16}.get(type(meth), 3)
    if isinstance(meth, Refined):
        chunk = _check_memory(bk, economy, k, blocks, np.float32, transpose, op_dtypes=(np.float64, np.float32))
    else:
        chunk = _check_memory(bk, economy, k, blocks, dtype, transpose)
    scale = _column_scale(colmax, k, np.float32 if (dtype == np.float32 or isinstance(meth, Refined)) else np.float64)
    if scale is not None:
        B = _scale_columns(bk, B, scale)
        x0 = None if x0 is None else _scale_columns(bk, x0, scale)
    Bd = bk.as_block(B, dtype)  # read only: no solver writes into the right-hand sides
    bnorm = bk.to_numpy(bk.colnorm(Bd)).astype(np.float64)
    tol = np.maximum(rtol * bnorm, atol if scale is None else atol * scale)
    st = {"matvecs": 0}
    notes: list[str] = []
    maxiter = None

    if isinstance(meth, Direct):
        X = _direct(bk, economy, Bd, transpose, dtype, meth)
        op = _operator(bk, economy, transpose, dtype)
        _, res = bk.residual(op, Bd, X)
        res = bk.to_numpy(res).astype(np.float64)
        conv = np.isfinite(res) & (res <= np.maximum(tol, 0))
        its = np.zeros(k, np.int64)
        st["matvecs"] += k
        restarts = 0
    else:
        if isinstance(meth, Refined):
            if dtype != np.float64:
                raise InvalidOptionError(
                    f"method='refined' computes residuals in float64; got dtype={dtype}: omit dtype, "
                    "or use method='bicgstab' for a float32 solve"
                )
            op = None
        else:
            op = _operator(bk, economy, transpose, dtype)
        if x0 is None:
            # refined: the first correction solves for y itself; the others start from
            # x0 = y, the first term of the series, already below x* when y >= 0
            X = None if isinstance(meth, Refined) else bk.block(Bd, dtype)
        else:
            X = bk.block(x0, dtype)
            if X.shape != Bd.shape:
                raise ShapeError(f"x0 has shape {X.shape}; it must match the right-hand side {Bd.shape}")
        if isinstance(meth, BiCGSTAB):
            maxiter = meth.maxiter
            if maxiter is None:
                pred = neumann_iterations(economy.productivity.upper, rtol) or 500
                maxiter = max(200, 2 * pred)
        elif isinstance(meth, Neumann):
            maxiter = _neumann_maxiter(economy, rtol, meth)
        if chunk < k:
            notes.append(f"batch split into chunks of {chunk} plans to fit device memory")
        parts = []
        convs, ress, itss = [], [], []
        restarts = 0
        for c0 in range(0, k, chunk):
            sl = np.arange(c0, min(k, c0 + chunk))
            Bc = Bd if chunk >= k else bk.take_columns(Bd, sl)
            Xc = X if (chunk >= k or X is None) else bk.take_columns(X, sl)
            stc = {"matvecs": 0}
            if isinstance(meth, BiCGSTAB):
                Xc, cv, rs, it, rst = _bicgstab(bk, op, Bc, Xc, tol[sl], maxiter, meth.max_restarts, stc)
                restarts += rst
            elif isinstance(meth, Refined):
                Xc, cv, rs, it, rst = _refined(bk, economy, Bc, Xc, tol[sl], transpose, meth, stc)
                restarts += rst
            else:
                Xc, cv, rs, it = _neumann(bk, op, Bc, Xc, tol[sl], maxiter, stc)
            st["matvecs"] += stc["matvecs"]
            parts.append(Xc)
            convs.append(cv)
            ress.append(rs)
            itss.append(it)
        if len(parts) == 1:
            X = parts[0]
        else:  # into a block of the backend's order (CuPy's concatenate would give a C-ordered one)
            X = bk.zeros((n, k), parts[0].dtype)
            for c0, part in zip(range(0, k, chunk), parts):
                X = bk.put_columns(X, np.arange(c0, c0 + part.shape[1]), part)
        conv, res, its = np.concatenate(convs), np.concatenate(ress), np.concatenate(itss)
        if auto_refined and not conv.all():
            # float32 could not carry these plans (badly scaled or nearly unproductive):
            # float64 BiCGSTAB finishes them from where refinement left them
            bad = np.flatnonzero(~conv)
            badp = _padded(bk, bad, k)  # converged padding columns are frozen at once and come back unchanged
            op = _operator(bk, economy, transpose, np.float64)
            pred = neumann_iterations(economy.productivity.upper, rtol) or 500
            stc = {"matvecs": 0}
            Xb, cv, rs, it, rst = _bicgstab(
                bk, op, bk.take_columns(Bd, badp), bk.take_columns(X, badp), tol[badp], max(200, 2 * pred), 4, stc
            )
            X = bk.put_columns(X, badp, Xb)
            sel = np.searchsorted(badp, bad)
            conv[bad], res[bad], its[bad] = cv[sel], rs[sel], its[bad] + it[sel]
            restarts += rst
            st["matvecs"] += stc["matvecs"]
            notes.append(f"{bad.size} plan(s) finished by float64 BiCGSTAB after mixed-precision refinement")
    bk.synchronize()
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(bnorm > 0, res / np.where(bnorm > 0, bnorm, 1), res)
    conv = conv & np.isfinite(rel)  # never converged with an unchecked (NaN) residual
    if scale is not None:
        X = _unscale(bk, X, scale, "the right-hand side")
    status = plan_status(conv, rel, its, maxiter, stalled="stagnated" if isinstance(meth, Refined) else "breakdown")
    return BlockSolve(
        X=X,
        converged=conv,
        residual=rel,
        iterations=its,
        matvecs=int(st["matvecs"]),
        method=meth.name,
        reason=reason,
        backend=bk.name,
        seconds=time.perf_counter() - t0,
        restarts=int(restarts),
        notes=notes,
        status=status,
    )


def _radius(rho: float) -> str:
    """A radius bound printed so that 0.9999999 does not read as 1."""
    if math.isfinite(rho) and 0.999 < rho < 1.0:
        return f"1 - {1.0 - rho:.3g}"
    return f"{rho:.6g}"


def _round_up(x: float) -> float:
    """``x`` rounded up to one significant digit (a tolerance to suggest)."""
    e = math.floor(math.log10(x))
    return math.ceil(x / 10**e) * 10**e


def raise_if_failed(bs: BlockSolve, rtol: float, what: str, economy) -> None:
    """Raise :class:`ConvergenceError` naming the plans that missed the tolerance."""
    if bs.converged.all():
        return
    bad = np.flatnonzero(~bs.converged)
    worst = float(np.nanmax(np.where(np.isfinite(bs.residual[bad]), bs.residual[bad], np.inf)))
    rho = economy.productivity.upper
    pred = neumann_iterations(rho, rtol)
    if pred is not None and pred <= NEUMANN_MAX_ITERATIONS // 10:
        bicg = "raise maxiter (method=bigplan.BiCGSTAB(maxiter=...)) or try method='neumann' (monotone, " \
               f"about {pred:,} iterations here)"
    else:
        bicg = "raise maxiter (method=bigplan.BiCGSTAB(maxiter=...))" + (
            "" if economy.n > 20_000 else f", or use method='direct' (dense LU, exact for n={economy.n})"
        ) + "; the Neumann series would need too many iterations at this spectral radius"
    finished64 = any("finished by float64" in note for note in bs.notes)
    codes = bs.status[bad] if bs.status is not None else np.full(bad.size, int(Status.MAX_ITERATIONS))
    short = bool((codes != int(Status.MAX_ITERATIONS)).all())  # every failure stopped short of the limit
    if bs.method in ("bicgstab", "refined") and short and (finished64 or bs.method == "bicgstab"):
        # float64 itself stalled short of the limit: more iterations or another Krylov method will not help
        cond = 1.0 / max(1.0 - rho, 1e-300) if math.isfinite(rho) and rho < 1 else float("inf")
        floor = max(worst, 1e-15)
        bicg = (
            f"the residual stalled at {worst:.3g} in float64 too: at this conditioning (1/(1 - radius) about "
            f"{cond:.3g}) float64 carries no more digits; loosen rtol to about {_round_up(floor * 10):g}"
            + ("" if economy.n > 20_000 else f", or use method='direct' (dense LU, n={economy.n})")
        )
    hint = {
        "bicgstab": bicg,
        "neumann": "raise maxiter, or use method='bicgstab'",
        "direct": "the dense system is ill-conditioned; check for products with column sums near 1",
        "refined": bicg if finished64 else "float32 cannot carry these plans (badly scaled demand or a nearly "
        "unproductive economy); use method='bicgstab', float64 throughout",
    }.get(bs.method, "raise maxiter")
    raise ConvergenceError(
        f"{what}: {bad.size} of {bs.converged.size} plans did not reach rtol={rtol:g} with method "
        f"'{bs.method}' after {int(bs.iterations.max())} iterations (worst relative residual {worst:.3g}); "
        f"{hint}. The spectral radius of A is <= {_radius(rho)}: the closer to 1, the harder the solve.",
        residual=bs.residual,
        iterations=int(bs.iterations.max()),
    )
