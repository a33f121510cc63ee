#!/usr/bin/env python
"""float64 BiCGSTAB against mixed-precision refinement, by economy size and batch width.

For each ``n`` and each ``k``: the benchmark economy (``benchmarks/benchmarks/common.py``),
``k`` plans from ``final_demand``, one untimed call per method, then the best of
two timed ``solve_output`` calls on the NumPy backend.  This is the evidence
behind ``Auto.refine_from``.

Example::

    python benchmarks/method_crossover.py --n 1000000 --k 1 4 16
    python benchmarks/method_crossover.py --n 100000 --k 1 8 64
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import bigplan

# benchmarks/benchmarks/common.py: the asv suite's cached economies
from benchmarks import common


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=lambda s: int(float(s)), default=1_000_000, help="products (default 1e6)")
    p.add_argument("--k", type=int, nargs="+", default=[1, 4, 16, 64], help="batch widths (default 1 4 16 64)")
    p.add_argument("--methods", nargs="+", default=["bicgstab", "refined"], help="methods (default bicgstab refined)")
    args = p.parse_args(argv)
    econ = common.economy(args.n, 20, 0.7)
    print("| n | plans | method | best of 2 s | iterations | max residual |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k in args.k:
        Y = common.demand(args.n, k, seed=2)
        for m in args.methods:
            bigplan.solve_output(econ, Y, backend="numpy", method=m)
            ts = []
            for _ in range(2):
                t0 = time.perf_counter()
                sol = bigplan.solve_output(econ, Y, backend="numpy", method=m)
                ts.append(time.perf_counter() - t0)
            print(f"| {args.n:,} | {k} | {sol.method} | {min(ts):.3f} | {sol.iterations} | "
                  f"{float(np.max(sol.residual)):.2g} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
