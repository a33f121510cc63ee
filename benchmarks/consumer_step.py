#!/usr/bin/env python
"""One consumer step for many plans, timed against a plain ``solve_output`` of the same block.

The economy is the asv suite's (``benchmarks/benchmarks/bench_inventory.py``:
``technical_matrix(n, seed=0)`` from the disk cache, unit labour, stocks 1, capacity 2).  Each of
``k`` plans observes sales, stocks and last targets; :func:`bigplan.inventory.consumer_step` turns
them into price ratios, consumer targets and gross output (one batched solve).  The process is
warmed by one untimed step.  In the same process the script then solves the step's final demand
with :func:`bigplan.solve_output` (cold, like the step), and runs a step warm-started from the
previous period's output.  It prints wall and CPU seconds, iterations, and the step's overhead
over the plain solve.

With ``--backend jax`` or ``cupy`` the observations are that library's arrays, created on the
device before timing: the step's element-wise work, its solve and its results stay there
(``keep_on_device``), and the plain solve gets the step's final demand on the same device.
Every timed call waits for the device before it returns.

Examples::

    python benchmarks/consumer_step.py                      # 10^5 products, 16 plans
    python benchmarks/consumer_step.py --n 1000000 --plans 64 --repeat 1
    python benchmarks/consumer_step.py --backend jax --n 100000 --plans 16
"""

from __future__ import annotations

import argparse
import time

import _measure as measure
import numpy as np

# benchmarks/benchmarks/: the asv suite's economy
from benchmarks.bench_inventory import economy

import bigplan
from bigplan._arrays import to_host
from bigplan.backend import array_library, available_backends
from bigplan.inventory import StepRule, consumer_step

clock = measure.clock


def observations(n: int, k: int, seed: int = 0, backend: str = "numpy") -> dict:
    """Sales around a third of a unit (gross output about 1, under capacity 2), stocks around the target 1.

    Arrays of ``backend``'s library (moved there once, before any timing).
    """
    rng = np.random.default_rng(seed)
    sales = rng.uniform(0.2, 0.4, (n, k))
    stocks = rng.uniform(0.0, 2.0, (n, k))
    obs = {"sales": sales, "stocks": stocks, "targets": sales.copy()}
    return {key: measure.to_backend(v, backend) for key, v in obs.items()}


def timed(fn, backend: str):
    """``fn`` followed by a wait for the device work that produces its result's output."""

    def call():
        out = fn()
        measure.sync(out.output, backend)
        return out

    return call


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=lambda s: int(float(s)), default=10**5, help="products (default 1e5; 1e6 for RESULTS)")
    p.add_argument("--plans", type=int, default=16, help="plans (default 16; 64 for RESULTS)")
    p.add_argument("--repeat", type=int, default=2, help="best of this many calls (default 2)")
    p.add_argument("--rtol", type=float, default=measure.RTOL)
    p.add_argument("--backend", choices=("numpy", "jax", "cupy"), default="numpy",
                   help="library of the observations, the step's work and the solves (default numpy)")
    args = p.parse_args(argv)
    bk = args.backend
    if bk not in available_backends():
        print(f"backend {bk!r} is not available here (available: {available_backends()})")
        return 2
    measure.print_machine(measure.machine_info(devices=False if bk == "numpy" else bk))
    t = time.perf_counter()
    e = economy(args.n)
    print(f"economy: n={args.n:,}, nnz={e.nnz:,}, built in {time.perf_counter() - t:.1f} s; plans={args.plans}; "
          f"backend {bk}")
    v = measure.to_backend(np.asarray(bigplan.labour_values(e).values, np.float64), bk)
    obs = observations(args.n, args.plans, backend=bk)
    star = measure.to_backend(e.stocks, bk)
    rule = StepRule()
    step = lambda x0=None: consumer_step(e, **obs, stock_targets=star, values=v, rule=rule, x0=x0, rtol=args.rtol,
                                         backend=bk)
    timed(step, bk)()  # warm process: page faults, thread pools, JAX's compilation are not the step's cost
    ws, cs, st = clock(timed(step, bk), args.repeat)
    f, out = st.final_demand, st.output
    host_out = lambda x: np.asarray(to_host(x))
    step_figures = {"its": st.iterations, "res": float(st.residual.max()), "over": len(st.over_capacity),
                    "dev": float(np.abs(host_out(st.price_ratio) - 1).max()), "lib": array_library(st.output)}
    del st  # keep the peak memory to one step's
    plain = lambda: bigplan.solve_output(e, f, rtol=args.rtol, backend=bk)
    timed(plain, bk)()  # the same warm-up as the step's
    wp, cp, sol = clock(timed(plain, bk), args.repeat)
    diff = float(np.abs(host_out(out) - host_out(sol.output)).max() / np.abs(host_out(sol.output)).max())
    plain_figures = {"its": sol.iterations, "res": float(sol.residual.max())}
    sol = f = out = None  # free them before the next solve
    x_prev = bigplan.solve_output(e, obs["targets"], rtol=args.rtol, backend=bk).output  # last period's output
    ww, cw, warm = clock(timed(lambda: step(x_prev), bk), args.repeat)
    rows = [
        {"what": "consumer_step (cold)", "wall": ws, "cpu": cs, **step_figures},
        {"what": "plain solve_output of the same block", "wall": wp, "cpu": cp, **plain_figures},
        {"what": "consumer_step (warm from last output)", "wall": ww, "cpu": cw, "its": warm.iterations,
         "res": float(warm.residual.max())},
    ]
    print(f"\n| {args.n:,} products x {args.plans} plans, {bk}, best of {args.repeat} | wall s | CPU s | iterations "
          "| max residual |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['what']} | {r['wall']:.3f} | {r['cpu']:.3f} | {r['its']} | {r['res']:.2g} |")
    print(f"\nstep / plain solve: wall {ws / wp:.3f}, CPU {cs / cp:.3f}; step overhead outside the solve: "
          f"{ws - wp:.3f} s wall, {cs - cp:.3f} s CPU; "
          f"largest relative difference of the outputs: {diff:.2g}; over capacity: {step_figures['over']}; "
          f"largest price deviation: {step_figures['dev']:.3f}; step results are {step_figures['lib']} arrays")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
