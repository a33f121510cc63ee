"""asv: the dynamic model (``bigplan.dynamic``) at 10^5 and 10^6 products.

Economies: ``technical_matrix(n, inputs_per_product=20, column_sum=0.7)``
(through ``common.matrix``, so cached on disk like the static suite's) with
``capital_matrix(n, inputs_per_product=5, capital_output=1.5,
equipment_share=0.1)``, depreciation 5 % and one row of labour.  With equal
column sums the maximal balanced growth rate is known exactly:
``g* = (1 - 0.7) / 1.5 - 0.05 = 0.15``.

Targets of the 10-period plans (``method="capacity"``, ``rtol=1e-10``):

``balanced``
    a starting level (``final_demand``) growing 3 % a year: the usual planning
    input; the expectation and output solves are rank one.
``drift``
    every product's consumption grows at its own rate, 3 % +- 2 % a year: a
    full-rank path (ten independent columns per solve) that also needs
    capacity sweeps.

``peakmem_*`` counts from the end of ``setup`` (see ``measure.reset_peak_rss``).
The ``track_*`` figures of one parameter set come from one plan, memoised per
code version (``common.memo``).  ``BIGPLAN_BENCH_MAX_N=100000`` skips the
10^6 rows.

By hand, without asv (from the repository root)::

    python benchmarks/dynamic_plan.py 1000000 balanced drift
"""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np

import bigplan
from bigplan.synthetic import final_demand, labour_coefficients

from . import common
from .common import measure

with common.safe_import() as _dynamic:
    from bigplan.dynamic import capital_matrix, frontier, max_growth_rate, plan

HORIZON = 10
GROWTH = 0.03
DEPRECIATION = 0.05
CAPITAL_INPUTS = 5
CAPITAL_OUTPUT = 1.5

_ECON: dict = {}


def make_economy(n: int, seed: int = 0):
    """Synthetic economy with capital, depreciation and labour (one kept per process)."""
    key = (int(n), int(seed))
    if key not in _ECON:
        _dynamic.check()
        _ECON.clear()
        A = common.matrix(n, 20, seed=seed, keep=False)
        B = capital_matrix(
            n,
            inputs_per_product=CAPITAL_INPUTS,
            capital_output=CAPITAL_OUTPUT,
            equipment_share=0.1,
            seed=seed + 1,
        )
        lab = labour_coefficients(n, seed=seed + 2)
        _ECON[key] = bigplan.Economy(A, lab, capital=B, depreciation=DEPRECIATION)
    return _ECON[key]


def make_targets(n: int, kind: str, seed: int = 0):
    """``(consumption, keyword arguments)`` for :func:`bigplan.dynamic.plan`."""
    c0 = final_demand(n, seed=seed + 3)
    if kind == "balanced":
        return c0, {"horizon": HORIZON, "growth": GROWTH}
    if kind == "drift":
        rng = np.random.default_rng(seed + 4)
        rates = np.clip(rng.normal(GROWTH, 0.02, n), -0.04, 0.10)
        return c0, {"horizon": HORIZON, "growth": rates}
    raise ValueError(f"unknown targets {kind!r}")


def run_plan(n: int, kind: str):
    """The 10-period plan of ``make_economy(n)`` for targets ``kind`` (NumPy backend)."""
    consumption, kwargs = make_targets(n, kind)
    return plan(make_economy(n), consumption, backend="numpy", rtol=common.RTOL, **kwargs)


class DynamicPlan:
    """A 10-period plan at 10^5 and 10^6 products (20 inputs, 5 capital inputs each)."""

    params: ClassVar = (common.SIZES[1:], ["balanced", "drift"])
    param_names: ClassVar = ["n", "targets"]
    timeout = 1800
    number = 1
    repeat = 1
    warmup_time = 0

    def setup(self, n, targets):
        common.skip_if_too_large(n)
        make_economy(n)
        make_targets(n, targets)
        measure.reset_peak_rss()  # peakmem_ counts from here

    def time_plan(self, n, targets):
        run_plan(n, targets)

    def peakmem_plan(self, n, targets):
        run_plan(n, targets)

    def _figures(self, n, targets) -> dict:
        def compute():
            t0 = time.perf_counter()
            p = run_plan(n, targets)
            return {
                "seconds": time.perf_counter() - t0,
                "sweeps": p.sweeps,
                "solves": p.solves,
                "matvecs": p.matvecs,
                "residual": float(p.residual().max()),
                "idle_share": float(p.idle.sum() / p.capacity.sum()),
                "feasible": bool(p.feasible),
            }

        key = {"bench": "dynamic.plan", "n": n, "targets": targets, "T": HORIZON}
        return common.memo(key, compute)

    def track_sweeps(self, n, targets):
        return self._figures(n, targets)["sweeps"]

    track_sweeps.unit = "sweeps"

    def track_matvecs(self, n, targets):
        return self._figures(n, targets)["matvecs"]

    track_matvecs.unit = "mat-vecs per column"

    def track_balance_residual(self, n, targets):
        return self._figures(n, targets)["residual"]

    track_balance_residual.unit = "relative residual"

    def track_idle_share(self, n, targets):
        return self._figures(n, targets)["idle_share"]

    track_idle_share.unit = "idle / capacity"


class MaxGrowthRate:
    """Certified maximal balanced growth rate (power iterations with A and B only)."""

    params: ClassVar = [10**5, 10**6]
    param_names: ClassVar = ["n"]
    timeout = 1800
    number = 1
    repeat = 1
    warmup_time = 0

    def setup(self, n):
        common.skip_if_too_large(n)
        make_economy(n)
        measure.reset_peak_rss()

    def time_max_growth_rate(self, n):
        max_growth_rate(make_economy(n), backend="numpy")

    def track_relative_bracket(self, n):
        def compute():
            r = max_growth_rate(make_economy(n), backend="numpy")
            return {"width": (r.upper - r.lower) / r.rate, "iterations": r.iterations}

        return common.memo({"bench": "dynamic.max_growth_rate", "n": n}, compute)["width"]

    track_relative_bracket.unit = "(upper - lower) / g*"


class Frontier:
    """Consumption-versus-growth frontier: 11 balanced proposals."""

    params: ClassVar = [10**4, 10**5]
    param_names: ClassVar = ["n"]
    timeout = 1800
    number = 1
    repeat = 1
    warmup_time = 0

    def setup(self, n):
        common.skip_if_too_large(n)
        self.economy = make_economy(n)
        self.bundle = make_targets(n, "balanced")[0]
        self.growth = max_growth_rate(self.economy, backend="numpy")

    def time_frontier(self, n):
        frontier(self.economy, self.bundle, points=11, growth_bounds=self.growth, backend="numpy")
