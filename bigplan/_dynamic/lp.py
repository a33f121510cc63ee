"""``method="lp"``: the Dorfman-Samuelson-Solow inequality form, solved with HiGHS in two phases.

Variables (periods stacked): outputs ``x``, new capacity ``N``, capacity ``K``
(``T + 1`` periods), capacity shortfalls ``s`` and labour shortfalls ``u``.
Phase 1 minimises the total shortfall; phase 2 the labour used (weighted
gross output without labour coefficients) at that shortfall.  The outputs are
then polished by one static solve for the LP's investment.  HiGHS runs through ``highspy``
(time limit, Ctrl-C cancels the solve).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._highs import new_highs, run_interruptible
from ..errors import ConvergenceError
from .common import solve
from .expectations import expectation_shift
from .problem import PlanOutcome, PlanProblem, Run

__all__ = ["solve_lp"]


@dataclass(frozen=True, eq=False)
class _LP:
    """The linear programme: ``A_ub v <= b_ub``, ``A_eq v = b_eq``, ``bounds``; offsets of each block in ``v``."""

    A_ub: sp.csr_matrix
    b_ub: np.ndarray
    A_eq: sp.csr_matrix
    b_eq: np.ndarray
    bounds: np.ndarray
    offsets: dict
    shortfall: np.ndarray  # the phase-1 objective: 1 on every shortfall variable


def solve_lp(problem: PlanProblem) -> PlanOutcome:
    """The ``"lp"`` plan of ``problem`` (on the host)."""
    t0 = time.perf_counter()
    p = problem
    run = Run.of(problem)
    n, T = p.n, p.horizon
    K1 = p.initial_capacity
    g_term, g_exp = p.terminal_growth, p.expected_growth
    if K1 is None:
        # start on the balanced path: K_1 = (I - A - B diag(g + delta))^-1 c_1.  (Taking K_1 = x_1 would let
        # the LP buy capacity for later periods by over-producing in period 1, without investment.)
        ex = expectation_shift(p, run)
        g_term, g_exp = ex.terminal_growth, ex.growth
        K1 = np.maximum(solve(ex.economy, p.consumption[:, :1], backend="numpy", method=p.solver,
                              rtol=p.rtol)[:, 0], 0.0)
        run.notes.append("no initial capacity given: K_1 taken as the balanced requirement of period 1")
    lp = _build(p, K1)
    r1 = _linprog(p, lp.shortfall, A_ub=lp.A_ub, b_ub=lp.b_ub, A_eq=lp.A_eq, b_eq=lp.b_eq, bounds=lp.bounds)
    if r1.status != 0:
        hint = (f"; raise time_limit= (now {p.time_limit:g} s) or use method='capacity'" if r1.status == 1 else "")
        raise ConvergenceError(f"method='lp': HiGHS failed in phase 1 (status {r1.status}: {r1.message}){hint}")
    short = float(r1.fun)
    # phase 2: least labour (or least gross output) with that shortfall
    Lab = p.economy.labour
    w = np.ones(n) if Lab is None else Lab.astype(np.float64).sum(axis=0)
    w = w + 1e-6 * max(float(w.mean()), 1e-300)
    ox, oN = lp.offsets["x"], lp.offsets["N"]
    c2 = np.zeros(lp.shortfall.size)
    c2[ox:oN] = np.tile(w, T)
    A_ub2 = sp.vstack([lp.A_ub, sp.csr_matrix(lp.shortfall[None, :])], format="csr")
    b_ub2 = np.concatenate([lp.b_ub, [short * (1 + 1e-7) + 1e-9]])
    r2 = _linprog(p, c2, A_ub=A_ub2, b_ub=b_ub2, A_eq=lp.A_eq, b_eq=lp.b_eq, bounds=lp.bounds)
    res = r2 if r2.status == 0 else r1
    if r2.status != 0:
        run.notes.append(f"phase 2 (least labour) failed ({r2.message}); returning the least-shortfall plan")
    v = res.x
    N = np.maximum(v[oN : oN + n * T].reshape(T, n).T, 0.0)
    if short > 1e-7:
        run.notes.append(
            f"the targets cannot be met with the capacity and labour given (least total shortfall {short:.6g})"
        )
    # polish: exact outputs for the LP's investment, capacity rebuilt from it
    X = solve(p.economy, p.consumption + p.capital.astype(np.float64) @ N, backend="numpy", method=p.solver,
              rtol=p.rtol, x0=v[ox : ox + n * T].reshape(T, n).T.copy(), tally=run.tally)
    np.maximum(X, 0.0, out=X)
    keep = 1.0 - p.depreciation
    K = np.empty((n, T + 1))
    K[:, 0] = K1
    for t in range(T):
        K[:, t + 1] = keep * K[:, t] + N[:, t]
    ev = run.tally.evidence(converged=True, method="lp", seconds=time.perf_counter() - t0, notes=run.notes)
    return PlanOutcome(X, N, K, sweeps=1, solves=run.tally.solves, terminal_growth=g_term, expected_growth=g_exp,
                       evidence=ev)


@dataclass(frozen=True)
class _Result:
    """What :func:`_linprog` returns, in :func:`scipy.optimize.linprog`'s terms (status 0 optimal, 1 limit,
    2 infeasible, 3 unbounded, 4 other)."""

    status: int
    message: str
    fun: float
    x: np.ndarray | None


_MESSAGES = {"kTimeLimit": "time limit reached", "kIterationLimit": "iteration limit reached",
             "kInfeasible": "the problem is infeasible", "kUnbounded": "the problem is unbounded",
             "kInterrupt": "interrupted"}
_STATUS = {"kOptimal": 0, "kTimeLimit": 1, "kIterationLimit": 1, "kInfeasible": 2, "kUnbounded": 3,
           "kUnboundedOrInfeasible": 2}


def _new_highs():
    """A silent :class:`highspy.Highs` (see :mod:`bigplan._highs`)."""
    return new_highs()


def _scipy_linprog(p: PlanProblem, c, **kw) -> _Result:  # pragma: no cover - only without highspy
    """The same LP through :func:`scipy.optimize.linprog` (HiGHS inside SciPy), in a worker thread.

    Without ``highspy`` a running solve cannot be cancelled: Ctrl-C returns at
    once, and the abandoned solve stops at its time limit.
    """
    import warnings

    from scipy.optimize import linprog

    options = {} if not math.isfinite(p.time_limit) else {"time_limit": float(p.time_limit)}
    box: dict = {}

    def work():
        try:
            box["result"] = linprog(c, method="highs", options=options, **kw)
        except Exception as exc:  # noqa: BLE001 -- handed to the caller's thread, re-raised there
            box["error"] = exc

    warnings.warn("highspy is not installed: an LP solve cannot be cancelled with Ctrl-C (pip install "
                  "'bigplan[lp]')", RuntimeWarning, stacklevel=3)
    worker = threading.Thread(target=work, name="bigplan-linprog", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.05)
    if "error" in box:
        raise box["error"]
    r = box["result"]
    msg = "time limit reached" if r.status == 1 else r.message
    return _Result(status=int(r.status), message=msg, fun=float(r.fun) if r.x is not None else math.nan, x=r.x)


def _linprog(p: PlanProblem, c, *, A_ub, b_ub, A_eq, b_eq, bounds) -> _Result:
    """Minimise ``c v`` s.t. ``A_ub v <= b_ub``, ``A_eq v = b_eq``, ``bounds`` with HiGHS (``highspy``).

    The options are those :func:`scipy.optimize.linprog` (``method="highs"``)
    passes, so the plans are the ones it gave; ``p.time_limit`` bounds the
    solve.  The solve runs in HiGHS's worker thread while this thread waits in
    short slices: Ctrl-C (``KeyboardInterrupt``) cancels the solve through
    HiGHS's interrupt callbacks, waits for it to stop (at its next iteration)
    and re-raises, so nothing goes on in the background.
    """
    try:
        import highspy
    except ImportError:  # pragma: no cover - the lp extra installs highspy; scipy's HiGHS still solves
        return _scipy_linprog(p, c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds)
    A = sp.vstack([A_ub, A_eq], format="csc")
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.col_cost_ = np.asarray(c, dtype=np.float64)
    lo, hi = np.asarray(bounds[:, 0], dtype=np.float64), np.asarray(bounds[:, 1], dtype=np.float64)
    lp.col_lower_ = np.where(np.isinf(lo), -inf, lo)
    lp.col_upper_ = np.where(np.isinf(hi), inf, hi)
    lp.row_lower_ = np.concatenate([np.full(A_ub.shape[0], -inf), b_eq])
    lp.row_upper_ = np.concatenate([b_ub, b_eq])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    h = _new_highs()
    for name, value in (("presolve", "on"), ("solver", "choose"), ("simplex_strategy", 1),
                        ("dual_feasibility_tolerance", 1e-7), ("primal_feasibility_tolerance", 1e-7),
                        ("ipm_optimality_tolerance", 1e-8)):
        h.setOptionValue(name, value)
    if math.isfinite(p.time_limit):
        h.setOptionValue("time_limit", float(p.time_limit))
    h.passModel(lp)
    run_interruptible(h)
    name = h.getModelStatus().name
    status = _STATUS.get(name, 4)
    x = np.asarray(h.getSolution().col_value, dtype=np.float64) if status in (0, 1) else None
    fun = float(h.getInfo().objective_function_value) if x is not None else math.nan
    return _Result(status=status, message=f"{_MESSAGES.get(name, 'HiGHS model status')} ({name})", fun=fun, x=x)


def _build(p: PlanProblem, K1: np.ndarray) -> _LP:
    """Balance, capacity accumulation, capacity and labour limits, terminal rule, as one sparse LP."""
    n, T = p.n, p.horizon
    A = p.economy.A.astype(np.float64)
    B = p.capital.astype(np.float64)
    Lab = p.economy.labour
    supply = p.labour_supply
    m = 0 if (Lab is None or supply is None) else Lab.shape[0]
    keep = 1.0 - p.depreciation
    nx, nN, nK, ns, nu = n * T, n * T, n * (T + 1), n * T, m * T
    ox, oN, oK, os_, ou = 0, nx, nx + nN, nx + nN + nK, nx + nN + nK + ns
    nv = ou + nu
    I_n = sp.identity(n, format="csr")
    I_T = sp.identity(T, format="csr")
    S0 = sp.csr_matrix((np.ones(T), (np.arange(T), np.arange(T))), shape=(T, T + 1))
    S1 = sp.csr_matrix((np.ones(T), (np.arange(T), np.arange(1, T + 1))), shape=(T, T + 1))
    widths = [(off, w) for off, w in ((ox, nx), (oN, nN), (oK, nK), (os_, ns), (ou, nu)) if w > 0]

    def row(blocks):
        """Place blocks ``{offset: matrix}`` side by side in a row of ``nv`` columns."""
        rows = next(iter(blocks.values())).shape[0]
        parts = [sp.csr_matrix(blocks[off]) if off in blocks else sp.csr_matrix((rows, w)) for off, w in widths]
        return sp.hstack(parts, format="csr")

    # equalities: balance; capacity accumulation
    eq = [
        row({ox: sp.kron(I_T, I_n - A), oN: sp.kron(I_T, -B)}),
        row({oK: sp.kron(S1, I_n) - sp.kron(S0, sp.diags(keep)), oN: sp.kron(I_T, -I_n)}),
    ]
    beq = [p.consumption.T.ravel(), np.zeros(n * T)]
    # inequalities: x_t - K_t - s_t <= 0; terminal; labour
    ub = [row({ox: sp.kron(I_T, I_n), oK: -sp.kron(S0, I_n), os_: -sp.kron(I_T, I_n)})]
    bub = [np.zeros(n * T)]
    if p.terminal in ("growth", "replace"):
        eT = sp.csr_matrix((np.ones(1), ([0], [T - 1])), shape=(1, T))
        eK = sp.csr_matrix((np.ones(1), ([0], [T])), shape=(1, T + 1))
        g = p.terminal_growth if p.terminal == "growth" else 0.0
        gg = np.broadcast_to(np.asarray(g, dtype=np.float64), (n,))
        ub.append(row({ox: sp.kron(eT, sp.diags(1.0 + gg)), oK: -sp.kron(eK, I_n)}))
        bub.append(np.zeros(n))
    if m:
        ub.append(row({ox: sp.kron(I_T, sp.csr_matrix(Lab.astype(np.float64))), ou: -sp.identity(nu)}))
        bub.append(supply.ravel())
    bounds = np.zeros((nv, 2))
    bounds[:, 1] = np.inf
    bounds[oK : oK + n, 0] = K1
    bounds[oK : oK + n, 1] = K1
    if p.terminal == "none":
        bounds[oN + n * (T - 1) : oN + n * T, 1] = 0.0
    c1 = np.zeros(nv)
    c1[os_:] = 1.0
    return _LP(
        A_ub=sp.vstack(ub, format="csr"), b_ub=np.concatenate(bub), A_eq=sp.vstack(eq, format="csr"),
        b_eq=np.concatenate(beq), bounds=bounds, offsets={"x": ox, "N": oN, "K": oK, "s": os_, "u": ou},
        shortfall=c1,
    )
