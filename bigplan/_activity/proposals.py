"""Proposals checked against capacity: which can be met alone, together, and which conflict.

Each set of proposals (one, a pair, all) is tested by one *overflow* linear
programme: meet the summed final demand while exceeding capacities and
resource supplies as little as possible (each excess relative to its limit).
The set is feasible when no limit has to be exceeded; otherwise the positive
excesses are the constraints that bind, and by how much.  Infeasibility is a
result here, never an exception.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._inputs import product_vector
from .._options import check_real
from ..economy import Economy
from ..errors import InvalidDemandError, InvalidTechnologyError
from .lp import LPModel, limit_vector, plan_activities, solve_model
from .technology import ProcessAxis, Technology

__all__ = ["check_proposals", "ProposalCheck"]

_MAX_PROPOSALS = 64
_FEAS_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class ProposalCheck:
    """What the capacity and supply allow of a set of proposals.

    Attributes
    ----------
    alone : dict
        Proposal name -> whether it can be met on its own.
    together : bool
        Whether all proposals can be met at once.
    conflicts : list of tuple
        Every conflicting pair (each feasible alone, not together); when all together are infeasible but no pair
        conflicts, one smallest conflicting set found by deletion.
    binding : dict
        ``frozenset(names)`` -> DataFrame ``kind, name, limit, needed, excess`` for each infeasible proposal, each
        conflict and (when infeasible) all proposals together: the limits that must be exceeded, and by how much.
    labour : dict
        Proposal name (and ``"all"``) -> least weighted primary input when feasible, else NaN.
    summary : pandas.DataFrame
        Side by side: one column per proposal and ``"all"``; rows ``feasible``, ``labour``, ``excess``
        (summed relative excess), ``binding`` (the limits that bind).
    seconds : float
    """

    alone: dict
    together: bool
    conflicts: list
    binding: dict
    labour: dict
    summary: pd.DataFrame
    seconds: float = 0.0
    notes: tuple = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        """The side-by-side summary."""
        return self.summary


def _as_technology(obj: Any) -> Technology:
    if isinstance(obj, Technology):
        return obj
    if isinstance(obj, Economy):
        lab = obj.labour if obj.labour is not None else np.zeros((1, obj.n))
        names = obj.labour_names if obj.labour is not None else ("labour",)
        return Technology(obj.A.tocsc(), np.arange(obj.n), lab, products=obj.labels, processes=obj.labels,
                          labour_names=names, capacity=obj.capacity)
    raise InvalidTechnologyError(f"check_proposals needs a Technology or an Economy, got {type(obj).__name__}")


def _overflow(t: Technology, y: np.ndarray, cap, sup, time_limit: float):
    """Least relative excess over the limits needed to meet ``y``: (feasible, status, excess table)."""
    P, n = t.n_processes, t.n
    ci = np.flatnonzero(np.isfinite(cap)) if cap is not None else np.zeros(0, dtype=np.int64)
    ri = np.flatnonzero(np.isfinite(sup)) if sup is not None else np.zeros(0, dtype=np.int64)
    nc, nr = ci.size, ri.size
    N = t.net_output_matrix()
    Ic = sp.csc_matrix((np.ones(nc), (np.arange(nc), ci)), shape=(nc, P))
    G = sp.vstack([
        sp.hstack([N, sp.csc_matrix((n, nc)), sp.csc_matrix((n, nr))]),
        sp.hstack([Ic, -sp.identity(nc), sp.csc_matrix((nc, nr))]),
        sp.hstack([sp.csc_matrix(t.labour[ri]), sp.csc_matrix((nr, nc)), -sp.identity(nr)]),
    ], format="csc")
    lim = np.concatenate([cap[ci] if nc else [], sup[ri] if nr else []])
    cost = np.concatenate([np.zeros(P), 1.0 / np.maximum(lim, 1e-12)])
    model = LPModel(G=G, row_lo=np.concatenate([y, np.full(nc + nr, -np.inf)]),
                    row_hi=np.concatenate([np.full(n, np.inf), lim]), cost=cost,
                    col_hi=np.full(P + nc + nr, np.inf), n=n)
    res = solve_model(model, "highs", time_limit=time_limit)
    if res.status != "optimal":
        return False, res.status, None
    s = res.z[P:]
    excess = float(cost[P:] @ s)
    feasible = excess <= _FEAS_TOL
    names = t.process_labels(ci) + [t.labour_names[k] for k in ri]
    kinds = ["capacity"] * nc + ["resource"] * nr
    hit = np.flatnonzero(s > _FEAS_TOL * np.maximum(lim, 1.0))
    table = pd.DataFrame({"kind": [kinds[i] for i in hit], "name": [names[i] for i in hit], "limit": lim[hit],
                          "needed": lim[hit] + s[hit], "excess": s[hit]})
    return feasible, "optimal" if feasible else "infeasible", table.sort_values("excess", ascending=False,
                                                                                   ignore_index=True)


def check_proposals(technology_or_economy: Any, proposals: Mapping, *, capacity: Any = None, supply: Any = None,
                    weights: Any = None, base: Any = None, time_limit: float = 60.0) -> ProposalCheck:
    """Which proposals can be met with the capacity and resources there are, alone and together.

    Parameters
    ----------
    technology_or_economy : Technology or Economy
        An Economy counts as one process per product (its capacity and labour supply are the defaults).
    proposals : mapping
        Name -> final demand (array (n,), Series or mapping by product label; products left out are 0).
        Proposals add up.
    capacity : array_like (P,), Series or mapping by process label, optional
        Activity limits (default the technology's or economy's own).
    supply : array_like (m,) or mapping by labour name, optional
        Primary inputs available (default an economy's ``labour_supply``).
    weights : array_like (m,), optional
        Weights of the labour kinds for the ``labour`` row (without them, several kinds leave that row NaN).
    base : array_like (n,), optional
        Final demand already planned, added to every set tested.
    time_limit : float, default 60
        Seconds per linear programme.

    Returns
    -------
    ProposalCheck

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.activity import check_proposals
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0], labels=["grain", "iron"])
    >>> r = check_proposals(e, {"bread": {"grain": 5.0}, "rails": {"iron": 5.0}}, capacity=[7.0, 8.0])
    >>> r.alone, r.together, r.conflicts
    ({'bread': True, 'rails': True}, False, [('bread', 'rails')])
    >>> r.binding[frozenset(["bread", "rails"])][["kind", "name", "excess"]].round(6).values.tolist()
    [['capacity', 'grain', 1.0]]
    """
    t0 = time.perf_counter()
    t = _as_technology(technology_or_economy)
    if not isinstance(proposals, Mapping) or not proposals:
        raise InvalidDemandError("proposals must be a non-empty mapping {name: final demand}")
    if len(proposals) > _MAX_PROPOSALS:
        raise InvalidDemandError(f"at most {_MAX_PROPOSALS} proposals at once (pairs grow quadratically), "
                                 f"got {len(proposals)}")
    time_limit = check_real(time_limit, "time_limit", lo=0.0, lo_open=True, allow_inf=True)
    names = [str(k) for k in proposals]
    Y = {nm: product_vector(t, v, f"proposal {nm!r}", missing="zero") for nm, v in zip(names, proposals.values())}
    y0 = np.zeros(t.n) if base is None else product_vector(t, base, "base", missing="zero")
    econ = technology_or_economy if isinstance(technology_or_economy, Economy) else None
    cap = limit_vector(t.process_axis, capacity, "capacity") if capacity is not None else t.capacity
    if supply is None and econ is not None and econ.labour_supply is not None:
        supply = econ.labour_supply
    sup = limit_vector(ProcessAxis(len(t.labour_names), pd.Index(t.labour_names)), supply, "supply")

    def test(group):
        return _overflow(t, y0 + sum(Y[g] for g in group), cap, sup, time_limit)

    binding, alone, statuses = {}, {}, {}
    for nm in names:
        ok, status, table = test([nm])
        alone[nm], statuses[nm] = ok, status
        if not ok and table is not None:
            binding[frozenset([nm])] = table
    ok_all, st_all, tab_all = test(names)
    statuses["all"] = st_all
    if not ok_all and tab_all is not None:
        binding[frozenset(names)] = tab_all
    conflicts = []
    good = [nm for nm in names if alone[nm]]
    if not ok_all:
        for a, b in itertools.combinations(good, 2):
            ok, _, table = test([a, b])
            if not ok:
                conflicts.append((a, b))
                if table is not None:
                    binding[frozenset([a, b])] = table
        if not conflicts and len(good) > 2 and not test(good)[0]:
            keep = list(good)  # deletion filter: drop each proposal the conflict does not need
            for nm in list(good):
                trial = [k for k in keep if k != nm]
                if len(trial) >= 2 and not test(trial)[0]:
                    keep = trial
            conflicts.append(tuple(keep))
            binding[frozenset(keep)] = test(keep)[2]
    labour = {}
    priced = weights is not None or t.labour.shape[0] == 1
    for key, group in [(nm, [nm]) for nm in names] + [("all", names)]:
        feasible = alone[key] if key != "all" else ok_all
        if feasible and priced:
            p = plan_activities(t, y0 + sum(Y[g] for g in group), capacity=cap, supply=sup, weights=weights,
                                solver="highs", time_limit=time_limit, raise_on_failure=False)
            labour[key] = p.objective
        else:
            labour[key] = float("nan")
    cols = names + ["all"]
    feas = [alone[nm] for nm in names] + [ok_all]
    excess, bind = [], []
    for c in cols:
        tab = binding.get(frozenset([c]) if c != "all" else frozenset(names))
        has = tab is not None and c in cols and not (c != "all" and alone[c]) and not (c == "all" and ok_all)
        excess.append(float(tab["excess"].sum()) if has else 0.0)
        bind.append(", ".join(f"{k} {nm}" for k, nm in zip(tab["kind"], tab["name"])) if has else "")
    summary = pd.DataFrame([feas, [labour[c] for c in cols], excess, bind],
                           index=pd.Index(["feasible", "labour", "excess", "binding"]), columns=cols)
    notes = tuple(f"{k}: LP status {s}" for k, s in statuses.items() if s not in ("optimal", "infeasible"))
    if not priced:
        notes += (f"labour not computed: {t.labour.shape[0]} labour kinds and no weights= to combine them",)
    return ProposalCheck(alone=alone, together=ok_all, conflicts=conflicts, binding=binding, labour=labour,
                         summary=summary, seconds=time.perf_counter() - t0, notes=notes)
