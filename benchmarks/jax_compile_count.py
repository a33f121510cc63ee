"""How often the JAX backend compiles over solves of new demand with the same block shape (issue 15).

Counts XLA backend compilations with a ``jax.monitoring`` listener over five
solves of different signed demand (the restart-prone case of issue 15)::

    python benchmarks/jax_compile_count.py --n 20000 --k 16

Runs on the CPU or a GPU.  Figures are in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax import monitoring  # noqa: E402

import bigplan  # noqa: E402
from bigplan.synthetic import technical_matrix  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="products (default 20000)")
    ap.add_argument("--k", type=int, default=16, help="plans per solve (default 16)")
    ap.add_argument("--solves", type=int, default=5, help="solves of new demand (default 5)")
    args = ap.parse_args()
    count = [0]

    def listener(name, duration, **kw):
        if name == "/jax/core/compile/backend_compile_duration":
            count[0] += 1

    monitoring.register_event_duration_secs_listener(listener)
    e = bigplan.Economy(technical_matrix(args.n, inputs_per_product=30, column_sum=0.999, seed=1))
    print(f"JAX {jax.__version__} on {jax.devices()[0].platform}; n={args.n} k={args.k}, rtol=1e-13, signed demand")
    prev = 0
    for s in range(args.solves):
        y = np.random.default_rng(s).standard_normal((args.n, args.k))
        t = time.perf_counter()
        r = bigplan.solve_output(e, y, backend="jax", method="bicgstab", rtol=1e-13, raise_on_failure=False)
        print(f"solve {s + 1}: {count[0] - prev} compilations, converged={r.converged}, "
              f"{r.matvecs} products, {time.perf_counter() - t:.2f} s")
        prev = count[0]


if __name__ == "__main__":
    main()
