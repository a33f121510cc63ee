"""Activities with capacities, several scarce inputs or joint production: a linear programme.

minimise ``w . L z`` over activities ``z`` subject to ``(O - A) z >= y`` (net output covers final demand),
``0 <= z <= capacity`` and ``L z <= supply``.  Solved with HiGHS (``highspy``, interior point with crossover,
a time limit, cancelled on Ctrl-C) or with the first-order PDLP method of MPAX (JAX); then *polished*: each
product's main process is fixed, the other activities kept, and one static solve makes net output meet demand
exactly.  Without capacities, supplies or joint production, ``solver="auto"`` uses the non-substitution theorem
instead (policy iteration and one static solve), which is exact and far faster.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._evidence import Evidence, WithEvidence
from .._highs import new_highs, run_interruptible
from .._inputs import product_vector
from .._options import check_bool, check_choice, check_real, check_rtol
from ..errors import (
    ConvergenceError,
    InfeasiblePlanError,
    InvalidTechnologyError,
    MissingDependencyError,
    NotProductiveError,
)
from ..static import solve_output
from .choice import choose_technique, combined_labour, group_min
from .technology import ProcessAxis, Technology, limit_vector

__all__ = ["plan_activities", "ActivityPlan", "LPModel", "build_model", "solve_model", "limit_vector"]

_SOLVERS = ("auto", "highs", "pdlp", "choice")


@dataclass(frozen=True, eq=False)
class LPModel:
    """``min cost . z`` s.t. ``row_lo <= G z <= row_hi``, ``0 <= z <= col_hi``; rows: n products, then resources."""

    G: Any
    row_lo: np.ndarray
    row_hi: np.ndarray
    cost: np.ndarray
    col_hi: np.ndarray
    n: int


@dataclass(frozen=True, eq=False)
class LPOutcome:
    status: str
    z: np.ndarray | None
    row_dual: np.ndarray | None
    col_dual: np.ndarray | None
    iterations: int
    accuracy: float = float("nan")


def build_model(technology: Technology, demand: np.ndarray, capacity, supply, lw: np.ndarray) -> LPModel:
    """The sparse LP of :func:`plan_activities` (resource rows only for finite supplies)."""
    import scipy.sparse as sp

    N = technology.net_output_matrix()
    rows, lo, hi = [N], [demand], [np.full(technology.n, np.inf)]
    if supply is not None:
        keep = np.flatnonzero(np.isfinite(supply))
        if keep.size:
            rows.append(sp.csc_matrix(technology.labour[keep]))
            lo.append(np.full(keep.size, -np.inf))
            hi.append(supply[keep])
    cap = np.full(technology.n_processes, np.inf) if capacity is None else capacity
    return LPModel(G=sp.vstack(rows, format="csc"), row_lo=np.concatenate(lo), row_hi=np.concatenate(hi),
                   cost=lw, col_hi=cap, n=technology.n)


def _highspy():
    try:
        import highspy
    except ImportError:
        raise MissingDependencyError("the LP needs HiGHS: pip install 'bigplan[lp]' (or pip install highspy)") from None
    return highspy


def _solve_highs(model: LPModel, time_limit: float) -> LPOutcome:
    highspy = _highspy()
    G = model.G
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = G.shape[1], G.shape[0]
    lp.col_cost_ = model.cost
    lp.col_lower_ = np.zeros(G.shape[1])
    lp.col_upper_ = np.where(np.isfinite(model.col_hi), model.col_hi, highspy.kHighsInf)
    lp.row_lower_ = np.where(np.isfinite(model.row_lo), model.row_lo, -highspy.kHighsInf)
    lp.row_upper_ = np.where(np.isfinite(model.row_hi), model.row_hi, highspy.kHighsInf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = G.indptr.astype(np.int32)
    lp.a_matrix_.index_ = G.indices.astype(np.int32)
    lp.a_matrix_.value_ = G.data
    h = new_highs()
    h.setOptionValue("solver", "ipm" if G.shape[1] > 2000 else "choose")
    if math.isfinite(time_limit):
        h.setOptionValue("time_limit", float(time_limit))
    h.passModel(lp)
    run_interruptible(h)  # Ctrl-C cancels the solve at HiGHS's next iteration, waits, re-raises
    ms = h.getModelStatus()
    S = highspy.HighsModelStatus
    info = h.getInfo()
    its = int(max(info.simplex_iteration_count, 0) + max(info.ipm_iteration_count, 0))
    if ms == S.kOptimal:
        sol = h.getSolution()
        return LPOutcome("optimal", np.asarray(sol.col_value), np.asarray(sol.row_dual), np.asarray(sol.col_dual),
                         its)
    status = {S.kInfeasible: "infeasible", S.kTimeLimit: "time limit", S.kUnbounded: "unbounded",
              S.kUnboundedOrInfeasible: "infeasible", S.kInterrupt: "interrupted",
              S.kIterationLimit: "iteration limit"}.get(ms, f"error: {h.modelStatusToString(ms)}")
    return LPOutcome(status, None, None, None, its)


def _solve_pdlp(model: LPModel, tol: float, time_limit: float) -> LPOutcome:
    try:
        import jax
        import jax.numpy as jnp
        from jax.experimental.sparse import BCOO
        from mpax import create_lp, raPDHG
    except ImportError:
        raise MissingDependencyError("solver='pdlp' needs JAX and MPAX: pip install 'bigplan[jax]' mpax") from None
    import scipy.sparse as sp

    if not jax.config.read("jax_enable_x64"):
        raise MissingDependencyError("solver='pdlp' needs 64-bit JAX: jax.config.update('jax_enable_x64', True) "
                                     "before creating arrays")
    G = model.G.tocsr()
    lo_rows = np.flatnonzero(np.isfinite(model.row_lo))
    hi_rows = np.flatnonzero(np.isfinite(model.row_hi))
    Gi = sp.vstack([G[lo_rows], -G[hi_rows]], format="coo")
    h = np.concatenate([model.row_lo[lo_rows], -model.row_hi[hi_rows]])
    Gb = BCOO((jnp.asarray(Gi.data), jnp.asarray(np.column_stack([Gi.row, Gi.col]))), shape=Gi.shape)
    Ae = BCOO((jnp.zeros(0), jnp.zeros((0, 2), dtype=jnp.int32)), shape=(0, Gi.shape[1]))
    lp = create_lp(jnp.asarray(model.cost), Ae, jnp.zeros(0), Gb, jnp.asarray(h), jnp.zeros(Gi.shape[1]),
                   jnp.asarray(model.col_hi))
    res = raPDHG(eps_abs=tol, eps_rel=tol, verbose=False).optimize(lp)
    code = int(res.termination_status)
    z = np.asarray(res.primal_solution, dtype=np.float64)
    y = np.asarray(res.dual_solution, dtype=np.float64)
    row_dual = np.zeros(G.shape[0])
    row_dual[lo_rows] += y[: lo_rows.size]
    row_dual[hi_rows] -= y[lo_rows.size:]
    acc = float(max(res.relative_primal_residual_norm, res.relative_dual_residual_norm, res.relative_optimality_gap))
    status = {2: "optimal", 3: "infeasible", 4: "unbounded", 5: "time limit", 6: "iteration limit"}.get(
        code, f"error: PDLP termination status {code}")
    if status != "optimal":
        return LPOutcome(status, None, None, None, int(res.iteration_count), acc)
    col_dual = model.cost - G.T @ row_dual
    return LPOutcome(status, z, row_dual, col_dual, int(res.iteration_count), acc)


def solve_model(model: LPModel, solver: str, *, pdlp_tol: float = 1e-6, time_limit: float = 600.0) -> LPOutcome:
    """Solve ``model`` with ``"highs"`` or ``"pdlp"`` (to relative KKT error ``pdlp_tol``)."""
    return _solve_pdlp(model, pdlp_tol, time_limit) if solver == "pdlp" else _solve_highs(model, time_limit)


def _polish(technology: Technology, z: np.ndarray, demand: np.ndarray, model: LPModel, rtol: float, notes: list):
    """Fix each product's main process, keep the other activities, and meet demand exactly by one static solve.

    The main process of a product is an active one with the most room below its capacity.  A main process that
    the exact solve pushes past its capacity (a first-order solution is only near its bounds) is fixed at its
    capacity and the product's next process takes over; a product the other processes over-make is left to its
    main process; a few rounds settle it (else the LP's activities are returned, unpolished, and said so).
    """
    if technology.joint:
        notes.append("not polished: joint production has no square economy per choice")
        return z
    cap = model.col_hi
    finite = np.isfinite(cap)
    z = np.minimum(np.maximum(z, 0.0), cap)  # a first-order solution may overstep its bounds a little
    scale = max(float(z.max(initial=0.0)), 1e-300)
    N = technology.net_output_matrix()
    fixed = np.zeros(z.size, dtype=bool)
    z0 = z
    for _ in range(6):
        room = np.ones_like(z)
        room[finite] = np.minimum((cap[finite] - z[finite]) / np.maximum(cap[finite], 1.0), 1.0)
        key = np.where(z > 1e-12 * scale, -(room + 1e-6 * z / scale), 2.0 - room)
        key[fixed] = np.inf
        main = group_min(technology, key)[0]
        if (main >= z.size).any():
            notes.append("not polished: a product has every process at its capacity")
            return z0
        others = z.copy()
        others[main] = 0.0
        try:
            econ = technology.economy(main)
        except NotProductiveError:
            notes.append("not polished: the main processes of the LP solution do not form a productive economy")
            return z0
        x = np.asarray(solve_output(econ, demand - N @ others, rtol=rtol, backend="numpy",
                                    method="bicgstab").output, dtype=np.float64)
        neg = np.flatnonzero(x < -1e-9 * scale)
        if neg.size:  # other processes over-make these products: let the main processes make them alone
            drop = np.isin(technology.makes, neg) & (others > 0)
            z = z.copy()
            z[drop] = 0.0
            continue
        out = others
        out[main] = np.maximum(x, 0.0)
        over = main[finite[main] & (out[main] > cap[main] * (1 + 1e-9) + 1e-12 * scale)]
        if not over.size:
            break
        fixed[over] = True
        z = out
        z[over] = cap[over]
    else:
        notes.append("not polished: the exact solve still went negative or past a capacity after 6 rounds")
        return z0
    if model.G.shape[0] > model.n:
        used = model.G[model.n:] @ out
        hi = model.row_hi[model.n:]
        if (used > hi * (1 + 1e-7) + 1e-12).any():
            notes.append("not polished: the exact solve exceeded a resource supply")
            return z0
    if int(np.count_nonzero(others)):
        notes.append(f"polished: {int(np.count_nonzero(others))} secondary activities kept from the LP")
    return out


@dataclass(frozen=True, eq=False, repr=False)
class ActivityPlan(WithEvidence):
    """Activity levels that meet final demand with the least weighted primary input, and their prices.

    Attributes
    ----------
    activity : numpy.ndarray (P,) or None
        Level of each process (``None`` when not optimal).
    net_output : numpy.ndarray (n,) or None
        ``(O - A) z``: at least the final demand.
    primary : numpy.ndarray (m,) or None
        Each primary input used, ``L z``.
    product_prices : numpy.ndarray (n,) or None
        Shadow price of each product (labour per extra unit of final demand).
    capacity_prices : numpy.ndarray (P,) or None
        Labour saved per extra unit of each process's capacity (0 where capacity does not bind).
    resource_prices : numpy.ndarray (m,) or None
        Labour saved per extra unit of each resource's supply.
    binding : pandas.DataFrame
        The capacities and resources at their limits: ``kind, name, limit, used, price``.
    solver_status : str
        ``"optimal"``, ``"infeasible"``, ``"time limit"``, ``"unbounded"``, ``"interrupted"``, ``"inaccurate"``
        (the solver's answer misses demand or a limit beyond tolerance even after polishing) or ``"error: ..."``.
    objective : float
        Weighted primary input used (``nan`` when not optimal).
    solver : str
        ``"choice"`` (non-substitution), ``"highs"`` or ``"pdlp"``.
    capacity : numpy.ndarray (P,) or None
        The activity limits used (``inf``: none).
    """

    activity: Any
    net_output: Any
    primary: Any
    product_prices: Any
    capacity_prices: Any
    resource_prices: Any
    binding: pd.DataFrame
    solver_status: str
    objective: float
    solver: str
    evidence: Evidence
    technology: Technology
    capacity: Any = None

    @property
    def optimal(self) -> bool:
        """Whether the solver found an optimum (see ``solver_status``)."""
        return self.solver_status == "optimal"

    def to_frame(self) -> pd.DataFrame:
        """Activities: process, the product it makes, activity, capacity, slack."""
        t = self.technology
        cap = self.capacity if self.capacity is not None else np.full(t.n_processes, np.inf)
        z = self.activity if self.activity is not None else np.full(t.n_processes, np.nan)
        return pd.DataFrame({"product": t.product_labels(t.makes), "activity": z, "capacity": cap,
                             "slack": cap - z}, index=pd.Index(t.processes, name="process"))

    def __repr__(self) -> str:
        return (f"<ActivityPlan {self.solver_status}, objective={self.objective:.6g}, solver={self.solver}, "
                f"{self.seconds:.3g} s>")


def _binding(technology: Technology, z, cap, supply, cap_price, res_price) -> pd.DataFrame:
    rows = []
    if cap is not None:
        at = np.flatnonzero(np.isfinite(cap) & (z >= cap * (1 - 1e-7) - 1e-12))
        rows += [("capacity", lab, cap[p], z[p], cap_price[p]) for p, lab in zip(at, technology.process_labels(at))]
    if supply is not None:
        used = technology.labour @ z
        for k in np.flatnonzero(np.isfinite(supply) & (used >= supply * (1 - 1e-7) - 1e-12)):
            rows.append(("resource", technology.labour_names[k], supply[k], used[k], res_price[k]))
    return pd.DataFrame(rows, columns=["kind", "name", "limit", "used", "price"])


def plan_activities(technology: Technology, final_demand: Any, *, capacity: Any = None, supply: Any = None,
                    weights: Any = None, solver: str = "auto", rtol: float = 1e-9, pdlp_tol: float = 1e-6,
                    time_limit: float = 600.0, raise_on_failure: bool = True) -> ActivityPlan:
    """The activities that meet final demand with the least weighted primary input, within capacity and supply.

    Parameters
    ----------
    technology : Technology
    final_demand : array_like (n,), pandas.Series or mapping by product label
    capacity : array_like (P,), Series or mapping by process label, optional
        Upper bound of each process's activity (default the technology's own; ``inf`` or left out: none).
    supply : array_like (m,) or mapping by labour name, optional
        Available amount of each primary input (``inf``: none).
    weights : array_like (m,), optional
        Weight of each primary input in the objective (required when ``m > 1``).
    solver : {"auto", "highs", "pdlp", "choice"}
        ``"auto"``: the non-substitution choice and a static solve (``"choice"``) when there are no capacities,
        supplies or joint production, else HiGHS.  ``"pdlp"``: MPAX's first-order method on JAX.
    rtol : float, default 1e-9
        Tolerance of the polishing static solve: net output meets demand to ``rtol``.
    pdlp_tol : float, default 1e-6
        Relative KKT tolerance of the first-order solver (its accuracy before polishing).
    time_limit : float, default 600
        Seconds the LP solver may take.
    raise_on_failure : bool, default True
        Raise when no optimal plan is found; ``False`` returns the result with its ``status``.

    Returns
    -------
    ActivityPlan

    Raises
    ------
    InfeasiblePlanError
        Demand cannot be met within capacity and supply (``raise_on_failure=True``).
    ConvergenceError
        The solver stopped without an optimum (time limit, numerical trouble), with its status.
    MissingDependencyError
        highspy (``pip install 'bigplan[lp]'``) or MPAX not installed.
    InvalidTechnologyError
        Negative capacity or supply, bad weights.

    Examples
    --------
    >>> from bigplan.activity import Technology, plan_activities
    >>> t = Technology([[0.1, 0.3, 0.0], [0.2, 0.0, 0.1]], makes=[0, 0, 1], labour=[1.0, 0.5, 2.0])
    >>> p = plan_activities(t, [1.0, 1.0], capacity=[10.0, 0.5, 10.0])
    >>> p.solver_status, [round(float(a), 4) for a in p.activity]
    ('optimal', [0.7222, 0.5, 1.2716])
    """
    t0 = time.perf_counter()
    if not isinstance(technology, Technology):
        raise InvalidTechnologyError(
            f"technology must be a bigplan.activity.Technology, got {type(technology).__name__}")
    solver = check_choice(solver, "solver", _SOLVERS)
    rtol = check_rtol(rtol)
    pdlp_tol = check_real(pdlp_tol, "pdlp_tol", lo=0.0, hi=1.0, lo_open=True)
    time_limit = check_real(time_limit, "time_limit", lo=0.0, lo_open=True, allow_inf=True)
    check_bool(raise_on_failure, "raise_on_failure")
    y = product_vector(technology, final_demand, "final demand")
    cap = limit_vector(technology.process_axis, capacity, "capacity") if capacity is not None else (
        None if technology.capacity is None else np.asarray(technology.capacity))
    sup = limit_vector(ProcessAxis(len(technology.labour_names), pd.Index(technology.labour_names)), supply, "supply")
    w, lw = combined_labour(technology, weights)
    limited = (cap is not None and np.isfinite(cap).any()) or (sup is not None and np.isfinite(sup).any())
    if solver == "auto":
        solver = "highs" if (limited or technology.joint) else "choice"
    if solver == "choice" and (limited or technology.joint):
        raise InvalidTechnologyError("solver='choice' (the non-substitution theorem) needs no capacity, no supply "
                                     "and no joint production; use solver='highs'")
    notes: list = []
    P, m = technology.n_processes, technology.labour.shape[0]
    if solver == "choice":
        ch = choose_technique(technology, weights=w, rtol=min(rtol, 1e-10))
        x = np.asarray(solve_output(ch.economy, y, rtol=rtol, backend="numpy", method="bicgstab").output,
                       dtype=np.float64)
        z = np.zeros(P)
        z[ch.process] = np.maximum(x, 0.0)
        out = dict(row=np.asarray(ch.values), capp=np.zeros(P), resp=np.zeros(m), its=ch.iterations, status="optimal")
        notes.append("non-substitution: policy iteration and one static solve (no capacity or supply limits)")
        model = None
    else:
        model = build_model(technology, y, cap, sup, lw)
        res = solve_model(model, solver, pdlp_tol=pdlp_tol, time_limit=time_limit)
        if res.status != "optimal":
            if raise_on_failure:
                if res.status == "infeasible":
                    raise InfeasiblePlanError(
                        f"plan_activities: final demand cannot be met within the capacity and supply given "
                        f"({solver}: {res.status}); check_proposals(...) shows what binds and by how much")
                raise ConvergenceError(f"plan_activities: {solver} stopped without an optimum (status: {res.status}); "
                                       "raise time_limit= or try the other solver")
            ev = Evidence.of(converged=False, residual=[np.nan], iterations=res.iterations, backend="numpy",
                             method=solver, seconds=time.perf_counter() - t0, notes=[f"status: {res.status}"])
            return ActivityPlan(None, None, None, None, None, None, pd.DataFrame(
                columns=["kind", "name", "limit", "used", "price"]), res.status, float("nan"), solver, ev, technology,
                cap)
        if solver == "pdlp":
            notes.append(f"PDLP reached relative KKT error {res.accuracy:.2e} before polishing")
        z = _polish(technology, res.z, y, model, rtol, notes)
        rd = res.row_dual
        capp = np.maximum(-res.col_dual, 0.0) if cap is not None else np.zeros(P)
        if cap is not None:
            capp[~(z >= cap * (1 - 1e-7) - 1e-12)] = 0.0
        resp = np.zeros(m)
        if sup is not None:
            keep = np.flatnonzero(np.isfinite(sup))
            resp[keep] = np.maximum(-rd[technology.n:], 0.0)
        out = dict(row=rd[: technology.n], capp=capp, resp=resp, its=res.iterations, status="optimal")
        if not (limited or technology.joint):  # the non-substitution optimum is known: cross-check against it
            ch = choose_technique(technology, weights=w)
            ref = float(ch.values @ y)
            gap = abs(float(lw @ z) - ref) / max(abs(ref), 1e-300)
            notes.append(f"cross-check: {solver} objective within {gap:.2e} (relative) of the non-substitution "
                         "optimum")
    N = technology.net_output_matrix()
    net = N @ z
    short = np.maximum(y - net, 0.0)
    resid = float(np.linalg.norm(short) / max(np.linalg.norm(y), 1e-300))
    over = 0.0
    if cap is not None:
        fin = np.isfinite(cap)
        over = max(over, float(np.max((z[fin] - cap[fin]) / np.maximum(cap[fin], 1.0), initial=0.0)))
    if sup is not None:
        fin = np.isfinite(sup)
        used = technology.labour[fin] @ z
        over = max(over, float(np.max((used - sup[fin]) / np.maximum(sup[fin], 1.0), initial=0.0)))
    ok = resid <= max(rtol, 1e-9) * 10 and over <= 1e-6
    if not ok:
        msg = (f"net output falls short of demand by a relative {resid:.3g} and limits are exceeded by a relative "
               f"{over:.3g}")
        if raise_on_failure:
            raise ConvergenceError(f"plan_activities: {solver} ended inaccurate: {msg}; lower pdlp_tol or use "
                                   "solver='highs'", residual=np.array([resid]), iterations=out["its"])
        notes.append(msg)
        out["status"] = "inaccurate"
    ev = Evidence.of(converged=ok, residual=[resid], iterations=out["its"], backend="numpy", method=solver,
                     seconds=time.perf_counter() - t0, notes=notes)
    binding = _binding(technology, z, cap, sup, out["capp"], out["resp"])
    return ActivityPlan(activity=z, net_output=net, primary=technology.labour @ z, product_prices=out["row"],
                        capacity_prices=out["capp"], resource_prices=out["resp"], binding=binding,
                        solver_status=out["status"], objective=float(lw @ z), solver=solver, evidence=ev,
                        technology=technology, capacity=cap)
