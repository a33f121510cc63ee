#!/usr/bin/env python
"""bigplan against SciPy's ``bicgstab`` on one synthetic economy, in one process.

Builds ``A = technical_matrix(n, inputs_per_product=INPUTS, column_sum=RADIUS)``
(spectral radius RADIUS) and ``I - A`` in CSR once, outside every timing, then
runs, with the same ``rtol`` and ``atol=0`` (each solver warmed up on a small
economy first):

* SciPy: ``scipy.sparse.linalg.bicgstab(I - A, y)`` for one plan, and for each
  of the k plans one after the other (``--seq S`` runs only S of them and
  extrapolates the k-plan time, labelled as such);
* bigplan: ``solve_output`` on each backend for the same plan and for the
  k-plan batch in one call (host NumPy arrays in and out, as a SciPy user would
  call it).  Each backend is first warmed up on a small economy; JAX and CuPy
  also get one untimed full-size call (JAX compiles per shape), and NumPy one
  for the first row (it builds and caches the float32 copy of ``A`` that
  ``method="auto"`` may use, on the economy), shown as "first s".  With
  ``--repeat R`` every run's time is listed in the note and the best is shown:
  the first run of the batch is the "cold" one (the NumPy backend then keeps
  the blocks it freed for the next solve).

The residual ``||y - (I - A) x|| / ||y||`` of every answer is computed here
with SciPy's CSR, for both.  Memory: the RSS high-water mark of each phase
(reset between phases through ``/proc/self/clear_refs`` on Linux; elsewhere
``getrusage`` gives the process peak so far), its increase over the phase's
starting RSS plus the bytes of blocks bigplan kept from an earlier solve (its
workspace: memory the solve uses without RSS growing), and
``(CSR bytes of A + that) / CSR bytes of A``: what a solve needs, counting the
matrix, relative to the matrix.

Examples::

    python benchmarks/compare_scipy.py --n 1000000 --k 64
    python benchmarks/compare_scipy.py --n 1000000 --k 64 --seq 8 --backends numpy
    python benchmarks/compare_scipy.py --n 1000000 --k 64 --backends numpy --repeat 2 --method bicgstab
    python benchmarks/compare_scipy.py --n 100000 --k 8 --json /tmp/compare.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=lambda s: int(float(s)), default=1_000_000, help="products (default 1e6)")
    p.add_argument("--inputs", type=float, default=20, help="inputs per product (default 20)")
    p.add_argument("--radius", type=float, default=0.7, help="spectral radius = column sum of A (default 0.7)")
    p.add_argument("--k", type=int, default=64, help="plans in the batch (default 64)")
    p.add_argument("--rtol", type=float, default=1e-10, help="relative residual to reach (default 1e-10)")
    p.add_argument(
        "--seq",
        type=int,
        default=None,
        help="sequential SciPy solves to run for the k-plan comparison (default: all k); "
        "fewer are timed and extrapolated to k, and labelled so",
    )
    p.add_argument("--backends", default="numpy,jax,cupy", help="bigplan backends, comma-separated (default all)")
    p.add_argument("--repeat", type=int, default=1, help="timed runs of each row; the best is shown, all in the note (default 1)")
    p.add_argument("--method", default="auto", help="bigplan's method (default auto: it says which it chose)")
    p.add_argument("--seed", type=int, default=0, help="seed of the economy (default 0)")
    p.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="set OPENBLAS/OMP/MKL_NUM_THREADS before NumPy loads (both solvers use BLAS for dot products); "
        "default: leave the environment as it is (it is printed)",
    )
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    if args.k < 1 or args.n < 2 or args.repeat < 1:
        p.error("need --n >= 2, --k >= 1, --repeat >= 1")
    if args.seq is not None and not 1 <= args.seq <= args.k:
        p.error("--seq must lie in 1..k")
    return args


def main(argv=None) -> int:
    args = _parse(argv)
    if args.blas_threads is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.blas_threads)
        if "numpy" in sys.modules:
            print("warning: NumPy was already imported; --blas-threads may not take effect", file=sys.stderr)

    import _measure as measure
    import numpy as np

    import bigplan

    # benchmarks/benchmarks/common.py: the asv suite's cached economies
    from benchmarks import common

    def say(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    print("bigplan vs scipy.sparse.linalg.bicgstab, one process")
    info = measure.machine_info()
    measure.print_machine(info)
    say(f"economy: n={args.n:,}, {args.inputs:g} inputs per product, spectral radius {args.radius}, seed {args.seed}")
    econ = common.economy(args.n, args.inputs, args.radius, args.seed, progress=say)
    A = econ.A
    csr = measure.csr_bytes(A)
    M = measure.leontief_csr(A)  # SciPy's operator, built once, outside the timings
    y = common.demand(args.n, 1, seed=args.seed + 1)
    Y = common.demand(args.n, args.k, seed=args.seed + 2)
    say(f"nnz={A.nnz:,}, CSR of A {csr / 2**20:.1f} MiB ({A.indices.dtype} indices), I - A built")

    runs: dict = {}

    def best_run(run, key=None):
        """Best of args.repeat runs of ``run()`` -> (result, seconds, peak RSS, RSS at start).

        The RSS at start is lowered by the backend's kept workspace, so that memory
        counts as the solve's.  All times are kept in ``runs[key]``.
        """
        best = None
        for _ in range(args.repeat):
            rss0 = measure.rss_bytes()
            kept = measure.workspace_held()
            reset = measure.reset_peak_rss()
            t0 = time.perf_counter()
            out = run()
            dt = time.perf_counter() - t0
            peak = measure.peak_rss_bytes()
            runs.setdefault(key, []).append(dt)
            if best is None or dt < best[1]:
                best = (out, dt, peak, (rss0 - kept) if reset else None)
        return best

    def mem_cols(row, peak, rss0):
        row["peak_mib"] = peak / 2**20
        if rss0 is not None:
            extra = max(0, peak - rss0)
            row["extra_mib"] = extra / 2**20
            row["mem_over_csr"] = (csr + extra) / csr

    rows: list[dict] = []

    # -- SciPy, one plan (warmed up like every bigplan backend) ----------------
    small = bigplan.Economy(bigplan.synthetic.technical_matrix(5000, inputs_per_product=args.inputs, column_sum=args.radius))
    measure.scipy_bicgstab(measure.leontief_csr(small.A), bigplan.synthetic.final_demand(5000), args.rtol)
    say("SciPy bicgstab, one plan ...")
    (x, info1, its), t_sp1, peak, rss0 = best_run(lambda: measure.scipy_bicgstab(M, y, args.rtol))
    row = {
        "solver": "scipy bicgstab",
        "plans": 1,
        "seconds": t_sp1,
        "iterations": its,
        "matvecs": 2 * its,
        "residual": measure.relative_residual(M, y, x),
        "ratio": 1.0,
        "note": f"info={info1}",
    }
    mem_cols(row, peak, rss0)
    rows.append(row)

    # -- SciPy, k plans one after the other ------------------------------------
    seq = args.k if args.seq is None else args.seq
    say(f"SciPy bicgstab, {seq} of {args.k} plans one after the other ...")
    t_seq, its_max, mv, res_max, infos = 0.0, 0, 0, 0.0, set()
    rss0 = measure.rss_bytes()
    reset = measure.reset_peak_rss()
    for j in range(seq):
        yj = np.ascontiguousarray(Y[:, j])
        t0 = time.perf_counter()
        xj, inf, its = measure.scipy_bicgstab(M, yj, args.rtol)
        t_seq += time.perf_counter() - t0
        its_max, mv, infos = max(its_max, its), mv + 2 * its, infos | {inf}
        res_max = max(res_max, measure.relative_residual(M, yj, xj))
    peak = measure.peak_rss_bytes()
    extrapolated = seq < args.k
    t_seq_k = t_seq * args.k / seq
    row = {
        "solver": f"scipy bicgstab x{args.k} sequential" + (" (EXTRAPOLATED)" if extrapolated else ""),
        "plans": args.k,
        "seconds": t_seq_k,
        "iterations": its_max,
        "matvecs": round(mv * args.k / seq),
        "residual": res_max,
        "ratio": 1.0,
        "note": (f"extrapolated from {seq} of {args.k} solves ({t_seq:.3g} s measured); " if extrapolated else "")
        + f"info={sorted(infos)}",
    }
    mem_cols(row, peak, rss0 if reset else None)
    rows.append(row)

    # -- bigplan ----------------------------------------------------------------
    results = {}
    for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
        why = common.unavailable(name)
        if why:
            print(f"bigplan-{name}: skipped: {why}")
            rows.append({"solver": f"bigplan-{name}", "note": f"skipped: {why}"})
            continue
        say(f"bigplan-{name}: warm-up on n=5000 ...")
        bigplan.solve_output(small, bigplan.synthetic.final_demand(5000, 2), backend=name, method="bicgstab")
        for plans, rhs, t_ref in ((1, y, t_sp1), (args.k, Y, t_seq_k)):
            label = f"bigplan-{name}"
            first = None
            try:
                if name != "numpy" or plans == 1:  # compile for these shapes, upload A / build its layout
                    say(f"{label}, {plans} plan(s): first (untimed) call ...")
                    t0 = time.perf_counter()
                    measure.solve(econ, rhs, name, args.rtol, method=args.method)
                    first = time.perf_counter() - t0
                say(f"{label}, {plans} plan(s) ...")
                sol, dt, peak, rss0 = best_run(lambda: measure.solve(econ, rhs, name, args.rtol, method=args.method), (name, plans))
            except Exception as exc:  # noqa: BLE001 - one backend's failure must not hide the others
                say(f"{label}: failed: {type(exc).__name__}: {exc}")
                rows.append({"solver": label, "plans": plans, "note": f"failed: {type(exc).__name__}: {exc}"})
                continue
            row = {
                "solver": label,
                "plans": plans,
                "seconds": dt,
                "first_s": first,
                "iterations": sol.iterations,
                "matvecs": sol.matvecs,
                "residual": measure.relative_residual(M, rhs, sol.output),
                "ratio": dt / t_ref,
                "note": f"method={sol.method}" + ("" if sol.converged else " NOT CONVERGED")
                + (f"; runs {', '.join(f'{t:.3g}' for t in runs[(name, plans)])} s" if args.repeat > 1 else ""),
            }
            mem_cols(row, peak, rss0)
            rows.append(row)
            results[(name, plans)] = row
            del sol

    # -- report -----------------------------------------------------------------
    print()
    print(
        f"n={args.n:,}  nnz={A.nnz:,}  inputs/product={args.inputs:g}  spectral radius={args.radius}  "
        f"rtol={args.rtol:g}  k={args.k}  CSR(A)={csr / 2**20:.1f} MiB"
    )
    measure.table(
        rows,
        [
            ("solver", "solver"),
            ("plans", "plans"),
            ("seconds", "time s"),
            ("first_s", "first s"),
            ("iterations", "iters"),
            ("matvecs", "matvecs"),
            ("residual", "max rel. residual"),
            ("ratio", "time / SciPy"),
            ("peak_mib", "peak RSS MiB"),
            ("extra_mib", "+RSS MiB"),
            ("mem_over_csr", "(CSR+RSS)/CSR"),
            ("note", "note"),
        ],
    )
    print(
        "\ntime / SciPy: against SciPy for the same plans (one plan: one bicgstab; batch: k sequential bicgstab)."
        "\nSciPy matvecs = 2 x iterations (one fewer when it stops half-way through an iteration)."
        "\n+RSS: the phase's RSS high-water mark over its starting RSS, plus the blocks bigplan kept from the run before"
        "\n(its workspace); (CSR+RSS)/CSR = (CSR bytes of A + that) / CSR bytes."
    )
    print("\nsummary:")
    for name in [b.strip() for b in args.backends.split(",")]:
        one, batch = results.get((name, 1)), results.get((name, args.k))
        if one:
            print(f"  bigplan-{name}, one plan: time / SciPy = {one['ratio']:.3f}  (issue 2 target: <= 1.0)")
        if batch:
            tag = " (SciPy side EXTRAPOLATED)" if extrapolated else ""
            print(
                f"  bigplan-{name}, {args.k} plans: {1 / batch['ratio']:.2f}x faster than {args.k} sequential "
                f"SciPy solves{tag}  (issue 2 target: >= 10)"
            )
        if one and "mem_over_csr" in one:
            print(f"  bigplan-{name}, one plan: (CSR + solve memory) / CSR = {one['mem_over_csr']:.2f}  (target: < 3)")
    if args.json:
        measure.write_json(args.json, {"args": vars(args), "machine": info, "csr_bytes": csr, "nnz": A.nnz, "rows": rows})
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
