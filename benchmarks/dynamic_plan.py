#!/usr/bin/env python
"""The dynamic model by hand: one economy, 10-period plans and the maximal growth rate, timed.

The economy and targets are those of the asv suite ``benchmarks/benchmarks/bench_dynamic.py``
(``technical_matrix(n, inputs_per_product=20, column_sum=0.7)`` from the disk cache, a capital
matrix with 5 inputs per product, depreciation 5 %, one row of labour; ``g* = 0.15``).  For each
kind of targets it prints the plan's time, sweeps, solves, mat-vecs per column, feasibility,
largest balance residual and idle share; then ``max_growth_rate``'s time and bracket.

Examples::

    python benchmarks/dynamic_plan.py 1000000 balanced drift
    python benchmarks/dynamic_plan.py 100000
"""

from __future__ import annotations

import argparse
import sys
import time

import _measure as measure

# benchmarks/benchmarks/: the asv suite's economy and targets
from benchmarks import bench_dynamic
from bigplan.dynamic import max_growth_rate


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("n", nargs="?", type=lambda s: int(float(s)), default=10**5, help="products (default 1e5)")
    p.add_argument("targets", nargs="*", help="kinds of targets: balanced, drift (default both)")
    args = p.parse_args(argv)
    kinds = args.targets or ["balanced", "drift"]
    bad = sorted(set(kinds) - {"balanced", "drift"})
    if bad:
        p.error(f"unknown targets {bad}: choose from balanced, drift")
    measure.print_machine(measure.machine_info(devices=False))
    t = time.perf_counter()
    econ = bench_dynamic.make_economy(args.n)
    print(f"economy n={args.n} built in {time.perf_counter() - t:.1f} s")
    for kind in kinds:
        t = time.perf_counter()
        plan = bench_dynamic.run_plan(args.n, kind)
        dt = time.perf_counter() - t
        print(
            f"plan T={bench_dynamic.HORIZON} targets={kind}: {dt:.1f} s, sweeps={plan.sweeps}, solves={plan.solves}, "
            f"matvecs/column={plan.matvecs}, feasible={plan.feasible}, max balance residual="
            f"{plan.residual().max():.2e}, idle/capacity={plan.idle.sum() / plan.capacity.sum():.3g}"
        )
    t = time.perf_counter()
    r = max_growth_rate(econ, backend="numpy")
    print(f"max_growth_rate: {time.perf_counter() - t:.1f} s, {r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
