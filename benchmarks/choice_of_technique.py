#!/usr/bin/env python
"""Choice of technique: policy iteration against HiGHS, policy iteration at scale, and the capacity LP.

Technologies are ``bigplan.synthetic.technology(n, processes=3, inputs_per_process=20, seed=0)`` (3 processes per
product, 20 inputs per process, alternatives that trade labour for inputs); final demand ``final_demand(n)``.

1. ``--compare`` sizes: policy iteration (``choose_technique`` + one static solve) and HiGHS's interior-point
   method through ``scipy.optimize.linprog(method="highs-ipm")`` on the same LP (min labour s.t. net output >=
   demand), in one run: both times (wall and CPU: the machine may be shared), the speed-up, the objective agreement (relative) and whether the choices agree
   where the LP's is unique.
2. ``--alone`` sizes: policy iteration only (build time and choice time apart).
3. ``--capacity`` sizes (in processes): ``plan_activities`` with the free optimum's processes capped at 80 % of
   their level, with HiGHS, and with MPAX's PDLP (``--pdlp``) when JAX and mpax are installed: time, objective
   against HiGHS, and the accuracy PDLP reached before polishing.

Examples::

    python benchmarks/choice_of_technique.py                     # the quick default (< 2 min)
    python benchmarks/choice_of_technique.py --compare 1000 10000 --alone 100000 1000000 --capacity 1000 10000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import linprog

import _measure as measure

from bigplan.activity import Technology, choose_technique, plan_activities
from bigplan.static import solve_output
from bigplan.synthetic import final_demand, technology


def _tech(n: int) -> Technology:
    t = technology(n, processes=3, inputs_per_process=20, seed=0)
    return Technology(t.inputs, t.makes, t.labour)


def compare(n: int) -> dict:
    tech = _tech(n)
    y = final_demand(n, seed=1)
    lw = tech.labour[0]
    t0, c0 = time.perf_counter(), time.process_time()
    r = choose_technique(tech, backend="numpy")
    x = solve_output(r.economy, y, backend="numpy", method="bicgstab").output
    t_pi, c_pi = time.perf_counter() - t0, time.process_time() - c0
    obj_pi = float(lw[r.process] @ x)
    N = tech.net_output_matrix()
    t0, c0 = time.perf_counter(), time.process_time()
    res = linprog(lw, A_ub=-N.tocsr(), b_ub=-y, bounds=(0, None), method="highs-ipm")
    t_lp, c_lp = time.perf_counter() - t0, time.process_time() - c0
    obj_lp = float(res.fun) if res.status == 0 else float("nan")
    same = float("nan")
    if res.status == 0:
        active = res.x > 1e-9 * max(res.x.max(), 1e-300)
        unique = np.bincount(tech.makes[active], minlength=n) == 1
        lp_choice = np.full(n, -1)
        lp_choice[tech.makes[active]] = np.flatnonzero(active)
        same = float((lp_choice[unique] == r.process[unique]).mean())
    return {"n": n, "processes": tech.n_processes, "pi_s": t_pi, "pi_cpu_s": c_pi, "pi_iterations": r.iterations,
            "highs_ipm_s": t_lp, "highs_ipm_cpu_s": c_lp, "highs_status": res.status, "speedup": t_lp / t_pi,
            "objective_rel_diff": abs(obj_pi - obj_lp) / abs(obj_lp), "same_choice_where_unique": same,
            "certificate": r.certificate}


def alone(n: int) -> dict:
    t0 = time.perf_counter()
    tech = _tech(n)
    t_build = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    r = choose_technique(tech, backend="numpy")
    t_choose, c_choose = time.perf_counter() - t0, time.process_time() - c0
    return {"n": n, "processes": tech.n_processes, "inputs": tech.inputs.nnz, "build_s": t_build,
            "choose_s": t_choose, "choose_cpu_s": c_choose, "iterations": r.iterations, "certificate": r.certificate,
            "residual": float(r.residual.max())}


def capacity(P: int, pdlp: bool) -> list:
    n = P // 3
    tech = _tech(n)
    y = final_demand(n, seed=1)
    free = plan_activities(tech, y)
    cap = np.full(tech.n_processes, np.inf)
    on = free.activity > 0
    cap[on] = 0.8 * free.activity[on]
    rows = []
    t0 = time.perf_counter()
    h = plan_activities(tech, y, capacity=cap, solver="highs", raise_on_failure=False)
    rows.append({"processes": tech.n_processes, "solver": "highs", "seconds": time.perf_counter() - t0,
                 "status": h.solver_status, "objective": h.objective, "vs_free": h.objective / free.objective,
                 "binding": len(h.binding), "demand_residual": float(h.residual.max())})
    if pdlp:
        for tol in (1e-4, 1e-6):
            t0 = time.perf_counter()
            p = plan_activities(tech, y, capacity=cap, solver="pdlp", pdlp_tol=tol, raise_on_failure=False)
            acc = next((s for s in p.notes if s.startswith("PDLP")), "")
            rows.append({"processes": tech.n_processes, "solver": f"pdlp tol={tol:g}",
                         "seconds": time.perf_counter() - t0, "status": p.solver_status, "objective": p.objective,
                         "objective_rel_diff_vs_highs": abs(p.objective - h.objective) / abs(h.objective),
                         "demand_residual": float(p.residual.max()), "note": acc})
    return rows


def _fmt(row: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = lambda s: int(float(s))  # noqa: E731
    p.add_argument("--compare", nargs="*", type=size, default=[1000], help="sizes for PI vs HiGHS (products)")
    p.add_argument("--alone", nargs="*", type=size, default=[100_000], help="sizes for PI alone (products)")
    p.add_argument("--capacity", nargs="*", type=size, default=[1000], help="capacity LP sizes (processes)")
    p.add_argument("--pdlp", action="store_true", help="also run MPAX's PDLP on the capacity LP (needs jax, mpax)")
    p.add_argument("--json", help="write the figures to this JSON file")
    args = p.parse_args(argv)
    if args.pdlp:
        import jax

        jax.config.update("jax_enable_x64", True)
    info = measure.machine_info(devices=False)
    measure.print_machine(info)
    out: dict = {"compare": [], "alone": [], "capacity": []}

    def record(part: str, row: dict) -> None:
        out[part].append(row)
        print(part, _fmt(row), flush=True)
        if args.json:  # after every row: a run cut short keeps what it measured
            measure.write_json(args.json, {"machine": info, **out})

    choose_technique(_tech(50))  # warm-up: imports and first-call costs stay out of the timings
    for n in args.compare:
        record("compare", compare(n))
    for n in args.alone:
        record("alone", alone(n))
    for P in args.capacity:
        for row in capacity(P, args.pdlp):
            record("capacity", row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
