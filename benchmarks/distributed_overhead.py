"""What going past one process costs: the Dask path against a local solve, the sharded JAX path against plain JAX.

Dask (issue 13's goal: under 15 % with 2 workers on 2 cores): the same plans, in the same blocks, solved
(a) in this process, one block after another, with the NumPy backend's threads on every core, and
(b) by ``bigplan.distributed.solve_output`` on a ``LocalCluster`` of 2 worker processes x 1 thread
(``BIGPLAN_NUM_THREADS=1`` on the workers), economy sent once, plans in and answers out through Dask.
Both are timed after one untimed warm-up call (worker start-up, the economy's journey, first-touch memory).

JAX: one economy solved with ``backend="jax"`` and with ``ShardedJaxBackend`` over 1 and 2 host devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=2``, in a subprocess), after a warm-up solve that
compiles; on a CPU this measures the sharded path's overhead, not a speed-up (the devices share the cores);
``--jax-gpu`` uses JAX's own devices instead (a GPU node: the sharded path on one device against the plain one)::

    python benchmarks/distributed_overhead.py                       # 10^5 products, 1,024 plans, blocks of 128
    python benchmarks/distributed_overhead.py --n 20000 --k 256     # a quick run
    python benchmarks/distributed_overhead.py --skip-jax
    python benchmarks/distributed_overhead.py --skip-dask --jax-gpu --jax-n 10000000 --jax-k 8   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

import bigplan
from bigplan import distributed
from bigplan.synthetic import final_demand, labour_coefficients, technical_matrix

ROOT = Path(__file__).resolve().parent.parent

JAX_SCRIPT = textwrap.dedent(
    """
    import json, sys, time, numpy as np, bigplan
    from bigplan.gpu import JaxBackend
    from bigplan._jax_shard import ShardedJaxBackend
    from bigplan.synthetic import technical_matrix, final_demand
    n, k, repeat = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    e = bigplan.Economy(technical_matrix(n, inputs_per_product=20, column_sum=0.7, seed=1))
    Y = final_demand(n, k, seed=2)
    out = {}
    import jax
    pairs = [("jax", JaxBackend()), ("sharded x1", ShardedJaxBackend(devices=1))]
    if len(jax.devices()) >= 2:
        pairs.append(("sharded x2", ShardedJaxBackend(devices=2)))
    for name, bk in pairs:
        bigplan.solve_output(e, Y, backend=bk, method="bicgstab")          # compiles
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            s = bigplan.solve_output(e, Y, backend=bk, method="bicgstab")
            times.append(time.perf_counter() - t)
        out[name] = {"best": min(times), "times": times, "iterations": s.iterations,
                     "residual": float(s.residual.max()), "x": float(np.abs(s.output).sum())}
    print("RESULT" + json.dumps(out))
    """
)


def dask_overhead(n: int, k: int, block: int, repeat: int) -> dict:
    from dask.distributed import Client, LocalCluster

    e = bigplan.Economy(technical_matrix(n, inputs_per_product=20, column_sum=0.7, seed=1),
                        labour=labour_coefficients(n))
    Y = final_demand(n, k, seed=2)
    blocks = [(s, min(k, s + block)) for s in range(0, k, block)]

    def local():
        return [bigplan.solve_output(e, Y[:, a:b]) for a, b in blocks]

    local()[:1]  # warm-up: the workspace and first-touch memory
    t_local = []
    for _ in range(repeat):
        t = time.perf_counter()
        parts = local()
        t_local.append(time.perf_counter() - t)
    X_local = np.concatenate([p.output for p in parts], axis=1)
    del parts
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      env={"BIGPLAN_NUM_THREADS": "1"}, silence_logs=40) as cluster, Client(cluster) as client:
        distributed.solve_output(e, Y[:, : 2 * block], client=client, block=block)  # warm-up
        t_dist = []
        for _ in range(repeat):
            t = time.perf_counter()
            sol = distributed.solve_output(e, Y, client=client, block=block)
            t_dist.append(time.perf_counter() - t)
    diff = float(np.abs(sol.output - X_local).max() / np.abs(X_local).max())
    return {"n": n, "k": k, "block": block, "local": t_local, "dask": t_dist,
            "overhead": min(t_dist) / min(t_local) - 1.0, "max_rel_diff": diff, "method": sol.method,
            "residual": float(sol.residual.max())}


def jax_overhead(n: int, k: int, repeat: int, gpu: bool = False) -> dict:
    env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false") if gpu else dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", JAX_SCRIPT, str(n), str(k), str(repeat)], check=False, capture_output=True,
                          text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT"):])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="products for the Dask comparison (default 10^5)")
    ap.add_argument("--k", type=int, default=1024, help="plans (default 1024)")
    ap.add_argument("--block", type=int, default=128, help="plans per block (default 128)")
    ap.add_argument("--repeat", type=int, default=1, help="timed calls of each (best is reported)")
    ap.add_argument("--jax-n", type=int, default=50_000, help="products for the JAX comparison (default 5*10^4)")
    ap.add_argument("--jax-k", type=int, default=8, help="plans for the JAX comparison (default 8)")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--skip-jax", action="store_true")
    ap.add_argument("--jax-gpu", action="store_true",
                    help="JAX on its default devices (a GPU node) instead of 2 forced host devices")
    args = ap.parse_args()
    print(f"bigplan {bigplan.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if not args.skip_dask:
        r = dask_overhead(args.n, args.k, args.block, args.repeat)
        print(f"\nDask: n={r['n']:,} products, k={r['k']} plans in blocks of {r['block']} (method {r['method']}, "
              f"max residual {r['residual']:.2g}, max relative difference from local {r['max_rel_diff']:.2g})")
        print("| path | best s | all s |\n| --- | --- | --- |")
        print(f"| local, one process, blocks one after another | {min(r['local']):.2f} | "
              f"{', '.join(f'{t:.2f}' for t in r['local'])} |")
        print(f"| Dask LocalCluster, 2 workers x 1 thread | {min(r['dask']):.2f} | "
              f"{', '.join(f'{t:.2f}' for t in r['dask'])} |")
        print(f"overhead of the Dask path: {100 * r['overhead']:+.1f} %")
    if not args.skip_jax:
        r = jax_overhead(args.jax_n, args.jax_k, max(args.repeat, 2), gpu=args.jax_gpu)
        base = r["jax"]["best"]
        where = "JAX on its default devices" if args.jax_gpu else "JAX on the CPU (2 host devices)"
        print(f"\n{where}: n={args.jax_n:,}, k={args.jax_k}, method bicgstab, after a compiling warm-up")
        print("| backend | best s | vs plain JAX | iterations | max residual |\n| --- | --- | --- | --- | --- |")
        for name, v in r.items():
            print(f"| {name} | {v['best']:.3f} | {v['best'] / base:.2f}x | {v['iterations']} | {v['residual']:.2g} |")


if __name__ == "__main__":
    main()
