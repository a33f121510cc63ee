"""Inventory and the coefficient memory: stock-taking, versioned updates, instant re-planning.

The plan factory's two departments that never stop, stock-taking and the
revision of technical coefficients, write into a durable, versioned store
(:func:`open_store`, implemented in :mod:`bigplan.store` and its parts in
:mod:`bigplan._store`).  After every revision the stored plans are re-solved at
once, warm-started from their previous solutions, and the products whose
intermediate targets moved are reported sector by sector, with the labour
needed before and after, the labour values that moved and the recorded
capacities below a plan (every commit re-plans: :class:`CommitResult`;
:func:`replan`, :meth:`Store.replan`; see :mod:`bigplan._replan` for how
re-planning is fast).

When actual consumer demand differs from the plan, stocks fall or rise, prices
move away from labour values for a while and output is readjusted (with
everything upstream) until stocks are back on target and prices equal values
again: :func:`simulate_consumer_demand` (in :mod:`bigplan._consumer`).  One period from
observed data: :func:`consumer_step` (its rule and stability condition:
:class:`StepRule`); why a run does not settle: :func:`diagnose`.

Every entry point that takes products aligns them through one input layer: a
product the economy lacks is an :class:`~bigplan.UnknownProductError`, a
missing one a :class:`~bigplan.LabelError`, as in :func:`~bigplan.solve_output`.

Entry points
------------
open_store, Store, CommitResult, replan, Replanner, ReplanReport, sector_codes,
stock_change, simulate_consumer_demand, ConsumerCorrection, consumer_step,
ConsumerStep, StepRule, diagnose, Diagnosis, and the errors
StoreBusyError and NegativeStockError.
"""

from __future__ import annotations

from ._consumer import (
    ConsumerCorrection,
    ConsumerStep,
    Diagnosis,
    StepRule,
    consumer_step,
    diagnose,
    simulate_consumer_demand,
    stock_change,
)
from ._replan import Replanner, ReplanReport, replan, sector_codes
from .store import (
    DEFAULT_UNIT,
    FORMAT_VERSION,
    KINDS,
    CommitResult,
    NegativeStockError,
    Store,
    StoreBusyError,
    open_store,
)

__all__ = [
    "open_store",
    "Store",
    "CommitResult",
    "StoreBusyError",
    "NegativeStockError",
    "DEFAULT_UNIT",
    "FORMAT_VERSION",
    "KINDS",
    "replan",
    "Replanner",
    "ReplanReport",
    "sector_codes",
    "stock_change",
    "simulate_consumer_demand",
    "ConsumerCorrection",
    "consumer_step",
    "ConsumerStep",
    "StepRule",
    "diagnose",
    "Diagnosis",
]
