"""asv: choice of technique (``bigplan.activity``) at 10^4 .. 10^6 products, and the capacity LP.

Technologies: ``bigplan.synthetic.technology(n, processes=3, inputs_per_process=20, seed=0)``.

``ChooseTechnique``
    policy iteration (``choose_technique``, NumPy backend) at 10^4, 10^5 and 10^6 products; ``track_iterations``
    the policy-iteration steps.
``CapacityLP``
    ``plan_activities`` with HiGHS (``highspy``) at 300 and 10^3 processes, the free optimum's processes capped
    at 80 % of their level; skipped when highspy is missing.

``BIGPLAN_BENCH_MAX_N`` skips sizes (in products) above it.  By hand, with HiGHS as the peer::

    python benchmarks/choice_of_technique.py --compare 1000 10000 --alone 100000 1000000
"""

from __future__ import annotations

import importlib.util
from typing import ClassVar

import numpy as np

from . import common

with common.safe_import() as _activity:
    from bigplan.activity import Technology, choose_technique, plan_activities
    from bigplan.synthetic import final_demand, technology

_TECH: dict = {}


def make_technology(n: int):
    """The synthetic technology of ``n`` products (one kept per process)."""
    if n not in _TECH:
        _activity.check()
        _TECH.clear()
        t = technology(n, processes=3, inputs_per_process=20, seed=0)
        _TECH[n] = Technology(t.inputs, t.makes, t.labour)
    return _TECH[n]


class ChooseTechnique:
    """Policy iteration: the labour-minimising choice among 3 processes per product."""

    params: ClassVar = [common.SIZES]
    param_names: ClassVar = ["n"]
    timeout = 900
    number = 1
    repeat = 1
    warmup_time = 0

    def setup(self, n):
        common.skip_if_too_large(n)
        self.tech = make_technology(n)

    def teardown(self, n):
        self.__dict__.pop("tech", None)

    def time_choose(self, n):
        choose_technique(self.tech, backend="numpy")

    def track_iterations(self, n):
        return choose_technique(self.tech, backend="numpy").iterations

    track_iterations.unit = "policy iterations"


class CapacityLP:
    """The LP with capacities, solved by HiGHS and polished by a static solve."""

    params: ClassVar = [[300, 1000]]
    param_names: ClassVar = ["processes"]
    timeout = 600
    number = 1
    repeat = 1
    warmup_time = 0

    def setup(self, processes):
        n = processes // 3
        common.skip_if_too_large(n)
        if importlib.util.find_spec("highspy") is None:
            raise NotImplementedError("highspy is not installed (pip install 'bigplan[lp]')")
        self.tech = make_technology(n)
        self.y = final_demand(n, seed=1)
        free = plan_activities(self.tech, self.y)
        cap = np.full(self.tech.n_processes, np.inf)
        on = free.activity > 0
        cap[on] = 0.8 * free.activity[on]
        self.cap = cap

    def teardown(self, processes):
        for k in ("tech", "y", "cap"):
            self.__dict__.pop(k, None)

    def time_highs(self, processes):
        plan_activities(self.tech, self.y, capacity=self.cap, solver="highs")
