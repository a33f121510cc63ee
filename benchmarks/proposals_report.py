#!/usr/bin/env python
"""The plan report by hand: 4 proposals planned from the present over 10 periods, timed.

The economy is the asv suite's dynamic economy (``benchmarks/benchmarks/bench_dynamic.py``:
``technical_matrix(n, 20, 0.7)``, capital with 5 inputs per product, depreciation 5 %, one row of
labour) with today's output that of the balanced plan of its consumption bundle (growth 3 %), capacity
1.2x that output, stocks 2 % of the bundle, and a labour supply 1.3x the labour of that output.  Four proposals (consume, balanced with public
consumption, grow, a shorter working week) go through :func:`bigplan.dynamic.compare`; each is
planned with the multi-period planner (a few plans per proposal: the level of consumption is the
largest the working time allows in every period).  The peer figure is one ``dynamic.plan`` of the
same horizon and targets in the same process.

Examples::

    python benchmarks/proposals_report.py              # 10^4 products
    python benchmarks/proposals_report.py --n 1e5      # the issue's figure
"""

from __future__ import annotations

import argparse
import sys
import time

import _measure as measure
import numpy as np

# benchmarks/benchmarks/: the asv suite's economy and targets
from benchmarks import bench_dynamic
from bigplan.dynamic import compare, plan

PROPOSALS = {
    "consume": {"investment_share": 0.05},
    "balanced": {"investment_share": 0.15, "public_share": 0.1},
    "grow": {"investment_share": 0.25},
    "short week": {"investment_share": 0.15, "hours_per_worker": 1500.0 * 0.875},
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=lambda s: int(float(s)), default=10**4, help="products (default 1e4; 1e5 for the issue)")
    p.add_argument("--horizon", type=int, default=10, help="periods (default 10)")
    args = p.parse_args(argv)
    n, T = args.n, args.horizon
    measure.print_machine(measure.machine_info(devices=False))
    t = time.perf_counter()
    base = bench_dynamic.make_economy(n)
    c0, _ = bench_dynamic.make_targets(n, "balanced")
    # today's output: the first period of the balanced plan of the bundle (consumption plus its investment)
    x0 = plan(base, c0, horizon=2, growth=bench_dynamic.GROWTH, backend="numpy").output[0]
    labour = float((base.labour.astype(np.float64) @ x0).sum())
    workers = 1.3 * labour / 1500.0  # 1,500 hours per worker today
    e = base.with_changes(capacity=1.2 * x0, stocks=0.02 * c0, labour_supply=[1.3 * labour])
    print(f"economy n={n} built in {time.perf_counter() - t:.1f} s; labour supply {1.3 * labour:.6g}, "
          f"workers {workers:.6g}")
    t = time.perf_counter()
    ref = plan(e, c0, horizon=T, growth=bench_dynamic.GROWTH, backend="numpy")
    t_plan = time.perf_counter() - t
    print(f"peer: one dynamic.plan T={T} from today's capacity: {t_plan:.2f} s, sweeps={ref.sweeps}, "
          f"solves={ref.solves}, feasible={ref.feasible} ({len(ref.bottlenecks)} capacity and "
          f"{len(ref.labour_bottlenecks)} labour bottlenecks)")
    t = time.perf_counter()
    rep = compare(e, PROPOSALS, c0, horizon=T, workers=workers, backend="numpy")
    t_rep = time.perf_counter() - t
    t = time.perf_counter()
    text = rep.text()
    t_text = time.perf_counter() - t
    plans = sum(prop.plans for prop in rep.proposals)
    print(f"compare: {len(PROPOSALS)} proposals x {T} periods at n={n}: {t_rep:.2f} s "
          f"({t_rep / t_plan:.1f}x one plan); text {t_text:.2f} s, {len(text.splitlines())} lines")
    for prop in rep.proposals:
        s = rep.summary[prop.name]
        print(f"  {prop.name:>10}: feasible={prop.feasible}, growth {s['growth_rate']:.4f}, consumption now "
              f"{s['consumption_now']:.6g}, investment {s['investment']:.6g}, labour {s['total_labour']:.6g} "
              f"({s['labour_per_worker']:.4g} per worker), {prop.plans} plans")
    print(f"({plans} multi-period plans in all; level set by: {[prop.binding for prop in rep.proposals]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
