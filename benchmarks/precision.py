#!/usr/bin/env python
"""One plan and a 16-plan batch at 10^6 products for each storage precision, index width and method.

The benchmark economy (``benchmarks/benchmarks/common.py``: ``technical_matrix(n,
inputs_per_product=20, column_sum=0.7)``, from the disk cache), stored as each case says.  Prints
one Markdown row per case: the best of two warm one-plan solves (the operator is built and cached
by an untimed first call), then one 16-plan batch.

Example::

    python benchmarks/precision.py --n 1000000
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import bigplan

# benchmarks/benchmarks/common.py: the asv suite's cached economies
from benchmarks import common

CASES = [
    ("float64, int32 indices", {}, "bicgstab"),
    ("float64, int64 indices", {"index_dtype": np.int64}, "bicgstab"),
    ("float32 (float64 accumulation)", {"dtype": np.float32}, "bicgstab"),
    ("float64", {}, "refined"),
    ("float32", {"dtype": np.float32}, "refined"),
    ("float64", {}, "neumann"),
]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=lambda s: int(float(s)), default=1_000_000, help="products (default 1e6)")
    args = p.parse_args(argv)
    A = common.matrix(args.n, 20, 0.7, seed=0, keep=False)  # technical_matrix(n, 20, column_sum=0.7, seed=0)
    y = common.demand(args.n, 1, seed=1)
    Y = common.demand(args.n, 16, seed=2)
    print("| storage | method | one plan s | mat-vecs | residual | 16 plans s | max residual |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, kw, meth in CASES:
        e = bigplan.Economy(A, **kw)
        bigplan.solve_output(e, y, method=meth)  # builds and caches the operator
        times = []
        for _ in range(2):
            t = time.perf_counter()
            s = bigplan.solve_output(e, y, method=meth)
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        b = bigplan.solve_output(e, Y, method=meth)
        tb = time.perf_counter() - t
        print(
            f"| {label} | {meth} | {min(times):.3f} | {s.matvecs} | {float(np.max(s.residual)):.1e} | {tb:.2f} | "
            f"{float(np.max(b.residual)):.1e} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
