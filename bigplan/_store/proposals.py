"""Stored proposal sets: the inputs of :func:`bigplan.dynamic.compare`, kept to re-run it on later versions.

A proposal set (named proposals for the fundamental decision, compared from
the present) depends on the whole economy: coefficients, capital,
depreciation, recorded capacity, stocks and labour supply.  The store keeps
what :func:`~bigplan.dynamic.compare` was asked (the proposal dicts, the
composition of consumption and the options given explicitly) and re-runs it
on a new version; the report itself is not kept (it is cheaper to recompute
than to keep for every version).  Capacity, stocks and labour supply left out
are read from each version's records, so a stock-taking changes the report.

Each set is one ``meta`` row ``proposals:<name>`` (JSON: author, note,
created, the version it was added on, the proposals and options as JSON
scalars, and the digests of their array inputs, which
:meth:`Ledger.gc <bigplan._store.ledger.Ledger.gc>` keeps).  Array-valued
inputs (a per-period labour path, a Series by labour kind or by product) are
aligned to the economy once, when the set is added, and kept as ``.npy``
objects; a value in the JSON that is an array is ``{"array": key}``.
"""

from __future__ import annotations

import inspect
import json
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._dynamic.labour import kind_vector, labour_supply_path
from .._dynamic.proposals import proposal_items
from .._inputs import product_vector
from .._options import check_bool
from ..errors import InvalidOptionError, StoreError
from .records import Kind
from .snapshots import States

__all__ = ["PREFIX", "ProposalMethods", "add", "call_args", "inputs", "load", "remove", "run", "table"]

#: Key prefix of a proposal set's row in the ``meta`` table.
PREFIX = "proposals:"
KIND = Kind(PREFIX, "proposal set", "proposal sets",
            " (see store.proposal_sets(); keep one with store.add_proposals(name, proposals, author=...))")
_PRODUCT_ARGS = ("consumption", "public", "capacity", "stocks", "current_output", "prices")
_SCALAR_ARGS = ("horizon", "method", "backend", "solver", "rtol")


def _scalar(value: Any) -> Any:
    """``value`` as a JSON scalar (str, int, float, bool, None), or ``NotImplemented`` when it is not one."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        value = np.asarray(value).item()
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return NotImplemented


class _Arrays:
    """Array inputs collected for storing: ``ref(array)`` keeps it and returns the JSON reference."""

    def __init__(self):
        self.arrays: dict = {}

    def ref(self, array: np.ndarray) -> dict:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(array, dtype=np.float64)
        return {"array": key}


def inputs(economy, proposals: Any, consumption: Any, options: Mapping) -> tuple[dict, dict]:
    """The inputs of :func:`~bigplan.dynamic.compare` as plain arrays (aligned to the economy) and JSON.

    Call it after ``compare`` accepted the same inputs (so their values are
    valid); it refuses, with :class:`InvalidOptionError`, only what cannot be
    stored (an option that is an object).  Returns ``(arrays, spec)`` with
    spec keys ``proposals`` (``[[name, {key: value}], ...]``) and ``args``.
    """
    store = _Arrays()
    args: dict = {}
    horizon = options.get("horizon", 10)
    T = int(horizon)
    for key, val in (("consumption", consumption), *options.items()):
        if val is None:
            continue
        if key == "growth_bounds":
            raise InvalidOptionError(
                "growth_bounds cannot be stored with a proposal set (g* is recomputed on every version); leave it out"
            )
        if key == "prices" and isinstance(val, str):
            args[key] = val
        elif key in _PRODUCT_ARGS:
            args[key] = store.ref(product_vector(economy, val, key))
        elif key == "sectors":
            args[key] = {"labels": _sector_labels(economy, val)}
        elif key == "labour_supply":
            one_kind = economy.labour is not None and economy.labour.shape[0] == 1
            s = _scalar(val)
            args[key] = s if s is not NotImplemented and one_kind else store.ref(
                labour_supply_path(economy, val, T, positive=True))
        elif key == "workers":
            s = _scalar(val)
            args[key] = s if s is not NotImplemented else store.ref(kind_vector(economy, val, "workers",
                                                                                 positive=True))
        else:
            s = _scalar(val)
            if s is NotImplemented:
                raise InvalidOptionError(
                    f"option {key}={val!r} cannot be stored with a proposal set; give options as numbers or strings "
                    "(e.g. backend='numpy', solver='bicgstab')"
                )
            args[key] = s
    items = []
    for name, spec in proposal_items(proposals):
        out = {}
        for key, val in spec.items():
            s = _scalar(val)
            if s is not NotImplemented:
                out[key] = s
            elif key == "labour_supply":
                out[key] = store.ref(labour_supply_path(economy, val, T, what=f"labour_supply of proposal {name!r}",
                                                        positive=True))
            elif key in ("workers", "hours_per_worker"):
                out[key] = store.ref(kind_vector(economy, val, f"{key} of proposal {name!r}", positive=True))
            else:
                raise InvalidOptionError(f"proposal {name!r}: {key}={val!r} cannot be stored; give a number")
        items.append([name, out])
    return store.arrays, {"proposals": items, "args": args}


def _sector_labels(economy, sectors: Any) -> list:
    """The sector of every product in product order, as JSON scalars (a Series or mapping aligned by label)."""
    if isinstance(sectors, (pd.Series, Mapping)):
        s = sectors if isinstance(sectors, pd.Series) else pd.Series(dict(sectors), dtype=object)
        codes, names = pd.factorize(s)
        pos = product_vector(economy, pd.Series(codes, index=s.index), "sectors", lo=None).astype(np.int64)
        values = [None if c < 0 else names[c] for c in pos]
    else:
        values = list(np.asarray(sectors, dtype=object))
    out = [_scalar(v) for v in values]
    bad = [v for v, s in zip(values, out) if s is NotImplemented]
    if bad:
        raise InvalidOptionError(f"sectors {bad[:3]!r} cannot be stored; name sectors by strings or numbers")
    return out


def call_args(arrays: dict, spec: dict) -> dict:
    """Keyword arguments of :func:`bigplan.dynamic.compare` (besides the economy) from stored inputs."""

    def value(v):
        if isinstance(v, dict) and "array" in v:
            return arrays[v["array"]]
        if isinstance(v, dict) and "labels" in v:
            return np.array(v["labels"], dtype=object)
        return v

    kw = {k: value(v) for k, v in spec["args"].items()}
    kw["proposals"] = {nm: {k: value(v) for k, v in p.items()} for nm, p in spec["proposals"]}
    return kw


def check_options(runner: Any, options: Mapping) -> None:
    """Refuse keyword arguments ``runner`` (``compare``) does not take, listing those it does."""
    params = inspect.signature(runner).parameters
    valid = [k for k, p in params.items() if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise InvalidOptionError(f"unknown options {unknown} for a proposal set; valid options are {valid}")


def add(states: States, name: str, arrays: dict, spec: dict, *, version: int, author: str, note: str | None,
        replace: bool) -> None:
    """Keep a proposal set's inputs (one transaction)."""
    KIND.add(states, name, arrays, spec, version=version, author=author, note=note, replace=replace,
             op="add_proposals")


def check_name(name: Any) -> None:
    """A proposal set is named by a non-empty string (:class:`LabelError` otherwise)."""
    KIND.check_name(name)


def exists(states: States, name: str) -> bool:
    """Whether a proposal set of this name is stored."""
    return KIND.exists(states, name)


def load(states: States, con, names: Sequence[str] | None = None) -> dict:
    """Stored proposal sets by name: ``(arrays, spec)`` (all, or those named; an unknown name is an error)."""
    return KIND.load(states, con, names)


def table(states: States) -> pd.DataFrame:
    """The stored proposal sets: author, note, created, version added on, proposals, horizon, method, options."""
    with states.led.read() as con:
        recs = KIND.rows(con)
    rows = []
    for nm, r in recs:
        args = r["args"]
        shown = {k: ("array" if isinstance(v, dict) and "array" in v else "per product" if isinstance(v, dict)
                     else v) for k, v in args.items() if k not in ("horizon", "method")}
        rows.append((nm, r["author"], r["note"], r["created"], r["version"], ", ".join(p[0] for p in r["proposals"]),
                     args.get("horizon", 10), args.get("method", "auto"), json.dumps(shown)))
    df = pd.DataFrame(rows, columns=["set", "author", "note", "created", "version", "proposals", "horizon", "method",
                                     "options"])
    return df.set_index("set")


def remove(states: States, names: Sequence[str]) -> None:
    """Forget proposal sets (their arrays go at the next gc); an unknown name is a :class:`StoreError`."""
    KIND.remove(states, names, "remove_proposals")


def run(states: States, runner: Any, v: int, names: Sequence[str] | None, *, strict: bool) -> dict:
    """Stored proposal sets re-run on version ``v`` with ``runner`` (:func:`bigplan.dynamic.compare`).

    With ``strict=False`` a set that ``compare`` refuses is kept as its error instead.
    """
    return KIND.run(states, runner, v, names, call_args, strict=strict)


class ProposalMethods:
    """The store's proposal-set methods (a part of :class:`bigplan.store.Store`).

    The class using it sets ``_compare_dynamic`` to :func:`bigplan.dynamic.compare`
    (a higher layer than this one) and has ``_ledger`` and ``_states``.
    """

    _compare_dynamic: Any
    _ledger: Any
    _states: States

    def add_proposals(self, name: str, proposals: Any, consumption: Any = None, *, author: str,
                      note: str | None = None, replace: bool = False, **options: Any):
        """Compare proposals on the latest version and keep them to re-run on every later one.

        Runs :func:`bigplan.dynamic.compare` with these arguments on the latest
        economy (its capital, depreciation, recorded capacity, stocks and labour
        supply), then keeps the proposals and options (aligned to the store's
        products and labour kinds) so that every commit, and :meth:`replan`,
        re-runs them on the new version.  Nothing is written when ``compare``
        refuses the inputs (the same typed errors as ``compare``).

        Parameters
        ----------
        name : str
            The set's name.
        proposals : mapping name -> dict, or sequence of dicts
            As in :func:`bigplan.dynamic.compare` (keys ``investment_share`` or
            ``growth``, ``public_share``, ``labour_supply``, ``hours_per_worker``,
            ``workers``, ``labour_growth``).
        consumption : array_like (n,) or pandas.Series, optional
            Composition of private consumption.
        author, note : str
        replace : bool
            Replace a proposal set of the same name.
        **options
            Further arguments of :func:`bigplan.dynamic.compare` (``horizon``,
            ``method``, ``sectors``, ``workers``, ``labour_supply``, ``public``,
            ``prices``, ``capacity``, ``stocks``, ``current_output``, ``backend``,
            ``solver``, ``rtol``).  ``capacity``, ``stocks`` and ``labour_supply``
            given here stay fixed; left out, each version's records are used.

        Returns
        -------
        bigplan.dynamic.PlanReport
            The report on the latest version.

        Raises
        ------
        InvalidPlanError, InvalidDemandError, LabelError, ShapeError
            As :func:`bigplan.dynamic.compare` raises them.
        InvalidOptionError
            An option ``compare`` does not take, or one that cannot be stored
            (an object such as ``growth_bounds``).
        StoreError
            A set of this name exists (pass ``replace=True``), or the store is empty.

        Examples
        --------
        >>> import tempfile, numpy as np, bigplan
        >>> from bigplan.inventory import open_store
        >>> e = bigplan.Economy(np.array([[0.2, 0.3], [0.1, 0.4]]), labour=[1.0, 1.0], labels=["food", "tools"],
        ...                     capital=np.array([[0.0, 0.0], [1.0, 1.0]]), labour_supply=100.0,
        ...                     capacity=[60.0, 60.0], depreciation=0.05)
        >>> s = open_store(tempfile.mkdtemp())
        >>> _ = s.commit(e, author="office", reason="first table")
        >>> rep = s.add_proposals("five-year", {"consume": {"investment_share": 0.05},
        ...                       "grow": {"investment_share": 0.3}}, horizon=3, author="council")
        >>> list(rep.summary.columns), list(s.proposal_sets().index)
        (['consume', 'grow'], ['five-year'])
        >>> res = s.record_capacity({"food": 30.0, "tools": 30.0}, author="census", reason="count")
        >>> bool(res.proposals["five-year"].summary.equals(s.proposals("five-year").summary))
        True
        >>> s.remove_proposals("five-year")
        >>> s.proposal_sets().empty
        True
        """
        check_bool(replace, "replace")
        check_name(name)
        if not replace and exists(self._states, name):
            raise StoreError(f"a proposal set named {name!r} exists; pass replace=True or choose another name")
        check_options(self._compare_dynamic, options)
        with self._ledger.read() as con:
            v = self._ledger.check_version(con, None)
        eco = self._states.economy(v)
        report = self._compare_dynamic(eco, proposals, consumption, **options)
        arrays, spec = inputs(eco, proposals, consumption, options)
        add(self._states, name, arrays, spec, version=v, author=author, note=note, replace=replace)
        return report

    def proposal_sets(self) -> pd.DataFrame:
        """The stored proposal sets: author, note, created, version added on, proposals, horizon, method, options."""
        return table(self._states)

    def proposals(self, name: str, version: int | None = None):
        """A stored proposal set re-run on ``version`` (default the latest): a :class:`bigplan.dynamic.PlanReport`.

        Capacity, stocks and labour supply not given when the set was added are
        those recorded at ``version``.  An unknown name is a :class:`StoreError`.
        """
        with self._ledger.read() as con:
            v = self._ledger.check_version(con, version)
        return run(self._states, self._compare_dynamic, v, [name], strict=True)[name]

    def remove_proposals(self, names: str | Sequence[str]) -> None:
        """Forget proposal sets (their arrays go at the next :meth:`gc`)."""
        remove(self._states, [names] if isinstance(names, str) else list(names))
