"""The multi-period plan as the user sees it: arrays per period and product, bottlenecks, report.

:func:`assemble` turns a method's :class:`~bigplan._dynamic.problem.PlanOutcome`
into a :class:`DynamicPlan` (periods x products, on the host).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .._evidence import Evidence, WithEvidence
from .._inputs import product_labels
from ..economy import Economy
from ..errors import InvalidOptionError
from .common import depreciation_of
from .labour import labour_units
from .problem import PlanOutcome, PlanProblem

__all__ = ["DynamicPlan", "assemble"]


@dataclass(frozen=True, eq=False, repr=False)
class DynamicPlan(WithEvidence):
    """A multi-period plan: outputs, investment, capacity, labour and bottlenecks.

    Arrays are ``(T, n)`` (periods x products) on the host; period ``t`` of
    the reports is row ``t - 1``.

    Attributes
    ----------
    output : numpy.ndarray, (T, n)
        Gross output ``x_t``.
    consumption : numpy.ndarray, (T, n)
        The final-consumption targets ``c_t`` the plan meets.
    new_capacity : numpy.ndarray, (T, n)
        Capacity installed in period ``t`` (available from ``t + 1``), ``N_t >= 0``.
    capacity : numpy.ndarray, (T, n)
        Capacity available in period ``t``, ``K_t``.
    final_capacity : numpy.ndarray, (n,)
        ``K_{T+1}``, the capacity left for the period after the horizon.
    labour : numpy.ndarray (T, m) or None
        Labour needed per period and kind.
    labour_supply : numpy.ndarray (T, m) or None
        Labour available per period and kind.
    terminal : str
    terminal_growth : float or numpy.ndarray (n,)
        Growth rate assumed beyond the horizon (``terminal="growth"``), per
        product when the targets grow at per-product rates.
    expected_growth : float or numpy.ndarray (n,)
        Growth rates of the balanced capacity expectations (``"capacity"``).
    sweeps : int
        Capacity sweeps (``"capacity"``) or 1.
    solves : int
        Block solves the plan took.
    capacity_given : bool
        Whether initial capacity was given (else it is taken as the first
        period's requirement).
    evidence : Evidence
        The shared evidence block (one plan: ``residual`` has shape ``(1,)``,
        the largest relative residual of the static solves).  Its fields are
        also attributes of the plan:
    converged : bool
        Every solve reached its tolerance and the capacity sweep settled
        (``status`` is ``MAX_ITERATIONS`` when ``max_sweeps`` ran out).
    method : str
        ``"capacity"``, ``"exact"`` or ``"lp"``.
    backend : str
    iterations, matvecs : int
        Solver iterations and sparse products (per column) of all the solves.
    seconds : float
    notes : tuple of str
    solver_residual : float
        ``float(evidence.residual.max())``.

    Methods
    -------
    residual()
        Relative residual of the balance of every period (recomputed).
    summary()
        One row per period: totals of consumption, investment, output,
        capacity, idle capacity, shortfalls, labour.
    explain()
        The bottleneck report as text.
    to_frame(what)
        Any ``(T, n)`` attribute as a DataFrame.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.2, 0.3], [0.1, 0.4]]), labour=[1.0, 1.0], labels=["food", "tools"],
    ...                     capital=np.array([[0.0, 0.0], [1.0, 1.0]]), depreciation=0.05, capacity=[2.0, 2.0])
    >>> p = bigplan.dynamic.plan(e, [1.0, 1.0], horizon=3, growth=0.02)
    >>> p.feasible, p.bottlenecks[["period", "product"]].values.tolist()
    (False, [[1, 'tools'], [1, 'food']])
    >>> print(p.explain().splitlines()[1][:60])
      period 1: 2 products short of capacity (initial capacity i
    """

    output: np.ndarray
    consumption: np.ndarray
    new_capacity: np.ndarray
    capacity: np.ndarray
    final_capacity: np.ndarray
    labour: np.ndarray | None
    labour_supply: np.ndarray | None
    terminal: str
    terminal_growth: Any
    expected_growth: Any
    sweeps: int
    capacity_given: bool
    economy: Economy
    evidence: Evidence
    shortfall_tol: float = 1e-9
    solves: int = 0

    # -- derived quantities ---------------------------------------------------
    @property
    def solver_residual(self) -> float:
        """Largest relative residual reported by the static solves."""
        return float(np.max(self.evidence.residual))

    @property
    def horizon(self) -> int:
        return self.output.shape[0]

    @property
    def n(self) -> int:
        return self.output.shape[1]

    @property
    def labels(self) -> pd.Index | None:
        return self.economy.labels

    @cached_property
    def investment(self) -> np.ndarray:
        """Investment goods delivered per period, ``B N_t`` (T, n): expansion plus replacement."""
        B = self.economy.capital
        return np.ascontiguousarray((B @ self.new_capacity.T).T)

    @cached_property
    def replacement_capacity(self) -> np.ndarray:
        """The part of ``N_t`` that replaces worn capacity, ``min(N_t, delta K_t)`` (T, n)."""
        d = depreciation_of(self.economy)
        return np.minimum(self.new_capacity, d[None, :] * self.capacity)

    @cached_property
    def replacement(self) -> np.ndarray:
        """Investment goods for replacement, ``B min(N_t, delta K_t)`` (T, n)."""
        return np.ascontiguousarray((self.economy.capital @ self.replacement_capacity.T).T)

    @cached_property
    def expansion(self) -> np.ndarray:
        """Investment goods for capacity growth, ``B max(0, K_{t+1} - K_t)`` (T, n)."""
        return self.investment - self.replacement

    @cached_property
    def idle(self) -> np.ndarray:
        """Idle capacity ``max(0, K_t - x_t)`` (T, n)."""
        return np.maximum(self.capacity - self.output, 0.0)

    @cached_property
    def capacity_shortfall(self) -> np.ndarray:
        """Required output above capacity, ``max(0, x_t - K_t)`` beyond the tolerance (T, n)."""
        short = self.output - self.capacity
        thr = self._thresholds()
        return np.where(short > thr[:, None], short, 0.0)

    def _thresholds(self) -> np.ndarray:
        scale = np.maximum(np.abs(self.output).max(axis=1), np.abs(self.capacity).max(axis=1))
        return self.shortfall_tol * np.maximum(scale, np.finfo(float).tiny)

    @cached_property
    def labour_shortfall(self) -> np.ndarray | None:
        """Labour needed above labour available, per period and kind (T, m), or None."""
        if self.labour is None or self.labour_supply is None:
            return None
        short = self.labour - self.labour_supply
        thr = self.shortfall_tol * np.maximum(np.abs(self.labour), 1.0)
        return np.where(short > thr, short, 0.0)

    @property
    def feasible(self) -> bool:
        """No product needs more than its capacity and no labour kind more than its supply."""
        ok = not self.capacity_shortfall.any()
        ls = self.labour_shortfall
        return bool(ok and (ls is None or not ls.any()))

    @cached_property
    def bottlenecks(self) -> pd.DataFrame:
        """Products whose required output exceeds capacity: one row per (period, product).

        Columns: ``period`` (1-based), ``product``, ``required``, ``capacity``,
        ``shortfall``, ``relative`` (shortfall / required); largest shortfall
        first within each period.
        """
        short = self.capacity_shortfall
        t, j = np.nonzero(short)
        df = pd.DataFrame(
            {
                "period": t + 1,
                "product": product_labels(self.economy, j),
                "required": self.output[t, j],
                "capacity": self.capacity[t, j],
                "shortfall": short[t, j],
            }
        )
        df["relative"] = df["shortfall"] / df["required"].where(df["required"] > 0, np.nan)
        return df.sort_values(["period", "shortfall"], ascending=[True, False], ignore_index=True)

    @cached_property
    def labour_bottlenecks(self) -> pd.DataFrame:
        """Labour shortfalls: one row per (period, labour kind) short of supply."""
        cols = ["period", "labour", "required", "available", "shortfall"]
        ls = self.labour_shortfall
        if ls is None:
            return pd.DataFrame(columns=cols)
        t, k = np.nonzero(ls)
        names = list(self.economy.labour_names)
        return pd.DataFrame(
            {
                "period": t + 1,
                "labour": [names[i] for i in k],
                "required": self.labour[t, k],
                "available": self.labour_supply[t, k],
                "shortfall": ls[t, k],
            },
            columns=cols,
        )

    def residual(self) -> np.ndarray:
        """Relative residual of each period's balance, recomputed from the plan.

        ``||x_t - A x_t - B N_t - c_t|| / max(||c_t + B N_t||, ||x_t||)`` (2-norms).

        Returns
        -------
        numpy.ndarray, shape (T,)
        """
        A = self.economy.A
        X = self.output.T
        R = X - A @ X - self.investment.T - self.consumption.T
        D = self.consumption.T + self.investment.T
        # scaled norms: each period divided by its largest entry first, so no square overflows or underflows
        big = np.maximum(np.abs(X).max(axis=0, initial=0.0), np.abs(D).max(axis=0, initial=0.0))
        big = np.where(big > 0, big, 1.0)
        den = np.maximum(np.linalg.norm(D / big, axis=0), np.linalg.norm(X / big, axis=0))
        den = np.where(den > 0, den, 1.0)
        return np.linalg.norm(R / big, axis=0) / den

    def summary(self) -> pd.DataFrame:
        """Totals per period (sums over products, in mixed physical units, and labour)."""
        T = self.horizon
        idx = pd.RangeIndex(1, T + 1, name="period")
        df = pd.DataFrame(
            {
                "consumption": self.consumption.sum(axis=1),
                "investment": self.investment.sum(axis=1),
                "replacement": self.replacement.sum(axis=1),
                "expansion": self.expansion.sum(axis=1),
                "output": self.output.sum(axis=1),
                "capacity": self.capacity.sum(axis=1),
                "idle_capacity": self.idle.sum(axis=1),
                "capacity_shortfall": self.capacity_shortfall.sum(axis=1),
                "products_short": (self.capacity_shortfall > 0).sum(axis=1),
            },
            index=idx,
        )
        if self.labour is not None:
            for k, name in enumerate(self.economy.labour_names):
                df[f"{name}"] = self.labour[:, k]
                if self.labour_supply is not None:
                    df[f"{name}_supply"] = self.labour_supply[:, k]
                    df[f"{name}_shortfall"] = self.labour_shortfall[:, k]
        return df

    def explain(self, top: int = 5) -> str:
        """The bottleneck report, as readable text."""
        lines = [
            f"{self.horizon}-period plan for {self.n} products (method={self.method}, terminal={self.terminal}"
            + (f" at {float(np.mean(self.terminal_growth)):.4g}/period" if self.terminal == "growth" else "")
            + f"): {'feasible' if self.feasible else 'NOT feasible'}."
        ]
        bn = self.bottlenecks
        lb = self.labour_bottlenecks
        for t in range(1, self.horizon + 1):
            parts = []
            sub = bn[bn["period"] == t]
            if len(sub):
                worst = ", ".join(
                    f"{p!r} needs {r:.6g} with capacity {c:.6g}"
                    for p, r, c in zip(sub["product"][:top], sub["required"][:top], sub["capacity"][:top])
                )
                why = (
                    "initial capacity is too small" if t == 1 and self.capacity_given
                    else "capacity could not be built in time"
                )
                parts.append(f"{len(sub)} products short of capacity ({why}; largest: {worst})")
            lsub = lb[lb["period"] == t]
            units = dict(zip(self.economy.labour_names or (), labour_units(self.economy)))
            for _, row in lsub.iterrows():
                parts.append(
                    f"labour {row['labour']!r}: needs {row['required']:.6g}, {row['available']:.6g} available "
                    f"(short {row['shortfall']:.6g}) [{units.get(row['labour'], 'unit not stated')}]"
                )
            if parts:
                lines.append(f"  period {t}: " + "; ".join(parts))
        if len(lines) == 1:
            lines.append("  no bottlenecks: every output within capacity and labour within supply.")
        for note in self.notes:
            lines.append(f"  note: {note}")
        return "\n".join(lines)

    def to_frame(self, what: str = "output") -> pd.DataFrame:
        """A ``(T, n)`` attribute (``"output"``, ``"investment"``, ``"capacity"``...) as periods x products."""
        arr = getattr(self, what, None) if isinstance(what, str) and not what.startswith("_") else None
        if not (isinstance(arr, np.ndarray) and arr.shape == self.output.shape):
            raise InvalidOptionError(
                f"what={what!r} is not a (periods x products) attribute of the plan; use 'output', 'investment', "
                "'new_capacity', 'capacity' or 'consumption'"
            )
        return pd.DataFrame(arr, index=pd.RangeIndex(1, self.horizon + 1, name="period"), columns=self.labels)

    def __repr__(self) -> str:
        res = float(np.max(self.residual())) if self.n <= 2_000_000 else float("nan")
        return (
            f"<DynamicPlan T={self.horizon} n={self.n} method={self.method} terminal={self.terminal} "
            f"{'feasible' if self.feasible else 'NOT feasible'}, {len(self.bottlenecks)} bottlenecks, "
            f"max balance residual {res:.3g}, {self.seconds:.3g} s>"
        )


def assemble(problem: PlanProblem, outcome: PlanOutcome, t0: float) -> DynamicPlan:
    """The :class:`DynamicPlan` of a method's outcome (periods x products; ``t0``: when ``plan`` started)."""
    economy, T = problem.economy, problem.horizon
    X = outcome.output
    lab = None
    if economy.labour is not None:
        lab = np.ascontiguousarray((economy.labour.astype(np.float64) @ X).T)
    return DynamicPlan(
        output=np.ascontiguousarray(X.T),
        consumption=np.array(problem.consumption.T, order="C"),
        new_capacity=np.ascontiguousarray(outcome.new_capacity.T),
        capacity=np.ascontiguousarray(outcome.capacity[:, :T].T),
        final_capacity=np.ascontiguousarray(outcome.capacity[:, T]),
        labour=lab,
        labour_supply=problem.labour_supply,
        terminal=problem.terminal,
        terminal_growth=outcome.terminal_growth,
        expected_growth=outcome.expected_growth,
        sweeps=int(outcome.sweeps),
        capacity_given=problem.initial_capacity is not None,
        economy=economy,
        evidence=replace(outcome.evidence, seconds=time.perf_counter() - t0),
        shortfall_tol=problem.shortfall_tol,
        solves=int(outcome.solves),
    )
