"""Why a consumer loop does not settle: :func:`diagnose`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .rule import StepRule

__all__ = ["Diagnosis", "diagnose"]

#: Causes, in the order they are tested.
CAUSES = ("settled", "capacity", "no stock", "gain too high for the buffer", "slow")


@dataclass(frozen=True, eq=False, repr=False)
class Diagnosis:
    """Which products did not settle, how they move, and the likely cause.

    Attributes
    ----------
    products : pandas.Index
        The products examined.
    settled : numpy.ndarray of bool
        Within tolerance at the end.
    oscillating : numpy.ndarray of bool
        Not settled, and the shortfall changes sign in at least a third of the
        periods of the window (prices swing above and below value).  The cause
        is the gain when the swing does not die out (envelope factor >= 0.98 per
        period, or a predicted multiplier >= 1), else "slow".
    sign_changes : numpy.ndarray of int
        Sign changes of the shortfall over the window.
    price_amplitude : numpy.ndarray
        Half the range of ``p / v`` over the window.
    gap_amplitude : numpy.ndarray
        Largest ``|shortfall| / scale`` over the window.
    growth : numpy.ndarray
        Per-period factor of the gap's envelope over the window (> 1: growing).
    buffer_ratio : numpy.ndarray
        Stock target over demand (0: no stock).
    predicted : numpy.ndarray
        The rule's linear multiplier for the product's buffer (NaN when the
        consumers' elasticity is unknown).
    cause : numpy.ndarray of str
        One of ``"settled"``, ``"capacity"``, ``"no stock"``, ``"gain too high
        for the buffer"``, ``"slow"``.
    window : int
        Periods examined (the last ones).
    """

    products: pd.Index
    settled: np.ndarray
    oscillating: np.ndarray
    sign_changes: np.ndarray
    price_amplitude: np.ndarray
    gap_amplitude: np.ndarray
    growth: np.ndarray
    buffer_ratio: np.ndarray
    predicted: np.ndarray
    cause: np.ndarray
    window: int
    rule: StepRule | None = None

    @property
    def ok(self) -> bool:
        """Every product settled."""
        return bool(self.settled.all())

    def to_frame(self, unsettled_only: bool = True) -> pd.DataFrame:
        """One row per product (only those not settled, by default), worst first."""
        df = pd.DataFrame({
            "cause": self.cause, "oscillating": self.oscillating, "sign_changes": self.sign_changes,
            "price_amplitude": self.price_amplitude, "gap_amplitude": self.gap_amplitude, "growth": self.growth,
            "buffer_ratio": self.buffer_ratio, "predicted_multiplier": self.predicted,
        }, index=self.products)
        if unsettled_only:
            df = df[~self.settled]
        return df.sort_values(["gap_amplitude"], ascending=False)

    def describe(self, limit: int = 10) -> str:
        """A short text: how many products did not settle, by cause, with the worst named."""
        if self.ok:
            return f"all {len(self.products)} products settled"
        lines = [(f"{int((~self.settled).sum())} of {len(self.products)} products did not settle "
                  f"(last {self.window} periods examined):")]
        df = self.to_frame()
        for cause, part in df.groupby("cause", sort=False):
            names = list(part.index[:limit])
            lines.append(f"- {cause}: {len(part)} products, e.g. {names}; {_advice(cause, part, self.rule)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Diagnosis: {self.describe(limit=3)}>"


def _advice(cause: str, part: pd.DataFrame, rule: StepRule | None) -> str:
    if cause == "capacity":
        return "the targets need more gross output than the recorded capacity; raise capacity or lower targets"
    if cause == "no stock":
        return ("no stock target and no backlog carried: unmet demand is lost and shows only in orders; "
                "record orders, carry a backlog, or keep a stock")
    if cause == "gain too high for the buffer":
        amp = float(part["price_amplitude"].max())
        g = "" if rule is None else (f" gain g={rule.gain:g}, price_response kappa={rule.price_response:g};")
        return (f"prices swing up to +-{amp:.3g} around value, the shortfall changes sign period after period;{g} "
                "stability needs g < 2 - 2 (e - e_hat) kappa / max(1, buffer ratio): lower the gain or "
                "price_response")
    return "the gap is still shrinking without sign changes; run more periods or raise the gain"


def diagnose(
    shortfall: Any,
    price_ratio: Any,
    *,
    final_gap: Any,
    tol: float,
    buffer_ratio: Any,
    stocked: Any = None,
    backlogged: Any = None,
    over_capacity: Any = None,
    products: Any = None,
    rule: StepRule | None = None,
    elasticity: float | None = None,
    window: int | None = None,
) -> Diagnosis:
    """Diagnose a run of consumer steps: which products oscillate, how much, and why.

    Parameters
    ----------
    shortfall : array (T, r)
        Shortfall over its scale, ``u / R``, per period and product (a step's
        ``shortfall`` divided by ``max(stock target, demand)`` will do).
    price_ratio : array (T, r)
        ``p / v`` per period.
    final_gap : array (r,)
        The gap at the end, as compared with ``tol``.
    tol : float
    buffer_ratio : array (r,)
        Stock target over demand.
    stocked, backlogged, over_capacity : array (r,) of bool, optional
        Products with a stock target; carrying a backlog; over capacity.
    products : sequence, optional
        Their labels.
    rule : StepRule, optional
    elasticity : float, optional
        Consumers' price elasticity, for the rule's predicted multiplier.
    window : int, optional
        Periods examined; default the last third (at least 8, at most all).

    Returns
    -------
    Diagnosis

    Examples
    --------
    >>> import numpy as np
    >>> from bigplan.inventory import diagnose
    >>> t = np.arange(20)[:, None]
    >>> gap = np.hstack([(-1.0) ** t * 0.3, 0.5 ** t])       # one swings, one decays
    >>> d = diagnose(gap, 1 + 0.25 * gap, final_gap=np.abs(gap[-1]), tol=1e-9, buffer_ratio=[0.2, 1.0])
    >>> d.cause.tolist()
    ['gain too high for the buffer', 'slow']
    """
    u = np.atleast_2d(np.asarray(shortfall, dtype=np.float64))
    r = np.atleast_2d(np.asarray(price_ratio, dtype=np.float64))
    T, m = u.shape
    W = min(T, max(8, T // 3)) if window is None else min(int(window), T)
    uw, rw = u[T - W:], r[T - W:]
    settled = np.asarray(final_gap, dtype=np.float64) <= tol
    signs = np.sign(np.where(np.abs(uw) > tol * 1e-3, uw, 0.0))
    flips = ((signs[1:] * signs[:-1]) < 0).sum(axis=0)
    osc = (~settled) & (flips >= max(2, (W - 1) // 3))
    amp_p = (rw.max(axis=0) - rw.min(axis=0)) / 2.0 if W else np.zeros(m)
    amp_g = np.abs(uw).max(axis=0) if W else np.zeros(m)
    half = max(W // 2, 1)
    early = np.abs(uw[:half]).max(axis=0) if W else np.ones(m)
    late = np.abs(uw[W - half:]).max(axis=0) if W else np.ones(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(early > 0, (late / early) ** (1.0 / max(W - half, 1)), np.nan)
    b = np.broadcast_to(np.asarray(buffer_ratio, dtype=np.float64), (m,))
    stocked = b > 0 if stocked is None else np.asarray(stocked, bool)
    backlogged = np.zeros(m, bool) if backlogged is None else np.asarray(backlogged, bool)
    cap = np.zeros(m, bool) if over_capacity is None else np.asarray(over_capacity, bool)
    predicted = (np.asarray(rule.multiplier(elasticity, b), dtype=np.float64) * np.ones(m)
                 if rule is not None and elasticity is not None else np.full(m, np.nan))
    cause = np.full(m, "slow", dtype=object)
    # an oscillation that dies out fast is only slow; one that holds or grows (or that the rule predicts) is the gain
    swinging = osc & ((np.nan_to_num(growth, nan=1.0) >= 0.98) | (predicted >= 1.0))
    cause[swinging] = "gain too high for the buffer"
    cause[(~settled) & ~stocked & ~backlogged] = "no stock"
    cause[(~settled) & cap] = "capacity"
    cause[settled] = "settled"
    labels = pd.Index(range(m)) if products is None else pd.Index(products)
    return Diagnosis(products=labels, settled=settled, oscillating=osc, sign_changes=flips.astype(np.int64),
                     price_amplitude=amp_p, gap_amplitude=amp_g, growth=growth, buffer_ratio=np.array(b),
                     predicted=predicted, cause=cause.astype(str), window=W, rule=rule)
