#!/usr/bin/env python
"""Where a batched solve's time goes: every backend primitive timed, call by call.

Builds the benchmark economy (``benchmarks/common.py``: ``technical_matrix(n,
inputs_per_product=20, column_sum=0.7)``), solves one plan to build the
operators, then solves ``k`` plans twice with ``solve_output`` (the first call
is cold: fresh memory; the second reuses the backend's workspace).  For the
second call it prints, per NumPy-backend primitive, the number of calls, the
total and the per-call times in milliseconds.

Example::

    python benchmarks/batch_profile.py --n 1000000 --k 64
    python benchmarks/batch_profile.py --n 1000000 --k 64 --method bicgstab
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bigplan  # noqa: E402
from benchmarks import common  # noqa: E402
from bigplan import cpu  # noqa: E402

PRIMITIVES = [
    "i_minus", "i_minus_dot", "i_minus_dot2", "residual", "step_end", "p_update", "axpy", "coldot", "coldot2",
    "colnorm", "colrange", "block", "zeros", "add_widened", "take_columns", "put_columns", "copy_into",
]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=lambda s: int(float(s)), default=1_000_000)
    p.add_argument("--k", type=int, default=64)
    p.add_argument("--method", default="auto")
    args = p.parse_args(argv)
    econ = common.economy(args.n, 20, 0.7)
    bigplan.solve_output(econ, common.demand(args.n, 1, seed=1), backend="numpy", method=args.method)
    Y = common.demand(args.n, args.k, seed=2)
    t0 = time.perf_counter()
    sol = bigplan.solve_output(econ, Y, backend="numpy", method=args.method)
    cold = time.perf_counter() - t0
    del sol
    calls = collections.defaultdict(list)
    originals = {name: getattr(cpu.NumpyBackend, name) for name in PRIMITIVES}
    for name, f in originals.items():

        def timed(*a, _f=f, _n=name, **kw):
            t = time.perf_counter()
            out = _f(*a, **kw)
            calls[_n].append(time.perf_counter() - t)
            return out

        setattr(cpu.NumpyBackend, name, timed)
    t0 = time.perf_counter()
    sol = bigplan.solve_output(econ, Y, backend="numpy", method=args.method)
    warm = time.perf_counter() - t0
    for name, f in originals.items():  # put the methods back
        setattr(cpu.NumpyBackend, name, f)
    print(f"n={args.n:,} k={args.k} method={sol.method} iterations={sol.iterations} matvecs={sol.matvecs} "
          f"max residual={float(max(sol.residual.ravel())):.2g}")
    print(f"cold call {cold:.2f} s, warm call {warm:.2f} s")
    total = 0.0
    for name, ts in sorted(calls.items(), key=lambda kv: -sum(kv[1])):
        total += sum(ts)
        per = ", ".join(f"{1e3 * t:.0f}" for t in ts) if len(ts) <= 40 else "..."
        print(f"{name:14s} {sum(ts):6.2f} s  {len(ts):3d} calls  [{per}] ms")
    print(f"{'sum':14s} {total:6.2f} s  (the rest of the warm call: Python, validation, results)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
