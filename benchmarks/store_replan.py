#!/usr/bin/env python
"""The coefficient memory by hand: store operations, and re-planning after a revision, timed (wall and CPU).

The economies and revisions are those of the asv suite ``benchmarks/benchmarks/bench_inventory.py``
(``technical_matrix(n, seed=0)`` from the disk cache, unit labour, stocks 1, capacity 2).

``store`` times: opening a store and reading its latest version, committing 1,000 coefficient
changes, reading an old version, diff and roll-back, a commit with a full snapshot, the size on disk.
``replan`` times, for each kind of revision of ``--changes`` coefficients (``scattered``: random
entries anywhere; ``columns``: whole input columns of products whose method changed; ``rows``: ten
widely used inputs, each saved in a hundred products; ``row``: one input's coefficient in many
products, like a new energy efficiency), the update of every plan (:func:`bigplan.inventory.replan`),
a plain warm start, and a cold solve, with wall and CPU seconds, sparse products, and the largest
difference between the update and the cold solve.  Both print Markdown tables (RESULTS.md).

Examples::

    python benchmarks/store_replan.py store --n 1000000 --repeat 3
    python benchmarks/store_replan.py replan --n 1000000 --plans 64 --changes 1000
    python benchmarks/store_replan.py through-store --n 100000 --plans 64 --changes 1000 --repeat 3
    python benchmarks/store_replan.py through-store --n 1000000 --plans 64 --changes 1000

``through-store`` times re-planning through the store (a commit that re-plans, and ``store.replan()``)
against a cold solve and the array-level update in the same process (issue 11, item 3).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

import _measure as measure
import numpy as np

# the asv suite's inputs
from benchmarks.bench_inventory import SCENARIOS, as_changes, economy, revision

import bigplan
from bigplan.inventory import open_store, replan
from bigplan.synthetic import final_demand

clock = measure.clock


def run_store(n: int, repeat: int) -> None:
    """Print one Markdown row per store operation: wall and CPU seconds."""
    root = tempfile.mkdtemp(prefix="bigplan-bench-")
    path = os.path.join(root, "store")
    try:
        w, c, _ = clock(lambda: economy(n))
        print(f"| build synthetic economy (n={n:,}, nnz={economy(n).nnz:,}) | {w:.2f} | {c:.2f} |")
        e = economy(n)
        s = open_store(path, snapshot_every=10_000)
        w, c, _ = clock(lambda: s.commit(e, author="bench", reason="init"))
        print(f"| first commit (writes the snapshot) | {w:.2f} | {c:.2f} |")
        s.close()
        w, c, _ = clock(lambda: open_store(path).economy(), repeat)
        print(f"| open store + read latest version (best of {repeat}) | {w:.2f} | {c:.2f} |")
        s = open_store(path, snapshot_every=10_000)
        s.economy()
        ws, cs = [], []
        for i in range(repeat):
            ch = as_changes(e, revision(e, "scattered", 1000, seed=10 + i))
            w, c, _ = clock(lambda: s.commit(ch, author="bench", reason="timing"))
            ws.append(w)
            cs.append(c)
        print(f"| commit 1,000 coefficient changes (best of {repeat}) | {min(ws):.3f} | {min(cs):.3f} |")
        w, c, _ = clock(lambda: s.economy())
        print(f"| economy() of the new version (merge + Economy) | {w:.2f} | {c:.2f} |")
        s.close()
        w, c, _ = clock(lambda: open_store(path).economy(), repeat)
        print(f"| open + read latest ({repeat} versions of ledger replayed) | {w:.2f} | {c:.2f} |")
        s = open_store(path)
        s.economy()
        w, c, _ = clock(lambda: s.economy(1))
        print(f"| read version 1 (backward replay from the cached head) | {w:.2f} | {c:.2f} |")
        w, c, d = clock(lambda: s.diff(1, s.head))
        print(f"| diff(1, head) ({len(d):,} entries) | {w:.3f} | {c:.3f} |")
        w, c, _ = clock(lambda: s.rollback(1, author="bench"))
        print(f"| rollback to version 1 | {w:.3f} | {c:.3f} |")
        s.close()
        s = open_store(path, snapshot_every=1)
        s.economy()
        w, c, _ = clock(lambda: s.commit(as_changes(e, revision(e, "scattered", 1000, seed=99)), author="b", reason="s"))
        print(f"| commit 1,000 changes + a full snapshot | {w:.2f} | {c:.2f} |")
        s.close()
        mb = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 1e6
        print(f"| store size on disk | {mb:.0f} MB | |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_replan(n: int, k: int, m: int, scenarios: list[str], repeat: int) -> None:
    """Print one Markdown row per revision: cold solve, warm start and update of ``k`` plans."""
    e = economy(n, labelled=False)
    Y = final_demand(n, k, seed=3)
    w, c, sol = clock(lambda: bigplan.solve_output(e, Y))
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
        wc, cc, cold = clock(lambda: bigplan.solve_output(e2, Y), repeat)
        ww, cw, warm = clock(lambda: replan(e2, Y, X, method="warm", residual=res), repeat)
        wu, cu, upd = clock(lambda: replan(e2, Y, X, delta=delta, residual=res), repeat)
        diff = float(np.max(np.abs(upd.output - cold.output)) / np.max(np.abs(cold.output)))
        print(f"| {kind} | {wc:.1f} / {cc:.1f} / {cold.matvecs} | {ww:.1f} / {cw:.1f} / {ww / wc:.2f} | "
              f"{wu:.1f} / {cu:.1f} / {upd.matvecs} | {wu / wc:.2f}, {cu / cc:.2f} | "
              f"{upd.method}: {getattr(upd, 'mode', '')} | {diff:.1e} |",
              flush=True)


def run_through_store(n: int, k: int, m: int, repeat: int, labelled: bool) -> None:
    """Re-planning through the store (issue 11, item 3): ``k`` plans after one input is saved by ``m`` of its users.

    In one process, on the same economy object: ``commit`` (with its re-plan: outputs,
    labour, values, capacity, one block written), ``store.replan()`` after a commit
    made with ``replan=False``, a cold :func:`bigplan.solve_output` of the same plans
    (operator already built) and the array-level :func:`bigplan.inventory.replan`
    (delta and previous outputs given, nothing read or written), on the same economy (its operators
    already built by the store's re-plan) and on a fresh :class:`~bigplan.Economy` of the same arrays
    (operators built inside the call, as the store's re-plan of a new version must).  Best of ``repeat``.
    """
    root = tempfile.mkdtemp(prefix="bigplan-bench-")
    try:
        e = economy(n, labelled=labelled)
        Y = final_demand(n, k, seed=3)
        s = open_store(os.path.join(root, "store"), snapshot_every=10_000)
        s.commit(e, author="bench", reason="init")
        s.add_plans(Y, names=[f"plan{j}" for j in range(k)], author="bench")
        w, _, _ = clock(lambda: s.replan())
        print(f"n={n:,} nnz={e.nnz:,} plans={k}, one input saved by {m:,} of its users; first (cold) store "
              f"re-plan {w:.2f} s wall")
        r, cols, vals = revision(e, "row", m)
        lab = e.labels if e.labels is not None else np.arange(n)
        rows = {"commit (re-plans)": [], "store.replan()": [], "store.replan(values=False)": [],
                "cold solve_output": [], "inventory.replan": [], "inventory.replan, fresh Economy": [],
                "array-level same report": []}
        cap = np.where(np.isfinite(e.capacity), e.capacity, np.inf) if e.capacity is not None else None
        split = []
        for i in range(repeat):
            whats = ("commit (re-plans)", "store.replan()", "store.replan(values=False)")
            for w_i, what in enumerate(whats):
                f = 1.0 - 0.02 * (len(whats) * i + w_i + 1)
                old = s.economy()
                v_before = s._states.plan_cache.get("values")  # the values the store warm-starts from
                ch = {(lab[a], lab[b]): float(x * f) for a, b, x in zip(r, cols, vals)}
                X_prev, res_prev = s.last_replan.output, s.last_replan.residual  # in memory: no copy
                if what == "commit (re-plans)":
                    w, _, res = clock(lambda: s.commit(ch, author="bench", reason="revision"))  # noqa: B023
                    rep = res.replan
                else:
                    s.commit(ch, author="bench", reason="revision", replan=False)
                    kw = {} if what == "store.replan()" else {"values": False}
                    w, _, rep = clock(lambda: s.replan(**kw))  # noqa: B023
                rows[what].append(w)
                split.append((what, rep.seconds, rep.report_seconds, rep.mode, len(rep.moved), 0 if rep.values is None else len(rep.values)))
                new = s.economy()
                delta = (r, cols, np.asarray(new.A[r, cols]).ravel() - np.asarray(old.A[r, cols]).ravel())
                wc, _, cold = clock(lambda: bigplan.solve_output(new, Y))  # noqa: B023
                rows["cold solve_output"].append(wc)
                wa, _, _ = clock(lambda: replan(new, Y, X_prev, delta=delta, residual=res_prev))  # noqa: B023
                rows["inventory.replan"].append(wa)
                fresh = bigplan.Economy(new.A, new.labour, certificate=new.productivity)  # nothing cached yet
                wf, _, _ = clock(lambda: replan(fresh, Y, X_prev, delta=delta, residual=res_prev))  # noqa: B023
                rows["inventory.replan, fresh Economy"].append(wf)
                # the store's report at the array level: outputs, capacity short, labour needed before and
                # after, labour values warm-started from the last ones (what a user would call without it)
                fresh = bigplan.Economy(new.A, new.labour, certificate=new.productivity)

                def same_report():
                    out = replan(fresh, Y, X_prev, delta=delta, residual=res_prev, capacity=cap)  # noqa: B023
                    _ = fresh.labour @ X_prev, fresh.labour @ out.output  # noqa: B023
                    bigplan.labour_values(fresh, x0=None if not v_before else v_before[1][0])  # noqa: B023
                    return out

                wl, _, _ = clock(same_report)
                rows["array-level same report"].append(wl)
                fresh = None
                err = float(np.max(np.abs(rep.output - cold.output)) / np.max(np.abs(cold.output)))
                assert err < 1e-8, err
                cold = rep = res = X_prev = None  # keep the process's memory to the store's blocks (10^6 x 64)
        best = {key: min(v) for key, v in rows.items()}
        print()
        print(f"| step | wall s (best of {repeat}) | / cold solve | / inventory.replan |")
        print("|---|---|---|---|")
        for key, w in best.items():
            print(f"| {key} | {w:.3f} | {w / best['cold solve_output']:.2f} | {w / best['inventory.replan']:.2f} |")
        print()
        print(f"like for like: store.replan() / array-level same report = "
              f"{best['store.replan()'] / best['array-level same report']:.2f}; "
              f"store.replan(values=False) / inventory.replan = "
              f"{best['store.replan(values=False)'] / best['inventory.replan']:.2f}")
        print()
        for what, sec, rsec, mode, nm, nv in split:
            print(f"{what}: solve {sec:.3f} s, report {rsec:.3f} s, {mode}, {nm:,} (product, plan) moved, "
                  f"{nv:,} values moved")
        s.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["store", "replan", "through-store"],
                    help="store operations, re-planning after a revision (arrays), or re-planning through the store")
    ap.add_argument("--n", type=lambda s: int(float(s)), default=100_000, help="products (default 1e5)")
    ap.add_argument("--plans", type=int, default=64, help="replan: plans (default 64)")
    ap.add_argument("--changes", type=int, default=1000, help="replan: changed coefficients (default 1000)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="replan: kinds of revision, comma-separated")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs; the best is shown (default 1)")
    ap.add_argument("--labelled", action="store_true", help="through-store: label the products (p0000000...)")
    a = ap.parse_args(argv)
    if a.what == "store":
        print("| operation | wall s | CPU s |\n|---|---|---|")
        run_store(a.n, max(1, a.repeat))
    elif a.what == "through-store":
        run_through_store(a.n, a.plans, a.changes, max(1, a.repeat), a.labelled)
    else:
        run_replan(a.n, a.plans, a.changes, a.scenarios.split(","), max(1, a.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
