#!/usr/bin/env python
"""One plan and a 16-plan batch at 10^6 products for each storage precision, index width and method.

Usage: ``python benchmarks/precision.py [--n 1000000]``.  Prints one Markdown row per case: the best of two
warm one-plan solves (the operator is built and cached by an untimed first call), then one 16-plan batch.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import bigplan
from bigplan.synthetic import final_demand, technical_matrix

CASES = [
    ("float64, int32 indices", {}, "bicgstab"),
    ("float64, int64 indices", {"index_dtype": np.int64}, "bicgstab"),
    ("float32 (float64 accumulation)", {"dtype": np.float32}, "bicgstab"),
    ("float64", {}, "refined"),
    ("float32", {"dtype": np.float32}, "refined"),
    ("float64", {}, "neumann"),
]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=lambda s: int(float(s)), default=1_000_000)
    args = p.parse_args(argv)
    A = technical_matrix(args.n, inputs_per_product=20, column_sum=0.7, seed=0)
    y = final_demand(args.n, seed=1)
    Y = final_demand(args.n, 16, seed=2)
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
            f"| {label} | {meth} | {min(times):.3f} | {s.matvecs} | {s.residual:.1e} | {tb:.2f} | "
            f"{b.residual.max():.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
