"""asv: the coefficient memory (``bigplan.inventory``) at 10^4, 10^5 and 10^6 products.

``StoreOps``: opening a store and reading its latest version, committing 1,000
coefficient changes, reading an old version, diff, and the store's size.
``Replan``: for four kinds of revision of 1,000 coefficients (``scattered``:
random entries anywhere; ``columns``: whole input columns of products whose
method changed; ``rows``: ten widely used inputs, each saved in a hundred
products; ``row``: one input's coefficient in many products, like a new energy
efficiency), the update of every plan (:func:`bigplan.inventory.replan`), a
plain warm start and a cold solve.  ``ReplanThroughStore``: 64 stored plans
re-planned through the store after a one-row revision, and its ratios to a cold
solve and to the array-level update (issue 11's targets).  ``ConsumerLoop``:
twenty periods of the consumer-demand correction loop.

``BIGPLAN_BENCH_MAX_N=100000`` skips the 10^6 rows, as for the other suites;
matrices come from ``common.matrix``, cached on disk without pickles.  The
figures in RESULTS.md were taken with the script built on the same economies
and revisions::

    python benchmarks/store_replan.py store --n 1000000 --repeat 3
    python benchmarks/store_replan.py replan --n 1000000 --plans 64
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

import bigplan
from bigplan.inventory import open_store, replan, simulate_consumer_demand
from bigplan.synthetic import final_demand

from . import common

SIZES = common.SIZES
SCENARIOS = ["scattered", "columns", "rows", "row"]

_ECONOMIES: dict = {}


def labels(n: int) -> list[str]:
    """Product labels ``p0000000``, ``p0000001``, ..."""
    return [f"p{i:07d}" for i in range(n)]


def economy(n: int, *, labelled: bool = True) -> bigplan.Economy:
    """``common.matrix(n)`` with unit labour, stocks 1 and capacity 2 (labelled ``p...`` unless told not)."""
    key = (n, labelled)
    if key not in _ECONOMIES:
        A = common.matrix(n, keep=False)  # technical_matrix(n, seed=0), cached on disk
        _ECONOMIES[key] = bigplan.Economy(
            A, labour=np.ones(n), labels=labels(n) if labelled else None, stocks=np.ones(n), capacity=np.full(n, 2.0)
        )
    return _ECONOMIES[key]


def revision(e: bigplan.Economy, kind: str, m: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``m`` changed coefficients (rows, cols, new values) of one kind of revision."""
    rng = np.random.default_rng(seed)
    A = e.A
    if kind == "scattered":  # random existing entries, +-10 %
        pick = rng.choice(A.nnz, m, replace=False)
        rows = np.searchsorted(A.indptr, pick, side="right") - 1
        return rows, A.indices[pick].astype(np.int64), A.data[pick] * rng.uniform(0.9, 1.1, m)
    if kind == "columns":  # whole input columns of products whose production method changed
        AT = e.AT
        r, c, v = [], [], []
        for j in rng.permutation(e.n):
            s = slice(AT.indptr[j], AT.indptr[j + 1])
            k = s.stop - s.start
            r.append(AT.indices[s])
            c.append(np.full(k, j))
            v.append(AT.data[s] * rng.uniform(0.8, 1.05, k))
            if sum(len(x) for x in r) >= m:
                break
        return np.concatenate(r)[:m], np.concatenate(c)[:m], np.concatenate(v)[:m]
    if kind == "rows":  # the ten most used inputs (energy, transport...) each saved in m / 10 products
        top = np.argsort(-np.diff(A.indptr))[:10]
        r, c, v = [], [], []
        for i in top:
            s = slice(A.indptr[i], A.indptr[i + 1])
            cols = A.indices[s][: m // 10].astype(np.int64)
            r.append(np.full(cols.size, i))
            c.append(cols)
            v.append(A.data[s][: cols.size] * rng.uniform(0.85, 0.95, cols.size))
        return np.concatenate(r), np.concatenate(c), np.concatenate(v)
    if kind == "row":  # one input (the most used one) saved in m of the products using it
        i = int(np.argmax(np.diff(A.indptr)))
        s = slice(A.indptr[i], A.indptr[i + 1])
        cols = A.indices[s][:m].astype(np.int64)
        return np.full(cols.size, i), cols, A.data[s][: cols.size] * 0.9
    raise ValueError(kind)


def as_changes(e: bigplan.Economy, rev) -> dict:
    """A revision as the ``{(row label, column label): value}`` mapping ``commit`` and ``with_changes`` take."""
    lab = e.labels if e.labels is not None else np.arange(e.n)
    return {(lab[r], lab[c]): float(v) for r, c, v in zip(*rev)}


# ---------------------------------------------------------------------------
# asv classes
# ---------------------------------------------------------------------------
class StoreOps:
    """Open + read latest, commit 1,000 changes, read an old version, diff, roll back."""

    params = [SIZES]
    param_names = ["n"]
    timeout = 1200
    number = 1
    repeat = 3

    def setup_cache(self):
        root = tempfile.mkdtemp(prefix="bigplan-bench-")
        for n in SIZES:
            if common.too_large(n):
                continue
            with open_store(os.path.join(root, str(n)), snapshot_every=10_000) as s:
                e = economy(n)
                s.commit(e, author="bench", reason="init")
                s.commit(as_changes(e, revision(e, "scattered", 1000, seed=2)), author="bench", reason="v2")
        return root  # a path: the stores themselves live on disk

    def setup(self, root, n):
        common.skip_if_too_large(n)
        self.path = os.path.join(root, str(n))
        self.store = open_store(self.path, snapshot_every=10_000)
        self.store.economy()  # warm the writer's cache: commits then cost only their delta
        e = economy(n)
        self.changes = as_changes(e, revision(e, "scattered", 1000, seed=int(time.time_ns() % 2**31)))

    def teardown(self, root, n):
        if getattr(self, "store", None) is not None:  # None when setup skipped this size
            self.store.close()

    def time_open_and_read_latest(self, root, n):
        with open_store(self.path) as s:
            s.economy()

    def peakmem_open_and_read_latest(self, root, n):
        with open_store(self.path) as s:
            s.economy()

    def time_commit_1000_changes(self, root, n):
        self.store.commit(self.changes, author="bench", reason="timing")

    def time_read_first_version(self, root, n):
        with open_store(self.path) as s:
            s.economy(1)

    def time_diff_first_latest(self, root, n):
        self.store.diff(1, self.store.head)

    def track_store_megabytes(self, root, n):
        return sum(
            os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(self.path) for f in fs
        ) / 1e6

    track_store_megabytes.unit = "MB"


class Replan:
    """Update of k stored plans after 1,000 changed coefficients, against a cold solve."""

    params = [SIZES, [8, 64], SCENARIOS]
    param_names = ["n", "plans", "revision"]
    timeout = 3600
    number = 1
    repeat = 1

    def setup_cache(self):
        # the plans' outputs before the revision, solved once and kept as .npy files (no pickles)
        root = tempfile.mkdtemp(prefix="bigplan-bench-replan-")
        for n in SIZES:
            if common.too_large(n):
                continue
            e = economy(n, labelled=False)
            for plans in self.params[1]:
                sol = bigplan.solve_output(e, final_demand(n, plans, seed=3))
                np.save(os.path.join(root, f"x-{n}-{plans}.npy"), sol.output, allow_pickle=False)
        return root

    def setup(self, root, n, plans, kind):
        common.skip_if_too_large(n)
        self.e = economy(n, labelled=False)
        self.Y = final_demand(n, plans, seed=3)
        self.X = np.load(os.path.join(root, f"x-{n}-{plans}.npy"), allow_pickle=False)
        rev = revision(self.e, kind, 1000)
        self.e2 = self.e.with_changes(as_changes(self.e, rev))
        self.delta = (rev[0], rev[1], rev[2] - np.asarray(self.e.A[rev[0], rev[1]]).ravel())
        bigplan.solve_output(self.e2, self.Y[:, :1])  # build the operators outside the timings

    def time_update(self, root, n, plans, kind):
        replan(self.e2, self.Y, self.X, delta=self.delta)

    def time_warm_start(self, root, n, plans, kind):
        replan(self.e2, self.Y, self.X, method="warm")

    def time_cold_solve(self, root, n, plans, kind):
        bigplan.solve_output(self.e2, self.Y)

    def track_update_over_cold(self, root, n, plans, kind):
        t0 = time.process_time()
        replan(self.e2, self.Y, self.X, delta=self.delta)
        t1 = time.process_time()
        bigplan.solve_output(self.e2, self.Y)
        return (t1 - t0) / (time.process_time() - t1)

    def track_max_difference_from_cold(self, root, n, plans, kind):
        upd = replan(self.e2, self.Y, self.X, delta=self.delta).output
        cold = bigplan.solve_output(self.e2, self.Y).output
        return float(np.max(np.abs(upd - cold)) / np.max(np.abs(cold)))


class ReplanThroughStore:
    """64 stored plans re-planned through the store after one input is saved by 1,000 of its users (issue 11).

    ``time_store_replan`` is :meth:`Store.replan` (outputs, labour, values, capacity, one update written)
    after a commit made with ``replan=False``; ``track_over_cold`` and ``track_over_inventory_replan`` are
    its wall-time ratios to a cold :func:`bigplan.solve_output` and to the array-level
    :func:`bigplan.inventory.replan` of the same plans, in the same process (targets 0.3 and 1.2).
    """

    params = [SIZES]
    param_names = ["n"]
    timeout = 3600
    number = 1
    repeat = 3

    def setup(self, n):
        common.skip_if_too_large(n)
        self.root = tempfile.mkdtemp(prefix="bigplan-bench-through-")
        self.e = economy(n)
        self.Y = final_demand(n, 64, seed=3)
        self.store = open_store(os.path.join(self.root, "s"), snapshot_every=10_000)
        self.store.commit(self.e, author="bench", reason="init")
        self.store.add_plans(self.Y, names=[f"plan{j}" for j in range(64)], author="bench")
        self.store.replan()
        self.rev = revision(self.e, "row", 1000)
        self.step = 0
        self._revise()

    def _revise(self):
        """Commit the next revision without re-planning; keep what the array-level update needs."""
        self.step += 1
        r, c, v = self.rev
        lab = self.e.labels
        old = self.store.economy()
        self.X_prev, self.res_prev = self.store.last_replan.output, self.store.last_replan.residual
        self.store.commit({(lab[a], lab[b]): float(x * (1 - 0.02 * self.step)) for a, b, x in zip(r, c, v)},
                          author="bench", reason="revision", replan=False)
        self.new = self.store.economy()
        self.delta = (r, c, np.asarray(self.new.A[r, c]).ravel() - np.asarray(old.A[r, c]).ravel())

    def teardown(self, n):
        store = getattr(self, "store", None)  # None when setup skipped this size
        if store is not None:
            store.close()
            import shutil

            shutil.rmtree(self.root, ignore_errors=True)

    def time_store_replan(self, n):
        self.store.replan()

    def _ratio(self, peer) -> float:
        t0 = time.perf_counter()
        self.store.replan()
        t1 = time.perf_counter()
        peer()
        return (t1 - t0) / (time.perf_counter() - t1)

    def track_over_cold(self, n):
        return self._ratio(lambda: bigplan.solve_output(self.new, self.Y))

    def track_over_inventory_replan(self, n):
        return self._ratio(lambda: replan(self.new, self.Y, self.X_prev, delta=self.delta, residual=self.res_prev))


class ConsumerLoop:
    """Twenty periods of the consumer-demand correction loop."""

    params = [[10_000, 100_000]]
    param_names = ["n"]
    timeout = 600

    def setup(self, n):
        common.skip_if_too_large(n)
        self.e = economy(n, labelled=False)
        rng = np.random.default_rng(0)
        self.planned = np.where(rng.random(n) < 0.3, rng.uniform(1, 10, n), 0.0)
        self.actual = self.planned * rng.uniform(0.8, 1.2, n)

    def time_twenty_periods(self, n):
        simulate_consumer_demand(self.e, self.planned, self.actual, periods=20, values=np.ones(n))
