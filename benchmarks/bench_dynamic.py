"""asv benchmarks of the dynamic model (``bigplan.dynamic``).

Economies: :func:`bigplan.synthetic.technical_matrix` (20 inputs per product,
column sums 0.7) with :func:`bigplan.dynamic.capital_matrix` (5 capital inputs
per product, capital-output ratio 1.5, 10 % of products are equipment),
depreciation 5 % and one kind of labour.  With equal column sums the maximal
balanced growth rate is known: ``g* = (1 - 0.7) / 1.5 - 0.05 = 0.15``.

Targets for a 10-period plan:

``balanced``
    a starting level growing 3 % a year (the usual planning input; the
    expectation and output solves are rank one);
``drift``
    every product's consumption grows at its own rate, 3 % +- 2 % (a full-rank
    path: ten independent columns per solve, plus capacity sweeps).

Run one by hand (no asv needed)::

    python benchmarks/bench_dynamic.py 1000000 balanced
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

_CACHE: dict = {}

HORIZON = 10
GROWTH = 0.03
DEPRECIATION = 0.05


def make_economy(n: int, seed: int = 0):
    """Synthetic economy with capital, depreciation and labour (cached per process)."""
    key = (n, seed)
    if key not in _CACHE:
        import bigplan
        from bigplan.dynamic import capital_matrix
        from bigplan.synthetic import labour_coefficients, technical_matrix

        A = technical_matrix(n, inputs_per_product=20, column_sum=0.7, seed=seed)
        B = capital_matrix(n, inputs_per_product=5, capital_output=1.5, equipment_share=0.1, seed=seed + 1)
        lab = labour_coefficients(n, seed=seed + 2)
        _CACHE.clear()  # one large economy at a time
        _CACHE[key] = bigplan.Economy(A, lab, capital=B, depreciation=DEPRECIATION)
    return _CACHE[key]


def make_targets(n: int, kind: str, seed: int = 0):
    """``(consumption, kwargs)`` for :func:`bigplan.dynamic.plan`."""
    from bigplan.synthetic import final_demand

    c0 = final_demand(n, seed=seed + 3)
    if kind == "balanced":
        return c0, {"horizon": HORIZON, "growth": GROWTH}
    if kind == "drift":
        rng = np.random.default_rng(seed + 4)
        rates = np.clip(rng.normal(GROWTH, 0.02, n), -0.04, 0.10)
        return c0, {"horizon": HORIZON, "growth": rates}
    raise ValueError(kind)


class DynamicPlan:
    """A 10-period plan (``method="capacity"``) at 10^5 and 10^6 products."""

    params = ([100_000, 1_000_000], ["balanced", "drift"])
    param_names = ["n", "targets"]
    timeout = 1800
    number = 1
    repeat = 1
    warmup_time = 0

    def setup(self, n, targets):
        self.economy = make_economy(n)
        self.consumption, self.kwargs = make_targets(n, targets)

    def _plan(self):
        from bigplan.dynamic import plan

        return plan(self.economy, self.consumption, backend="numpy", **self.kwargs)

    def time_plan(self, n, targets):
        self._plan()

    def peakmem_plan(self, n, targets):
        self._plan()

    def track_sweeps(self, n, targets):
        return self._plan().sweeps

    track_sweeps.unit = "sweeps"

    def track_balance_residual(self, n, targets):
        return float(self._plan().residual().max())

    track_balance_residual.unit = "relative residual"


class MaxGrowthRate:
    """Certified maximal balanced growth rate (power iterations with A and B)."""

    params = [100_000, 1_000_000]
    param_names = ["n"]
    timeout = 1800
    number = 1
    repeat = 1
    warmup_time = 0

    def setup(self, n):
        self.economy = make_economy(n)

    def time_max_growth_rate(self, n):
        from bigplan.dynamic import max_growth_rate

        max_growth_rate(self.economy, backend="numpy")

    def track_bracket_width(self, n):
        from bigplan.dynamic import max_growth_rate

        r = max_growth_rate(self.economy, backend="numpy")
        return (r.upper - r.lower) / r.rate

    track_bracket_width.unit = "relative width"


class Frontier:
    """Consumption-versus-growth frontier (11 balanced proposals) at 10^4 and 10^5 products."""

    params = [10_000, 100_000]
    param_names = ["n"]
    timeout = 1800
    number = 1
    repeat = 1
    warmup_time = 0

    def setup(self, n):
        from bigplan.dynamic import max_growth_rate

        self.economy = make_economy(n)
        self.bundle = make_targets(n, "balanced")[0]
        self.growth = max_growth_rate(self.economy, backend="numpy")

    def time_frontier(self, n):
        from bigplan.dynamic import frontier

        frontier(self.economy, self.bundle, points=11, growth_bounds=self.growth, backend="numpy")


def _main(argv):  # pragma: no cover - manual measurement
    n = int(argv[1]) if len(argv) > 1 else 100_000
    kind = argv[2] if len(argv) > 2 else "balanced"
    from bigplan.dynamic import max_growth_rate, plan

    t = time.perf_counter()
    e = make_economy(n)
    print(f"economy n={n} built in {time.perf_counter() - t:.1f} s ({os.cpu_count()} CPUs)")
    c, kw = make_targets(n, kind)
    t = time.perf_counter()
    p = plan(e, c, backend="numpy", **kw)
    dt = time.perf_counter() - t
    print(
        f"plan T={HORIZON} targets={kind}: {dt:.1f} s, sweeps={p.sweeps}, feasible={p.feasible}, "
        f"max balance residual={p.residual().max():.2e}, idle/capacity="
        f"{p.idle.sum() / p.capacity.sum():.3g}"
    )
    t = time.perf_counter()
    r = max_growth_rate(e, backend="numpy")
    print(f"max_growth_rate: {time.perf_counter() - t:.1f} s, {r}")


if __name__ == "__main__":  # pragma: no cover
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    _main(sys.argv)
