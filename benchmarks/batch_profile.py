#!/usr/bin/env python
"""Where a batched solve's time goes: every backend primitive timed, call by call.

Builds the benchmark economy (``benchmarks/benchmarks/common.py``: ``technical_matrix(n,
inputs_per_product=20, column_sum=0.7)``, from the disk cache), solves one plan to build the
operators, then solves ``k`` plans twice with ``solve_output`` (the first call is cold: fresh
memory; the second reuses the backend's workspace).  For the second call it prints, per public
method of the NumPy backend (its primitives, whatever they are called) that the solver called,
the number of calls, the total and the per-call times in milliseconds (a primitive's calls to
other primitives count as its own time).

Examples::

    python benchmarks/batch_profile.py --n 1000000 --k 64
    python benchmarks/batch_profile.py --n 1000000 --k 64 --method bicgstab
"""

from __future__ import annotations

import argparse
import collections
import inspect
import sys
import threading
import time

import bigplan

# benchmarks/benchmarks/common.py: the asv suite's cached economies
from benchmarks import common


def primitives(cls) -> list[str]:
    """Public plain methods of a backend class and its bases (properties and attributes left out)."""
    names = set()
    for klass in inspect.getmro(cls):
        if klass is object:
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and inspect.isfunction(value):
                names.add(name)
    return sorted(names)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=lambda s: int(float(s)), default=1_000_000, help="products (default 1e6)")
    p.add_argument("--k", type=int, default=64, help="plans in the batch (default 64)")
    p.add_argument("--method", default="auto", help="bigplan's method (default auto)")
    args = p.parse_args(argv)
    econ = common.economy(args.n, 20, 0.7)
    bigplan.solve_output(econ, common.demand(args.n, 1, seed=1), backend="numpy", method=args.method)
    Y = common.demand(args.n, args.k, seed=2)
    t0 = time.perf_counter()
    sol = bigplan.solve_output(econ, Y, backend="numpy", method=args.method)
    cold = time.perf_counter() - t0
    del sol
    cls = type(bigplan.get_backend("numpy"))
    calls = collections.defaultdict(list)
    depth = threading.local()  # a primitive that calls another is timed once, as the outer one
    originals = {name: (name in vars(cls), getattr(cls, name)) for name in primitives(cls)}
    for name, (_, f) in originals.items():

        def timed(*a, _f=f, _n=name, **kw):
            outer = not getattr(depth, "n", 0)
            depth.n = getattr(depth, "n", 0) + 1
            t = time.perf_counter()
            try:
                return _f(*a, **kw)
            finally:
                depth.n -= 1
                if outer:
                    calls[_n].append(time.perf_counter() - t)

        setattr(cls, name, timed)
    try:
        t0 = time.perf_counter()
        sol = bigplan.solve_output(econ, Y, backend="numpy", method=args.method)
        warm = time.perf_counter() - t0
    finally:  # put the methods back
        for name, (own, f) in originals.items():
            if own:
                setattr(cls, name, f)
            else:
                delattr(cls, name)
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
