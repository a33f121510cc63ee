"""Re-planning as part of every commit, the store's re-plan entry point, and export.

A commit to a store that holds plans re-solves them on the new version in the
same call (:func:`committed`): the coefficients the commit changed give a
warm-started correction (:mod:`bigplan._store.plans`), a stock-taking leaves
the outputs as they are and checks them against the recorded capacities, and
the stored dynamic plans and proposal sets are re-run.  The commit is written first; its
re-plan never raises a :class:`~bigplan.ConvergenceError` (a plan that misses
its tolerance is reported and keeps its stored output).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .._options import check_bool, check_choice
from .._replan import REPLAN_METHODS, ReplanReport
from ..errors import StoreError
from . import dynamic_plans as dyn
from . import plans as _plans
from . import proposals as _props

__all__ = ["CommitResult", "committed", "export", "replan"]


class CommitResult(int):
    """The version a commit wrote (an ``int``), with the re-plan it triggered.

    Attributes
    ----------
    version : int
        The new version (the number itself).
    replan : ReplanReport or None
        The stored plans re-solved on the new version (None: no plans stored,
        or the commit was made with ``replan=False``).
    dynamic : dict
        Stored dynamic plans re-run on the new version, by name (a
        :class:`~bigplan.BigplanError` in place of a plan the planner refused).
    proposals : dict
        Stored proposal sets re-run on the new version, by name: each a
        :class:`~bigplan.dynamic.PlanReport` (or the :class:`~bigplan.BigplanError`
        :func:`~bigplan.dynamic.compare` raised).

    Examples
    --------
    >>> from bigplan.store import CommitResult
    >>> r = CommitResult(3)
    >>> r, r + 1, r.version, r.replan, r.proposals
    (3, 4, 3, None, {})
    """

    replan: ReplanReport | None
    dynamic: dict
    proposals: dict

    def __new__(cls, version: int, replan: ReplanReport | None = None, dynamic: dict | None = None,
                proposals: dict | None = None):
        obj = super().__new__(cls, int(version))
        obj.replan = replan
        obj.dynamic = dict(dynamic or {})
        obj.proposals = dict(proposals or {})
        return obj

    @property
    def version(self) -> int:
        return int(self)

    def __reduce__(self):
        return (int, (int(self),))


def committed(store: Any, replan: Any, write: Callable[[], int]) -> CommitResult:
    """Run the commit ``write`` (after checking ``replan``), then re-plan on the new version unless told not to."""
    replan = check_bool(replan, "replan")
    v = write()
    if not replan:
        return CommitResult(v)
    with store._ledger.read() as con:
        has_plans = con.execute("SELECT 1 FROM plans LIMIT 1").fetchone() is not None
        has_dynamic, has_proposals = (con.execute("SELECT 1 FROM meta WHERE key LIKE ? LIMIT 1",
                                                  (prefix + "%",)).fetchone() is not None
                                      for prefix in (dyn.PREFIX, _props.PREFIX))
    if has_plans:
        rep = _replan(store, plans=None, version=v, raise_on_failure=False)
        return CommitResult(v, rep, rep.dynamic, store.last_proposals)
    if not (has_dynamic or has_proposals):
        return CommitResult(v)
    runs = dyn.run(store._states, store._plan_dynamic, v, None, strict=False) if has_dynamic else {}
    if has_proposals:
        store.last_proposals = _props.run(store._states, store._compare_dynamic, v, None, strict=False)
    return CommitResult(v, None, runs, store.last_proposals if has_proposals else None)


def replan(store: Any, *, save: bool = True, values: bool = True, capacity: bool = True, dynamic: bool = True,
           raise_on_failure: bool = True, **options: Any) -> ReplanReport:
    """The stored plans re-solved (see :meth:`Store.replan <bigplan.store.Store.replan>`); kept as ``last_replan``."""
    for nm, val in (("save", save), ("values", values), ("capacity", capacity), ("dynamic", dynamic),
                    ("raise_on_failure", raise_on_failure)):
        check_bool(val, nm)
    if "method" in options:  # checked here: only a re-plan after changed coefficients would read it
        check_choice(options["method"], "method", REPLAN_METHODS)
    rep = _plans.replan(store._states, save=save, values=values, capacity=capacity,
                        raise_on_failure=raise_on_failure, **options)
    if dynamic:
        runs = dyn.run(store._states, store._plan_dynamic, rep.version, None, strict=raise_on_failure)
        if runs:
            rep = replace(rep, dynamic=runs)
        store.last_proposals = _props.run(store._states, store._compare_dynamic, rep.version, None,
                                          strict=raise_on_failure)
        if store.last_proposals:
            rep = replace(rep, proposals=store.last_proposals)
    store.last_replan = rep
    return rep


_replan = replan


def export(states: Any, path: str | os.PathLike, version: int | None, overwrite: bool) -> Path:
    """Write the economy of ``version`` to one file with :meth:`Economy.save` (nothing written on an error)."""
    check_bool(overwrite, "overwrite")
    eco = states.economy(version)
    save = getattr(eco, "save", None)
    if save is None:  # pragma: no cover - Economy.save arrives with bigplan.io's one-file format
        raise StoreError("this bigplan has no Economy.save; upgrade bigplan to export a version")
    return Path(save(path, overwrite=overwrite))
