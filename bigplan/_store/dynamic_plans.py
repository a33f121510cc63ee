"""Stored dynamic plans: the inputs of a multi-period plan, kept to re-run it on later versions.

A dynamic plan (:func:`bigplan.dynamic.plan`) depends on the whole economy:
coefficients, capital, depreciation, recorded capacity and labour supply.  The
store keeps what the planner was asked (the consumption path or starting
level, the horizon, growth, any capacity or labour supply given explicitly, and
the options) and re-runs the planner on a new version; the result itself is not
kept (it is cheaper to recompute than to keep for every version).

Each plan is one ``meta`` row ``dynamic:<name>`` (JSON: author, note, created,
the version it was added on, the scalar inputs and options, and the digests of
its array inputs, which :meth:`Ledger.gc <bigplan._store.ledger.Ledger.gc>` keeps).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._inputs import plan_block, product_vector
from .._options import check_bool
from ..errors import InvalidOptionError
from .records import Kind
from .snapshots import States

__all__ = ["PREFIX", "DynamicPlanMethods", "add", "call_args", "inputs", "load", "remove", "run", "table"]

#: Key prefix of a dynamic plan's row in the ``meta`` table.
PREFIX = "dynamic:"
KIND = Kind(PREFIX, "dynamic plan", "dynamic plans")
_SCALARS = (str, int, float, bool, type(None))


def inputs(economy, consumption: Any, *, horizon: Any, growth: Any, capacity: Any, labour_supply: Any,
           options: Mapping) -> tuple[dict, dict]:
    """The planner's inputs as plain arrays aligned to the products (arrays) and JSON scalars (spec).

    Pandas objects and mappings are aligned by label here, once, so the stored
    arrays are in the store's product order.
    """
    arrays: dict = {}
    if isinstance(consumption, pd.DataFrame):  # periods x products
        arrays["consumption"] = np.asarray(plan_block(economy, consumption.T, "consumption", host=True).values,
                                           np.float64).T.copy()
    elif isinstance(consumption, (pd.Series, Mapping)):
        arrays["consumption"] = product_vector(economy, consumption, "consumption")
    else:
        arrays["consumption"] = np.array(consumption, dtype=np.float64)
    spec: dict = {"horizon": horizon, "growth": None, "options": {}}
    if growth is not None and np.ndim(growth) == 0 and not isinstance(growth, Mapping):
        spec["growth"] = float(growth)
    elif growth is not None:
        arrays["growth"] = product_vector(economy, growth, "growth", lo=None)
    if capacity is not None:
        arrays["capacity"] = product_vector(economy, capacity, "capacity")
    if labour_supply is not None:
        ls = labour_supply.to_numpy() if isinstance(labour_supply, (pd.Series, pd.DataFrame)) else labour_supply
        arrays["labour_supply"] = np.array(ls, dtype=np.float64)
    if horizon is not None and not isinstance(horizon, (int, np.integer)):
        raise InvalidOptionError(f"horizon must be an integer number of periods, got {horizon!r}")
    spec["horizon"] = None if horizon is None else int(horizon)
    for key, val in options.items():
        if not isinstance(val, _SCALARS):
            raise InvalidOptionError(
                f"option {key}={val!r} cannot be stored with a dynamic plan; give options as numbers or strings "
                "(e.g. backend='numpy', solver='bicgstab')"
            )
        spec["options"][key] = val
    return arrays, spec


def call_args(arrays: dict, spec: dict) -> dict:
    """Keyword arguments of :func:`bigplan.dynamic.plan` (besides the economy) from stored inputs."""
    kw = dict(spec["options"])
    kw["consumption"] = arrays["consumption"]
    kw["horizon"] = spec["horizon"]
    kw["growth"] = arrays.get("growth", spec.get("growth"))
    for key in ("capacity", "labour_supply"):
        if key in arrays:
            kw[key] = arrays[key]
    return kw


def add(states: States, name: str, arrays: dict, spec: dict, *, version: int, author: str, note: str | None,
        replace: bool) -> None:
    """Keep a dynamic plan's inputs (one transaction)."""
    arrays = {k: np.asarray(a, np.float64) for k, a in arrays.items()}
    KIND.add(states, name, arrays, spec, version=version, author=author, note=note, replace=replace,
             op="add_dynamic_plan")


def load(states: States, con, names: Sequence[str] | None = None) -> dict:
    """Stored dynamic plans by name: ``(arrays, spec)`` (all, or those named; an unknown name is an error)."""
    return KIND.load(states, con, names)


def table(states: States) -> pd.DataFrame:
    """The stored dynamic plans: author, note, created, version added on, horizon, growth, options."""
    with states.led.read() as con:
        recs = KIND.rows(con)
    df = pd.DataFrame(
        [(nm, r["author"], r["note"], r["created"], r["version"], r["horizon"],
          "per product" if "growth" in r["arrays"] else r["growth"], json.dumps(r["options"])) for nm, r in recs],
        columns=["plan", "author", "note", "created", "version", "horizon", "growth", "options"],
    )
    return df.set_index("plan")


def remove(states: States, names: Sequence[str]) -> None:
    """Forget dynamic plans (their arrays go at the next gc)."""
    KIND.remove(states, names, "remove_dynamic_plans")


def run(states: States, runner: Any, v: int, names: Sequence[str] | None, *, strict: bool) -> dict:
    """Stored dynamic plans re-run on version ``v`` with ``runner`` (:func:`bigplan.dynamic.plan`).

    With ``strict=False`` a plan the planner refuses is kept as its error instead.
    """
    return KIND.run(states, runner, v, names, call_args, strict=strict)


class DynamicPlanMethods:
    """The store's dynamic-plan methods (a part of :class:`bigplan.store.Store`).

    The class using it sets ``_plan_dynamic`` to :func:`bigplan.dynamic.plan`
    (a higher layer than this one) and has ``_ledger`` and ``_states``.
    """

    _plan_dynamic: Any
    _ledger: Any
    _states: States

    def add_dynamic_plan(self, name: str, consumption: Any, *, horizon: int | None = None, growth: Any = None,
                         capacity: Any = None, labour_supply: Any = None, author: str, note: str | None = None,
                         replace: bool = False, **options: Any):
        """Plan over several periods on the latest version and keep the plan's inputs to re-run it later.

        Runs :func:`bigplan.dynamic.plan` with these arguments on the latest
        economy (its capital, depreciation, recorded capacity and labour supply),
        then keeps the inputs (aligned to the store's products) so that every
        commit, and :meth:`replan`, re-runs it on the new version.  Nothing is
        written when the planner refuses the inputs.

        Parameters
        ----------
        name : str
        consumption, horizon, growth, capacity, labour_supply
            As in :func:`bigplan.dynamic.plan` (``capacity`` and ``labour_supply``
            given here are kept fixed; left out, each version's own are used).
        author, note : str
        replace : bool
            Replace a dynamic plan of the same name.
        **options
            Further options of :func:`bigplan.dynamic.plan` (numbers and strings only).

        Returns
        -------
        bigplan.dynamic.DynamicPlan
            The plan on the latest version.
        """
        check_bool(replace, "replace")
        with self._ledger.read() as con:
            v = self._ledger.check_version(con, None)
        eco = self._states.economy(v)
        arrays, spec = inputs(eco, consumption, horizon=horizon, growth=growth, capacity=capacity,
                                   labour_supply=labour_supply, options=options)
        result = self._plan_dynamic(eco, **call_args(arrays, spec))
        add(self._states, name, arrays, spec, version=v, author=author, note=note, replace=replace)
        return result

    def dynamic_plans(self) -> pd.DataFrame:
        """The stored dynamic plans: author, note, created, the version added on, horizon, growth, options."""
        return table(self._states)

    def dynamic_plan(self, name: str, version: int | None = None):
        """A stored dynamic plan re-run on ``version`` (default the latest): a :class:`bigplan.dynamic.DynamicPlan`."""
        with self._ledger.read() as con:
            v = self._ledger.check_version(con, version)
        return run(self._states, self._plan_dynamic, v, [name], strict=True)[name]

    def remove_dynamic_plans(self, names: Sequence[str]) -> None:
        """Forget dynamic plans (their arrays go at the next :meth:`gc`)."""
        remove(self._states, [names] if isinstance(names, str) else list(names))
