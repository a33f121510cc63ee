"""Balanced expectations: the shifted economies ``A + B diag(g + delta)`` a plan's capacity targets use.

On a balanced path growing at ``g`` the output that sustains consumption ``c``
is ``(I - A - B diag(g + delta))^{-1} c``: an ordinary static solve with the
shifted economy.  The ``"capacity"`` method uses it for every period's target,
the ``"lp"`` method for a starting capacity, and both for the terminal rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..economy import Economy
from ..errors import NotProductiveError
from .common import shifted_economy
from .growth import max_growth_rate, unsustainable
from .problem import PlanProblem, Run

__all__ = ["Expectations", "expectation_shift"]


@dataclass(frozen=True, eq=False)
class Expectations:
    """Shifted economies for the expectations and for the terminal rule.

    Attributes
    ----------
    economy : Economy
        ``A + B diag(growth + delta)`` (certified productive).
    growth : float or numpy.ndarray (n,)
        The expectation rates actually used.
    terminal_economy : Economy or None
        ``A + B diag(terminal_growth + delta)`` (``terminal="growth"`` only).
    terminal_growth : float or numpy.ndarray (n,)
        The terminal rates actually used.
    """

    economy: Economy
    growth: Any
    terminal_economy: Economy | None
    terminal_growth: Any


def expectation_shift(problem: PlanProblem, run: Run) -> Expectations:
    """The shifted economies of ``problem``'s expectations and terminal rule.

    Per-product rates that cannot be sustained fall back to the aggregate rate
    (with a note in ``run``); an aggregate growth at or above ``g*`` continuing
    beyond the horizon raises :class:`~bigplan.dynamic.UnsustainableGrowthError`.
    """
    economy, delta, notes = problem.economy, problem.depreciation, run.notes
    g_term, g_exp = problem.terminal_growth, problem.expected_growth
    what = "consumption growth continuing beyond the horizon"

    def shifted(g):
        return shifted_economy(economy, np.maximum(g + delta, 0.0), run.shifted)

    Et = None
    if problem.terminal == "growth":
        try:
            Et = shifted(g_term)
        except NotProductiveError:
            if np.ndim(g_term) == 0:
                raise unsustainable(economy, float(g_term), what) from None
            fallback = problem.last_growth
            notes.append("per-product growth beyond the horizon cannot be sustained; the aggregate rate is assumed")
            try:
                Et = shifted(fallback)
            except NotProductiveError:
                raise unsustainable(economy, fallback, what) from None
            g_term = fallback
    try:
        E = shifted(g_exp)
    except NotProductiveError:
        E = None
        if np.ndim(g_exp):
            g_exp = problem.mean_growth
            notes.append("per-product expectation rates cannot all be sustained; the aggregate rate is used")
            try:
                E = shifted(g_exp)
            except NotProductiveError:
                E = None
        if E is None:
            if problem.horizon > 1 and problem.terminal == "growth":
                raise unsustainable(economy, float(g_exp), "average consumption growth") from None
            gr = max_growth_rate(economy)
            g_cap = 0.9 * gr.lower
            notes.append(
                f"consumption grows by {float(g_exp):.4g}/period on average, above g* = {gr.rate:.4g}: capacity "
                f"targets assume {g_cap:.4g}/period; expect bottlenecks"
            )
            g_exp = g_cap
            E = shifted(g_exp)
    return Expectations(E, g_exp, Et, g_term)
