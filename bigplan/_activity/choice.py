"""The labour-minimising choice of technique by policy iteration (the non-substitution theorem).

With no capacity limits and no joint production, the choice that minimises the
labour needed for *any* final demand is the one whose labour values are least
(Samuelson 1951; Koopmans 1951), and it does not depend on demand.  Policy
iteration finds it: value the current choice (``v (I - A_c) = l_c``, one
transposed static solve on any backend), price every process at
``cost_p = w . l_p + v . a_p``, and give each product its cheapest process;
repeat until no process is cheaper than the one in use by more than the
tolerance.  Each step is one static solve plus one sparse product and a
per-product minimum over processes (``np.minimum.reduceat`` over the processes
sorted by product): no Python loop over products.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import connected_components

from .._evidence import Evidence, WithEvidence
from .._options import check_int, check_rtol
from ..economy import Economy
from ..spectral import spectral_radius_bounds
from ..errors import ConvergenceError, InvalidTechnologyError, NotProductiveError, ShapeError
from ..static import labour_values
from .technology import Technology

__all__ = ["choose_technique", "ChoiceResult", "combined_labour", "group_min"]


def combined_labour(technology: Technology, weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(w, w @ L)``: the weights (checked) and the weighted primary input of every process."""
    L = technology.labour
    m = L.shape[0]
    if weights is None:
        if m > 1:
            raise InvalidTechnologyError(
                f"the technology has {m} labour kinds {list(technology.labour_names)}: pass weights= "
                f"(one number per kind, shape ({m},)) to combine them into one cost")
        w = np.ones(1)
    else:
        w = np.array(weights, dtype=np.float64, ndmin=1) if not np.iscomplexobj(weights) else None
        if w is None or w.shape != (m,):
            raise ShapeError(f"weights must have shape ({m},): one number per labour kind "
                             f"{list(technology.labour_names)}, got {np.shape(weights)}")
        if not np.isfinite(w).all() or (w < 0).any() or not (w > 0).any():
            raise InvalidTechnologyError(f"weights must be finite, >= 0 and not all 0, got {w.tolist()}")
    return w, w @ L


def group_min(technology: Technology, cost: np.ndarray, exclude: np.ndarray | None = None):
    """Per product: the cheapest process and its cost (``exclude``: processes left out, e.g. the winners).

    Vectorised over the processes sorted by product; ties go to the lowest position.
    """
    order, starts = technology.groups
    P = technology.n_processes
    cs = cost[order]
    if exclude is not None:
        cs = np.where(exclude[order], np.inf, cs)
    best = np.minimum.reduceat(cs, starts)
    counts = np.diff(np.append(starts, P))
    cand = np.where(cs <= np.repeat(best, counts), order, P)
    arg = np.minimum.reduceat(cand, starts)
    return arg, best


@dataclass(frozen=True, eq=False, repr=False)
class ChoiceResult(WithEvidence):
    """The labour-minimising choice of technique.

    Attributes
    ----------
    process : numpy.ndarray of int64, shape (n,)
        Position of the chosen process of each product.
    economy : Economy
        The square economy of the choice.
    values : numpy.ndarray, shape (n,)
        Its (weighted) labour values: the shadow prices of the products.
    cost : numpy.ndarray, shape (P,)
        Cost of one unit of each process at those prices, ``w . l_p + v . a_p``.
    reduced_cost : numpy.ndarray, shape (P,)
        ``cost - values[makes]``: how much more each process costs than the product is worth (0 for the chosen,
        ``>= -tolerance`` at the optimum).
    certificate : float
        The smallest reduced cost of a process not chosen (``>= -tolerance``: none is cheaper than the chosen
        ones; ``inf`` when every product has one process).
    tolerance : float
        The improvement threshold used (relative to the values).
    weights : numpy.ndarray
        The labour weights.
    evidence : Evidence
        ``iterations`` = policy-iteration steps; ``residual`` = the last labour-value solve's residual.
    """

    process: np.ndarray
    economy: Economy
    values: np.ndarray
    cost: np.ndarray
    reduced_cost: np.ndarray
    certificate: float
    tolerance: float
    weights: np.ndarray
    evidence: Evidence
    technology: Technology

    @property
    def process_labels(self) -> list:
        """Labels of the chosen processes."""
        return self.technology.process_labels(self.process)

    def runner_up(self) -> tuple[np.ndarray, np.ndarray]:
        """Per product: the second-cheapest process (``-1`` when there is only one) and its cost (``nan``)."""
        t = self.technology
        chosen = np.zeros(t.n_processes, dtype=bool)
        chosen[self.process] = True
        arg, best = group_min(t, self.cost, exclude=chosen)
        none = ~np.isfinite(best)
        return np.where(none, -1, arg), np.where(none, np.nan, best)

    def to_frame(self) -> pd.DataFrame:
        """The choice as a table: product, chosen process, its cost, the runner-up and its cost, the margin."""
        t = self.technology
        ru, ru_cost = self.runner_up()
        idx = t.products if t.products is not None else pd.RangeIndex(t.n, name="product")
        labels = np.asarray(t.process_labels(self.process), dtype=object)
        ru_labels = np.full(t.n, None, dtype=object)
        has = ru >= 0
        ru_labels[has] = t.process_labels(ru[has])
        cost = self.cost[self.process]
        return pd.DataFrame({"process": labels, "cost": cost, "runner_up": ru_labels, "runner_up_cost": ru_cost,
                             "margin": ru_cost - cost}, index=idx).rename_axis("product")

    def __repr__(self) -> str:
        return (f"<ChoiceResult {self.technology.n} products: {'converged' if self.converged else 'NOT converged'} "
                f"in {self.iterations} policy iteration(s), certificate={self.certificate:.3g}, "
                f"backend={self.backend}, {self.seconds:.3g} s>")


def _cycle_products(technology: Technology, err: NotProductiveError, pos: np.ndarray) -> list:
    """The products on the non-productive cycles: the strongly connected components, among those holding the
    sectors the error named, whose own spectral radius is at least 1."""
    A = technology.inputs[:, pos].tocsr()
    _, comp = connected_components(A, directed=True, connection="strong")
    named = err.sectors
    at = technology.products.get_indexer(named) if technology.products is not None else np.asarray(
        [s for s in named if isinstance(s, (int, np.integer))], dtype=np.int64)
    members = []
    for c in np.unique(comp[at[at >= 0]]):
        idx = np.flatnonzero(comp == c)
        sub = A[idx][:, idx].tocsr()
        if sub.nnz == 0 or float(np.asarray(sub.sum(axis=0)).max()) < 1.0:
            continue
        lower = spectral_radius_bounds(sub, stop_below=1.0, stop_above=1.0)[0]
        if lower >= 1.0 - 1e-12:
            members.extend(idx.tolist())
    if not members:
        return list(named)
    return technology.product_labels(np.sort(np.asarray(members))[:20])


def _start(technology: Technology, lw: np.ndarray) -> np.ndarray:
    """A productive first choice: each product's process with the least inputs (ties: least labour)."""
    # least total input first; among near-equal inputs, the least labour
    key = technology.column_sums + 1e-9 * lw / max(float(lw.max()), 1e-300)
    return group_min(technology, key)[0]


def choose_technique(technology: Technology, *, weights: Any = None, backend: Any = "auto", rtol: float = 1e-10,
                     maxiter: int = 100, method: Any = "bicgstab") -> ChoiceResult:
    """The labour-minimising choice of one process per product, by policy iteration.

    Valid without capacity limits and without joint production (the non-substitution theorem): the choice is
    then the same for every final demand.  With capacities or scarce resources, use
    :func:`~bigplan.activity.plan_activities`.

    Parameters
    ----------
    technology : Technology
    weights : array_like (m,), optional
        Weight of each labour kind in the cost; required when there are several.
    backend : str, default "auto"
        Backend of the labour-value solves (``"numpy"``, ``"jax"``, ``"cupy"``).
    rtol : float, default 1e-10
        Tolerance of the labour-value solves; a process replaces the one in use only when it is cheaper by more
        than ``100 * rtol`` relative to the product's value.
    maxiter : int, default 100
        Policy-iteration steps allowed.
    method : str, default "bicgstab"
        Method of the labour-value solves (as in :func:`bigplan.labour_values`; each step changes the economy,
        so a factorisation is never reused: ``"direct"`` pays off only for a few hundred products).

    Returns
    -------
    ChoiceResult

    Raises
    ------
    InvalidTechnologyError
        Joint production; weights missing, of the wrong length, negative or all zero.
    NotProductiveError
        The least-input choice is not productive (``.sectors`` names the products on the cycle): no process
        of those products uses less of the others.
    ConvergenceError
        ``maxiter`` steps without settling.

    Examples
    --------
    >>> from bigplan.activity import Technology, choose_technique
    >>> t = Technology([[0.1, 0.3, 0.0], [0.2, 0.0, 0.1]], makes=[0, 0, 1], labour=[1.0, 0.5, 2.0])
    >>> r = choose_technique(t)
    >>> r.process.tolist(), bool(r.certificate >= -1e-9)
    ([1, 2], True)
    """
    t0 = time.perf_counter()
    if not isinstance(technology, Technology):
        raise InvalidTechnologyError(
            f"technology must be a bigplan.activity.Technology, got {type(technology).__name__}")
    if technology.joint:
        raise InvalidTechnologyError("joint production: the non-substitution theorem does not apply; "
                                     "use plan_activities(technology, final_demand)")
    rtol = check_rtol(rtol)
    maxiter = check_int(maxiter, "maxiter", lo=1)
    w, lw = combined_labour(technology, weights)
    makes = technology.makes
    tol = 100.0 * rtol
    pos = _start(technology, lw)
    try:
        econ = technology.economy(pos)
    except NotProductiveError as err:
        cyc = _cycle_products(technology, err, pos)
        raise NotProductiveError(
            f"no productive choice found: even each product's least-input process gives a non-productive economy "
            f"(spectral radius >= {err.spectral_radius:.6g}); the products on the cycle are {cyc}. Add processes "
            "that use less of each other for them, or check the units of their coefficients",
            spectral_radius=err.spectral_radius, sectors=cyc) from None
    v = None
    notes: list = []
    its = 0
    sol = None
    checked = True
    matvecs = 0
    for its in range(1, maxiter + 1):
        sol = labour_values(econ, lw[pos], backend=backend, method=method, rtol=rtol, x0=v)
        matvecs += sol.matvecs
        v = np.asarray(sol.values, dtype=np.float64)
        cost = lw + technology.inputs.T @ v
        arg, best = group_min(technology, cost)
        better = best < v - tol * np.abs(v) - 1e-300
        if not better.any():
            break
        pos = np.where(better, arg, pos)
        econ = technology.economy(pos, check=False)  # productive: its values fall below the last ones
        checked = False
    else:
        raise ConvergenceError(f"choose_technique: the choice still changed after maxiter={maxiter} policy "
                               "iterations; raise maxiter or loosen rtol", iterations=maxiter)
    if not checked:
        econ = technology.economy(pos)
    reduced = cost - v[makes]
    reduced[pos] = 0.0
    others = np.ones(reduced.size, dtype=bool)
    others[pos] = False
    cert = float(reduced[others].min()) if others.any() else float("inf")
    ev = Evidence.of(converged=sol.converged, residual=sol.residual, iterations=its, backend=sol.backend,
                     method="policy iteration", matvecs=matvecs, seconds=time.perf_counter() - t0,
                     notes=notes + list(sol.notes))
    for a in (pos, v, cost, reduced):
        a.flags.writeable = False
    return ChoiceResult(process=pos, economy=econ, values=v, cost=cost, reduced_cost=reduced, certificate=cert,
                        tolerance=tol, weights=w, evidence=ev, technology=technology)
