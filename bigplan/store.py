"""The coefficient memory: a durable, versioned store for an economy and its plans.

A store is a directory holding an append-only SQLite ledger (``ledger.sqlite``:
versions, changes, snapshots, units, plans), immutable array files
(``objects/ab/abcd....npy``, named by their SHA-256, never pickled) and a marker
(``bigplan-store.json``).  Version 1 holds a whole economy; every later version
records what changed (kind, row, column, old and new value), who reported it,
when and why.  Kinds are ``"A"``, ``"capital"``, ``"labour"``,
``"depreciation"``, ``"labour_supply"``, ``"stocks"`` and ``"capacity"`` (the
last two per reporting unit and product).  A roll-back is a new version that
restores an old state; nothing is ever deleted from the history.  Reading a
version loads the nearest snapshot (or a state in memory) and replays the
ledger in between; a commit writes only its changed entries.

Every write is one transaction (a process killed at any point leaves the store
at its last version; a writer that cannot get the lock within ``timeout``
seconds gets :class:`StoreBusyError`); every commit re-plans the stored plans.
:class:`Store` is a facade over the parts in :mod:`bigplan._store`, where the
details are documented; :mod:`bigplan.inventory` re-exports the entry points.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import dynamic
from ._options import check_real
from ._replan import ReplanReport
from ._store import dynamic_plans as _dyn
from ._store import history, replanning, stocktaking
from ._store import plans as _plans
from ._store import proposals as _props
from ._store.ledger import DEFAULT_UNIT, FORMAT_VERSION, KINDS, Ledger, store_path
from ._store.replanning import CommitResult
from ._store.snapshots import States
from .economy import Economy
from .errors import NegativeStockError, StoreBusyError, StoreError

__all__ = ["DEFAULT_UNIT", "FORMAT_VERSION", "KINDS", "CommitResult", "NegativeStockError", "Store", "StoreBusyError",
           "open_store"]


class Store(_dyn.DynamicPlanMethods, _props.ProposalMethods):
    """A durable, versioned economy with its plans.  Open one with :func:`open_store`.

    Versions are numbered 1, 2, ...; version 1 is the first economy committed.
    Every method that writes is atomic: it either commits a whole new version or
    leaves the store as it was.  The work is done by the parts in
    :mod:`bigplan._store` (ledger, snapshots, history, stock-taking, plans).

    Examples
    --------
    >>> import tempfile, numpy as np, bigplan
    >>> from bigplan.inventory import open_store
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0], labels=["grain", "iron"])
    >>> with open_store(tempfile.mkdtemp()) as store:
    ...     v1 = store.commit(e, author="office", reason="first table")
    ...     v2 = store.commit({("iron", "grain"): 0.25}, author="steel council", reason="new furnace")
    ...     float(store.economy(v2).A[1, 0]), float(store.economy(v1).A[1, 0]), len(store.diff(v1, v2))
    (0.25, 0.2, 1)
    """

    _plan_dynamic = staticmethod(dynamic.plan)  # what re-runs a stored dynamic plan (see DynamicPlanMethods)
    _compare_dynamic = staticmethod(dynamic.compare)  # what re-runs a stored proposal set (see ProposalMethods)

    def __init__(self, path: str | os.PathLike, *, timeout: float = 30.0, snapshot_every: int = 64,
                 snapshot_changes: int = 200_000, cache: int = 2, threads: int | None = None):
        States.check(snapshot_every, snapshot_changes)  # before anything is created on disk
        self.path, self.timeout = store_path(path), check_real(timeout, "timeout", lo=0.0)
        self._ledger = Ledger(self.path, self.timeout)
        self._states = States(self._ledger, cache=cache, threads=threads or min(4, os.cpu_count() or 1),
                              snapshot_every=snapshot_every, snapshot_changes=snapshot_changes)
        self.last_replan: ReplanReport | None = None  # of the latest commit or replan()
        self.last_proposals: dict = {}  # the stored proposal sets' reports from the latest commit or replan()

    snapshot_every = property(lambda self: self._states.snapshot_every, doc="Versions between snapshots.")
    snapshot_changes = property(lambda self: self._states.snapshot_changes, doc="Changes between snapshots.")

    @property
    def con(self):
        """The ledger's SQLite connection (a :class:`StoreError` once closed)."""
        return self._ledger.con

    def close(self) -> None:
        """Close the ledger connection (the store stays on disk)."""
        self._ledger.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        try:
            head = self.head
        except StoreError:
            head = "?"
        return f"<bigplan Store {str(self.path)!r} head={head}>"

    # -- versions ------------------------------------------------------------
    @property
    def head(self) -> int:
        """The latest committed version (0 for an empty store)."""
        with self._ledger.read() as con:
            return self._ledger.head(con)

    def versions(self) -> pd.DataFrame:
        """The ledger's versions: who, when, why, how many changes, which have snapshots.

        Returns
        -------
        pandas.DataFrame
            Indexed by version; columns ``kind``, ``author``, ``reason``, ``created``
            (UTC ISO time), ``changes``, ``snapshot``, ``target`` (of a roll-back) and
            ``spectral_radius_upper`` (the certified bound).
        """
        return history.versions(self._ledger)

    def economy(self, version: int | None = None) -> Economy:
        """The economy at ``version`` (default: the latest; negative numbers count from it, -1 = latest).

        Its stocks and capacities are summed over the reporting units; it carries the
        productivity certificate recorded at commit time.  Raises :class:`StoreError`
        for an empty store or an unknown version, :class:`CorruptStoreError` when a
        snapshot file is missing, truncated or fails its checksum (nothing is returned).
        """
        return self._states.economy(version)

    def commit(self, changes: Any, *, author: str, reason: str, when: str | None = None,
               replan: bool = True) -> CommitResult:
        """Commit a change set (or a whole economy) as a new version.

        Parameters
        ----------
        changes : Economy, mapping, or iterable of triples
            - an :class:`~bigplan.Economy`: the first version of an empty store, or
              a replacement of the whole economy (same products);
            - ``{(product_in, product_out): value}`` or ``(product_in, product_out,
              value)`` triples: new technical coefficients ``A[i, j]`` (0 removes an
              entry), read as :meth:`Economy.with_changes <bigplan.Economy.with_changes>` reads them;
            - ``{kind: changes}`` with kinds ``"A"``, ``"capital"`` (as for ``A``),
              ``"labour"`` (``{(kind, product): v}``, or ``{product: v}`` for one kind),
              ``"depreciation"`` (``{product: rate}``), ``"labour_supply"``
              (``{kind: v}``), ``"stocks"`` and ``"capacity"`` (``{product: v}`` for
              the default unit or ``{(unit, product): v}``).
            Products are named by label (by position for an unlabelled economy).
        author, reason : str
            Who reported the change, and why.
        when : str, optional
            When it was reported (ISO time; default now, UTC).
        replan : bool
            Re-solve the stored plans, re-run the stored dynamic plans and proposal sets
            on the new version in the same call (default): the report (what moved, labour
            before and after, values that moved, capacities below a plan) is ``result.replan``
            and :attr:`last_replan`; the sets' reports ``result.proposals``, :attr:`last_proposals`.

        Returns
        -------
        CommitResult
            The new version number (an ``int``), with ``.replan``, ``.dynamic`` and ``.proposals``.

        Raises
        ------
        UnknownProductError, NotProductiveError, InvalidEconomyError, NegativeStockError, StoreBusyError
            An unknown product or unit; coefficients that are not productive; NaN,
            infinite or negative values; the lock held longer than ``timeout``.
            Nothing is written then: the store stays at its last version.

        Examples
        --------
        >>> import tempfile, numpy as np, bigplan
        >>> from bigplan.inventory import open_store
        >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labels=["grain", "iron"])
        >>> s = open_store(tempfile.mkdtemp())
        >>> s.commit(e, author="office", reason="first table")
        1
        >>> s.commit({("grain", "iron"): 0.35}, author="iron works", reason="new method")
        2
        """
        return replanning.committed(self, replan, lambda: history.commit(
            self._states, changes, author=author, reason=reason, when=when, label="changes"))

    def changes(self, version: int) -> pd.DataFrame:
        """The ledger rows of one version: what changed, old and new value, who, when, why.

        Returns
        -------
        pandas.DataFrame
            Columns ``kind``, ``row`` (the product, or labour kind), ``col`` (the
            product using the input for ``A``; the unit for stocks and capacity),
            ``old``, ``new``, ``author``, ``reason``, ``created``.
        """
        return history.changes(self._states, version)

    def diff(self, a: int, b: int) -> pd.DataFrame:
        """What differs between versions ``a`` and ``b`` (in either order).

        Returns
        -------
        pandas.DataFrame
            One row per changed position: ``kind``, ``row``, ``col`` (labels, as in
            :meth:`changes`), ``old`` (value at ``a``), ``new`` (value at ``b``);
            NaN marks a stock or capacity record that does not exist at that version.

        Examples
        --------
        >>> import tempfile, numpy as np, bigplan
        >>> from bigplan.inventory import open_store
        >>> s = open_store(tempfile.mkdtemp())
        >>> _ = s.commit(bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]])), author="a", reason="b")
        >>> _ = s.commit({(0, 1): 0.4}, author="a", reason="b")
        >>> s.diff(1, 2)[["kind", "row", "col", "old", "new"]].values.tolist()
        [['A', 0, 1, 0.3, 0.4]]
        """
        return history.diff(self._states, a, b)

    def rollback(self, version: int, *, author: str, reason: str | None = None, replan: bool = True) -> CommitResult:
        """Restore the state of an earlier version as a new version (history is kept).

        ``reason`` defaults to ``"roll back to version <version>"``.  Returns the new
        version number (a :class:`CommitResult`, re-planned as in :meth:`commit`);
        its state equals that of ``version`` (one equal to the head's: EmptyChangeError).
        """
        return replanning.committed(self, replan, lambda: history.rollback(
            self._states, version, author=author, reason=reason))

    # -- stock-taking ----------------------------------------------------------
    def record_counts(self, counts: Any, *, unit: str = DEFAULT_UNIT, author: str, reason: str,
                      when: str | None = None, replan: bool = True) -> CommitResult:
        """Record a stock-taking: counted stocks by product (and reporting unit).

        Parameters
        ----------
        counts : mapping, pandas.Series or DataFrame
            ``{product: count}`` or a Series indexed by product for ``unit``; or a
            DataFrame with columns ``unit``, ``product``, ``stock`` (and optionally
            ``capacity``) for many units at once.
        unit : str
            The reporting unit (a local council, a depot) when ``counts`` names none.
        author, reason, when, replan
            As in :meth:`commit` (a stock-taking leaves the plans' outputs as they
            are; the re-plan checks them against the recorded capacities).

        Returns
        -------
        CommitResult
            The new version.  The economy's ``stocks`` are the sum over units.

        Raises
        ------
        NegativeStockError, InvalidEconomyError, UnknownProductError, LabelError (a product given twice)
        """
        return replanning.committed(self, replan, lambda: stocktaking.record(
            self._states, counts, "stocks", unit, author, reason, when))

    def record_capacity(self, capacity: Any, *, unit: str = DEFAULT_UNIT, author: str, reason: str,
                        when: str | None = None, replan: bool = True) -> CommitResult:
        """Record productive capacities by product (and reporting unit); as :meth:`record_counts`."""
        return replanning.committed(self, replan, lambda: stocktaking.record(
            self._states, capacity, "capacity", unit, author, reason, when))

    def record_flows(self, production: Any = None, use: Any = None, *, unit: str = DEFAULT_UNIT,
                     period: str | None = None, author: str, reason: str, when: str | None = None,
                     replan: bool = True) -> CommitResult:
        """Record the stock change of a period: ``stock += production - use`` for one unit.

        Parameters
        ----------
        production, use : mapping or pandas.Series, optional
            Quantities by product added to and taken from the unit's stocks over the
            period (use = intermediate use + final use; see :func:`bigplan.inventory.stock_change`).
        unit : str
        period : str, optional
            The period's name, kept in the ledger.

        A product that would end the period with a negative stock is a
        :class:`NegativeStockError`; nothing is written.
        """
        return replanning.committed(self, replan, lambda: stocktaking.record_flows(
            self._states, production, use, unit=unit, period=period, author=author, reason=reason, when=when))

    def depreciate(self, years: float = 1.0, *, rates: Any = None, author: str, reason: str | None = None,
                   when: str | None = None, replan: bool = True) -> CommitResult:
        """Wear capacities down: ``capacity *= (1 - rate) ** years`` in every unit.

        Parameters
        ----------
        years : float
            Length of the period in years (>= 0).
        rates : number, array_like or mapping, optional
            Yearly depreciation rate per product in [0, 1] (products a mapping
            leaves out keep their capacity); default the economy's.
        """
        return replanning.committed(self, replan, lambda: stocktaking.depreciate(
            self._states, years, rates, author=author, reason=reason, when=when))

    def inventory(self, version: int | None = None, *, by: str = "unit") -> pd.DataFrame:
        """Stocks and capacities at a version.

        ``by="unit"``: one row per (unit, product) record; ``by="product"``: rolled up
        over the units.  Columns ``stock`` and ``capacity`` (NaN where nothing was recorded).
        """
        return stocktaking.inventory(self._states, version, by)

    def units(self) -> list[str]:
        """Names of the reporting units known to the store."""
        return stocktaking.units(self._ledger)

    # -- plans -------------------------------------------------------------------
    def add_plans(self, final_demand: Any, *, names: Sequence[str] | None = None, author: str,
                  note: str | None = None, replace: bool = False) -> list[str]:
        """Keep final-demand targets (plans) in the store.

        Parameters
        ----------
        final_demand : pandas.DataFrame, pandas.Series, mapping ``{plan: vector}``, or array (n,) or (n, k)
            Aligned by label as in :func:`~bigplan.solve_output` (a product the economy
            lacks is an :class:`~bigplan.UnknownProductError`, a missing one a
            :class:`~bigplan.LabelError`).  A DataFrame's columns or a mapping's keys
            name the plans; for arrays give ``names``.
        names : sequence of str, optional
        author, note : str
        replace : bool
            Replace plans of the same name (their last solution is kept as a warm start).

        Returns
        -------
        list of str
        """
        return _plans.add(self._states, final_demand, names=names, author=author, note=note, replace=replace)

    def remove_plans(self, names: Sequence[str]) -> None:
        """Forget plans (their arrays go at the next :meth:`gc`)."""
        _plans.remove(self._ledger, names)

    def plans(self) -> pd.DataFrame:
        """The stored plans: author, note, the version their output solves and its residual."""
        return _plans.table(self._ledger)

    def final_demand(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """The stored plans' final demands: products x plans."""
        return _plans.final_demand(self._states, names)

    def outputs(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """The stored plans' last gross outputs (NaN columns for plans never solved)."""
        return _plans.outputs(self._states, names)

    def replan(self, *, plans: Sequence[str] | None = None, version: int | None = None, threshold: float = 0.01,
               abs_threshold: float = 0.0, sectors: Any = None, backend: Any = "auto", method: str = "auto",
               rtol: float = 1e-10, save: bool = True, values: bool = True, capacity: bool = True,
               dynamic: bool = True, raise_on_failure: bool = True) -> ReplanReport:
        """Re-solve the stored plans on a version (default the latest), warm-started; what it means for them.

        Plans never solved are solved cold; plans whose coefficients did not change
        (a stock-taking) keep their outputs.  The plans' blocks stay in memory, so a
        re-plan after a commit reads nothing back.  ``threshold``, ``abs_threshold``,
        ``sectors`` (default the mapping of :meth:`set_sectors`), ``backend``,
        ``method``, ``rtol``: as in :func:`bigplan.inventory.replan`.  ``save``:
        store the new outputs (one block, one transaction).  ``values``: report the
        labour values that moved (warm-started solve).  ``capacity``: report
        recorded capacities below a plan's output.  ``dynamic``: re-run the stored dynamic plans and
        proposal sets (in :attr:`last_proposals`).  ``raise_on_failure``: raise
        :class:`~bigplan.ConvergenceError` when a plan misses ``rtol`` (else it is reported, keeping its output).

        Returns
        -------
        bigplan.inventory.ReplanReport
            Also kept as :attr:`last_replan`.
        """
        return replanning.replan(self, plans=plans, version=version, save=save, threshold=threshold,
                                 abs_threshold=abs_threshold, sectors=sectors, backend=backend, method=method,
                                 rtol=rtol, values=values, capacity=capacity, dynamic=dynamic,
                                 raise_on_failure=raise_on_failure)

    def set_sectors(self, sectors: Any, *, author: str = "store") -> None:
        """Keep a product -> sector mapping (a Series label -> sector, or one per product; used by :meth:`replan`)."""
        _plans.set_sectors(self._states, sectors, author)

    def sectors(self) -> pd.Series | None:
        """The stored product -> sector mapping, or None."""
        return _plans.sectors(self._states)

    # -- maintenance ---------------------------------------------------------------
    def export(self, path: str | os.PathLike, version: int | None = None, *, overwrite: bool = False) -> Path:
        """Write the economy of ``version`` (default the latest) to one file with :meth:`Economy.save`.

        Stocks and capacities are summed over the units; read it back with
        ``bigplan.io.load``.  An unknown version is a :class:`StoreError`.
        """
        return replanning.export(self._states, path, version, overwrite)

    def verify(self) -> list[str]:
        """Check every array the ledger refers to; return the problems found (empty: all good)."""
        return self._ledger.verify()

    def gc(self) -> int:
        """Delete array files nothing refers to (left by interrupted writes or old plan outputs).

        Runs under the write lock, so no commit is writing files meanwhile.  Returns the files removed.
        """
        return self._ledger.gc()


def open_store(path: str | os.PathLike, *, timeout: float = 30.0, snapshot_every: int = 64,
               snapshot_changes: int = 200_000) -> Store:
    """Open the store at ``path``, creating an empty one if there is none.

    Parameters
    ----------
    path : str or os.PathLike
        A directory (created if missing).
    timeout : float
        Seconds a writer waits for another writer's lock before :class:`StoreBusyError`.
    snapshot_every : int
        Write a full snapshot every this many versions...
    snapshot_changes : int
        ...or once this many changed entries have accumulated since the last one.

    Returns
    -------
    Store

    Raises
    ------
    InvalidOptionError
        ``path`` is not a str or os.PathLike (None, a number).
    StoreError
        ``path`` is a file, or a non-empty directory that is not a store.
    CorruptStoreError
        The ledger is truncated or damaged.
    StoreVersionError
        The store was written by a newer format version (this one reads 1 and 2).
    ReadOnlyStoreError
        ``path`` is not writable and holds no store yet.  An existing store in a
        read-only folder opens for reading; its writes raise ``ReadOnlyStoreError``.

    Examples
    --------
    >>> import tempfile
    >>> from bigplan.inventory import open_store
    >>> store = open_store(tempfile.mkdtemp())
    >>> store.head
    0
    """
    return Store(path, timeout=timeout, snapshot_every=snapshot_every, snapshot_changes=snapshot_changes)
