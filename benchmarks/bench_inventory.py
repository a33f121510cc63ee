"""Benchmarks of the coefficient memory (bigplan.store / bigplan.inventory), asv style.

asv runs the classes below at 10^4, 10^5 and 10^6 products
(``BIGPLAN_BENCH_MAX_N=100000`` skips the 10^6 rows, as for the other suites;
matrices come from ``common.matrix``, cached on disk without pickles).  The
same measurements can be run directly, which is how the figures in RESULTS.md
were taken::

    python benchmarks/bench_inventory.py store --n 1000000
    python benchmarks/bench_inventory.py replan --n 1000000 --plans 64 --changes 1000

``store`` times: opening a store and reading its latest version, committing
1,000 coefficient changes, reading an old version, diff and roll-back.
``replan`` times, for three kinds of revision of ``--changes`` coefficients
(``scattered``: random entries anywhere; ``columns``: whole input columns of
products whose method changed; ``rows``: ten widely used inputs, each saved in
a hundred products; ``row``: one input's coefficient in many products, like a
new energy efficiency), the update of every plan
(:func:`bigplan.inventory.replan`), a plain warm start, and a cold solve, with
wall and CPU seconds, sparse products, and the largest difference between the
update and the cold solve.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np

import bigplan
from bigplan.inventory import open_store, replan
from bigplan.synthetic import final_demand

try:
    from . import common
except ImportError:  # run as a script: benchmarks/ is on sys.path
    import common

SIZES = [10**4, 10**5, 10**6]
SCENARIOS = ["scattered", "columns", "rows", "row"]

_ECONOMIES: dict = {}


def labels(n: int) -> list[str]:
    return [f"p{i:07d}" for i in range(n)]


def economy(n: int, *, labelled: bool = True) -> bigplan.Economy:
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
            if common.max_n() is not None and n > common.max_n():
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


def _skip(n: int, plans: int) -> bool:
    return common.max_n() is not None and n > common.max_n()


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
            e = economy(n, labelled=False)
            for plans in self.params[1]:
                if _skip(n, plans):
                    continue
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
        bigplan.inventory.simulate_consumer_demand(self.e, self.planned, self.actual, periods=20, values=np.ones(n))


# ---------------------------------------------------------------------------
# direct runs (the figures of RESULTS.md)
# ---------------------------------------------------------------------------
def _clock(fn, repeat=1):
    best = None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if best is None or w < best[0]:
            best = (w, c, out)
    return best


def run_store(n: int, repeat: int) -> None:
    root = tempfile.mkdtemp(prefix="bigplan-bench-")
    path = os.path.join(root, "store")
    try:
        w, c, _ = _clock(lambda: economy(n))
        print(f"| build synthetic economy (n={n:,}, nnz={economy(n).nnz:,}) | {w:.2f} | {c:.2f} |")
        e = economy(n)
        s = open_store(path, snapshot_every=10_000)
        w, c, _ = _clock(lambda: s.commit(e, author="bench", reason="init"))
        print(f"| first commit (writes the snapshot) | {w:.2f} | {c:.2f} |")
        s.close()
        w, c, _ = _clock(lambda: open_store(path).economy(), repeat)
        print(f"| open store + read latest version (best of {repeat}) | {w:.2f} | {c:.2f} |")
        s = open_store(path, snapshot_every=10_000)
        s.economy()
        ws, cs = [], []
        for i in range(repeat):
            ch = as_changes(e, revision(e, "scattered", 1000, seed=10 + i))
            w, c, _ = _clock(lambda: s.commit(ch, author="bench", reason="timing"))
            ws.append(w)
            cs.append(c)
        print(f"| commit 1,000 coefficient changes (best of {repeat}) | {min(ws):.3f} | {min(cs):.3f} |")
        w, c, _ = _clock(lambda: s.economy())
        print(f"| economy() of the new version (merge + Economy) | {w:.2f} | {c:.2f} |")
        s.close()
        w, c, _ = _clock(lambda: open_store(path).economy(), repeat)
        print(f"| open + read latest ({repeat} versions of ledger replayed) | {w:.2f} | {c:.2f} |")
        s = open_store(path)
        s.economy()
        w, c, _ = _clock(lambda: s.economy(1))
        print(f"| read version 1 (backward replay from the cached head) | {w:.2f} | {c:.2f} |")
        w, c, d = _clock(lambda: s.diff(1, s.head))
        print(f"| diff(1, head) ({len(d):,} entries) | {w:.3f} | {c:.3f} |")
        w, c, _ = _clock(lambda: s.rollback(1, author="bench"))
        print(f"| rollback to version 1 | {w:.3f} | {c:.3f} |")
        s.close()
        s = open_store(path, snapshot_every=1)
        s.economy()
        w, c, _ = _clock(lambda: s.commit(as_changes(e, revision(e, "scattered", 1000, seed=99)), author="b", reason="s"))
        print(f"| commit 1,000 changes + a full snapshot | {w:.2f} | {c:.2f} |")
        s.close()
        mb = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 1e6
        print(f"| store size on disk | {mb:.0f} MB | |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_replan(n: int, k: int, m: int, scenarios: list[str], repeat: int) -> None:
    e = economy(n, labelled=False)
    Y = final_demand(n, k, seed=3)
    w, c, sol = _clock(lambda: bigplan.solve_output(e, Y))
    X, res = sol.output, sol.residual
    print(f"n={n:,} nnz={e.nnz:,} plans={k}: initial cold solve {w:.1f} s wall, {c:.1f} s CPU, "
          f"{sol.iterations} iterations ({sol.method})")
    print()
    print("| revision | cold: wall s / CPU s / matvecs | warm start: wall / CPU / ratio | update: wall / CPU / "
          "matvecs | update/cold wall, CPU | update method: columns solved | max rel diff vs cold |")
    print("|---|---|---|---|---|---|---|")
    for kind in scenarios:
        rev = revision(e, kind, m)
        e2 = e.with_changes(as_changes(e, rev))
        delta = (rev[0], rev[1], rev[2] - np.asarray(e.A[rev[0], rev[1]]).ravel())
        bigplan.solve_output(e2, Y[:, :1])  # operator built outside the timings, for all three
        wc, cc, cold = _clock(lambda: bigplan.solve_output(e2, Y), repeat)
        ww, cw, warm = _clock(lambda: replan(e2, Y, X, method="warm", residual=res), repeat)
        wu, cu, upd = _clock(lambda: replan(e2, Y, X, delta=delta, residual=res), repeat)
        diff = float(np.max(np.abs(upd.output - cold.output)) / np.max(np.abs(cold.output)))
        print(f"| {kind} | {wc:.1f} / {cc:.1f} / {cold.matvecs} | {ww:.1f} / {cw:.1f} / {ww / wc:.2f} | "
              f"{wu:.1f} / {cu:.1f} / {upd.matvecs} | {wu / wc:.2f}, {cu / cc:.2f} | {upd.method}: {upd.mode} | "
              f"{diff:.1e} |",
              flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["store", "replan"])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--plans", type=int, default=64)
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args(argv)
    if a.what == "store":
        print("| operation | wall s | CPU s |\n|---|---|---|")
        run_store(a.n, max(1, a.repeat))
    else:
        run_replan(a.n, a.plans, a.changes, a.scenarios.split(","), max(1, a.repeat))


if __name__ == "__main__":
    main()
