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

Examples::

    python benchmarks/consumer_step.py                      # 10^5 products, 16 plans
    python benchmarks/consumer_step.py --n 1000000 --plans 64 --repeat 1
"""

from __future__ import annotations

import argparse
import time

import _measure as measure
import numpy as np

# benchmarks/benchmarks/: the asv suite's economy
from benchmarks.bench_inventory import economy

import bigplan
from bigplan.inventory import StepRule, consumer_step

clock = measure.clock


def observations(n: int, k: int, seed: int = 0) -> dict:
    """Sales around a third of a unit (gross output about 1, under capacity 2), stocks around the target 1."""
    rng = np.random.default_rng(seed)
    sales = rng.uniform(0.2, 0.4, (n, k))
    stocks = rng.uniform(0.0, 2.0, (n, k))
    return {"sales": sales, "stocks": stocks, "targets": sales.copy()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=lambda s: int(float(s)), default=10**5, help="products (default 1e5; 1e6 for RESULTS)")
    p.add_argument("--plans", type=int, default=16, help="plans (default 16; 64 for RESULTS)")
    p.add_argument("--repeat", type=int, default=2, help="best of this many calls (default 2)")
    p.add_argument("--rtol", type=float, default=measure.RTOL)
    args = p.parse_args(argv)
    measure.print_machine(measure.machine_info(devices=False))
    t = time.perf_counter()
    e = economy(args.n)
    print(f"economy: n={args.n:,}, nnz={e.nnz:,}, built in {time.perf_counter() - t:.1f} s; plans={args.plans}")
    v = np.asarray(bigplan.labour_values(e).values, np.float64)
    obs = observations(args.n, args.plans)
    rule = StepRule()
    step = lambda x0=None: consumer_step(e, **obs, values=v, rule=rule, x0=x0, rtol=args.rtol)
    step()  # warm process: first-touch page faults and thread pools are not the step's cost
    ws, cs, st = clock(step, args.repeat)
    f, out = st.final_demand, st.output
    step_figures = {"its": st.iterations, "res": float(st.residual.max()), "over": len(st.over_capacity),
                    "dev": float(np.abs(st.price_ratio - 1).max())}
    del st  # keep the peak memory to one step's
    wp, cp, sol = clock(lambda: bigplan.solve_output(e, f, rtol=args.rtol), args.repeat)
    diff = float(np.abs(out - sol.output).max() / np.abs(sol.output).max())
    plain_figures = {"its": sol.iterations, "res": float(sol.residual.max())}
    sol = f = out = None  # free them before the next solve
    x_prev = bigplan.solve_output(e, obs["targets"], rtol=args.rtol).output  # last period's output
    ww, cw, warm = clock(lambda: step(x_prev), args.repeat)
    rows = [
        {"what": "consumer_step (cold)", "wall": ws, "cpu": cs, **step_figures},
        {"what": "plain solve_output of the same block", "wall": wp, "cpu": cp, **plain_figures},
        {"what": "consumer_step (warm from last output)", "wall": ww, "cpu": cw, "its": warm.iterations,
         "res": float(warm.residual.max())},
    ]
    print(f"\n| {args.n:,} products x {args.plans} plans, best of {args.repeat} | wall s | CPU s | iterations "
          "| max residual |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['what']} | {r['wall']:.3f} | {r['cpu']:.3f} | {r['its']} | {r['res']:.2g} |")
    print(f"\nstep / plain solve: wall {ws / wp:.3f}, CPU {cs / cp:.3f}; step overhead outside the solve: "
          f"{ws - wp:.3f} s wall, {cs - cp:.3f} s CPU; "
          f"largest relative difference of the outputs: {diff:.2g}; over capacity: {step_figures['over']}; "
          f"largest price deviation: {step_figures['dev']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
