"""Stock flows, the consumer step and the consumer-demand correction loop.

When actual consumer demand differs from the plan, stocks fall or rise (or a
backlog of unmet demand builds up), prices move away from labour values for a
while and output is readjusted (with everything upstream) until stocks are back
on target and prices equal values again.

* :func:`consumer_step` (``step``): one period of the loop from observed data:
  sales, orders, stocks, backlog and last targets in; next period's price
  ratios, consumer targets, stock targets and gross output (one batched solve)
  out.
* :class:`StepRule` (``rule``): the adjustment rule and its stability condition.
* :func:`diagnose` (``diagnosis``): which products do not settle, and why.
* :func:`simulate_consumer_demand` (``simulate``): the loop over the step.
* :func:`stock_change` (``flows``): the stock identity of one period.
* ``device``: where the step's and the loop's element-wise work runs: the
  inputs' library (NumPy, CuPy or JAX) or the one ``backend=`` names, written
  once against its namespace (no in-place updates where JAX forbids them).

Built on the static layer; :mod:`bigplan.inventory` re-exports the public names.
"""

from .diagnosis import Diagnosis, diagnose
from .flows import stock_change
from .rule import StepRule
from .simulate import ConsumerCorrection, simulate_consumer_demand
from .step import ConsumerStep, consumer_step

__all__ = [
    "ConsumerCorrection",
    "ConsumerStep",
    "Diagnosis",
    "StepRule",
    "consumer_step",
    "diagnose",
    "simulate_consumer_demand",
    "stock_change",
]
