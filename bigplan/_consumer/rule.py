"""The consumer step's adjustment rule and its stability condition.

The rule (per product and plan; ``S`` stock, ``S*`` stock target, ``B`` backlog
of unmet demand carried forward, ``a`` orders observed at the period's price
ratio ``r = p / v``):

* shortfall against the target position: ``u = S* - S + B``;
* scale: ``R = max(S*, a_hat + B)`` with ``a_hat = a * r ** e_hat`` the orders
  at value prices (``e_hat``: the elasticity the planners assume, default 0);
* price ratio for the next period: ``r' = clip(1 + kappa * u / R, min_price, max_price)``;
* demand forecast at that price: ``d_hat = a_hat * r' ** -e_hat``;
* consumer target: ``q = d_hat + g * u`` (final demand ``max(q + other, 0)``).

Stability.  Let consumers have elasticity ``e`` (``d = a0 * r ** -e``), the
buffer ratio be ``b = S* / d`` and the position gap ``x = (S - B) - S*``.  In the
linear regime (no stock-out, no clipping) one period maps

    x[t+2] = (1 - g - delta) x[t+1] + delta x[t],   delta = (e - e_hat) * kappa / max(1, b),

whose characteristic polynomial ``lambda**2 - (1 - g - delta) lambda - delta``
has both roots inside the unit circle (Jury's test) iff

    0 < g < 2 - 2 delta   and   delta > -1.

``delta`` never exceeds ``(e - e_hat) * kappa`` whatever the buffer: dividing the
shortfall by ``max(S*, demand)`` (not by the buffer alone, which blows up as the
buffer shrinks) is what keeps small buffers stable.  The defaults ``g = 0.5``,
``kappa = 0.25``, ``e_hat = 0`` are stable for every buffer ratio and every
consumer elasticity ``e < 3`` (realistic elasticities lie well below 1.5: the
margin is a factor of two or more), with the slowest mode
``max |lambda| <= 0.65`` for ``e <= 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._options import check_real

__all__ = ["StepRule"]


@dataclass(frozen=True)
class StepRule:
    """How the consumer step sets prices and targets (a small frozen option object).

    Parameters
    ----------
    gain : float
        ``g > 0``: share of the shortfall against the target position (stocks
        minus backlog) made good per period.  Stable iff ``g < 2 - 2 delta``
        (see :meth:`max_stable_gain`); the default 0.5 halves a gap each period.
    price_response : float
        ``kappa >= 0``: price deviation per unit of shortfall relative to
        ``max(stock target, demand)``; at most ``kappa`` above or below value
        while the shortfall is below that scale.
    elasticity : float
        ``e_hat >= 0``: consumer price elasticity the planners assume when they
        forecast demand at the new price (0: demand as observed).
    min_price, max_price : float
        Price ratio bounds ``0 < min_price <= 1 <= max_price``.

    Notes
    -----
    Linearised, the gap ``x`` of a product follows
    ``x[t+2] = (1 - g - delta) x[t+1] + delta x[t]`` with
    ``delta = (e - e_hat) kappa / max(1, b)`` for consumers' elasticity ``e``
    and buffer ratio ``b = S* / demand``; stable iff ``0 < g < 2 - 2 delta`` and
    ``delta > -1``.  Since ``delta <= (e - e_hat) kappa`` for every ``b``, the
    defaults are stable for any buffer when ``e < 3``.

    Examples
    --------
    >>> from bigplan.inventory import StepRule
    >>> rule = StepRule()
    >>> rule.stable(elasticity=1.0, buffer_ratio=0.1), round(rule.max_stable_gain(1.0, 0.1), 3)
    (True, 1.5)
    >>> StepRule(gain=1.6).stable(elasticity=1.0, buffer_ratio=0.1)
    False
    """

    gain: float = 0.5
    price_response: float = 0.25
    elasticity: float = 0.0
    min_price: float = 0.1
    max_price: float = 10.0

    def __post_init__(self):
        object.__setattr__(self, "gain", check_real(self.gain, "gain", lo=0.0, lo_open=True))
        object.__setattr__(self, "price_response", check_real(self.price_response, "price_response", lo=0.0))
        object.__setattr__(self, "elasticity", check_real(self.elasticity, "elasticity", lo=0.0))
        object.__setattr__(self, "min_price", check_real(self.min_price, "min_price", lo=0.0, hi=1.0,
                                                         lo_open=True))
        object.__setattr__(self, "max_price", check_real(self.max_price, "max_price", lo=1.0))

    def delta(self, elasticity, buffer_ratio=0.0):
        """``delta = (e - e_hat) kappa / max(1, b)`` for consumers' elasticity ``e`` and buffer ratio ``b``."""
        b = np.maximum(np.asarray(buffer_ratio, dtype=np.float64), 1.0)
        return (np.asarray(elasticity, dtype=np.float64) - self.elasticity) * self.price_response / b

    def max_stable_gain(self, elasticity, buffer_ratio=0.0):
        """The edge ``2 - 2 delta`` of stable gains (0 where ``delta <= -1``: no gain is stable)."""
        d = self.delta(elasticity, buffer_ratio)
        out = np.where(d > -1.0, 2.0 - 2.0 * d, 0.0)
        return float(out) if out.ndim == 0 else out

    def multiplier(self, elasticity, buffer_ratio=0.0):
        """Spectral radius of the linearised period map: the factor a gap shrinks (< 1) or grows by per period."""
        d = self.delta(elasticity, buffer_ratio)
        c = 1.0 - self.gain - d
        disc = c * c + 4.0 * d
        root = np.sqrt(np.abs(disc))
        real = np.maximum(np.abs(c + root), np.abs(c - root)) / 2.0
        out = np.where(disc >= 0, real, np.sqrt(np.abs(d)))
        return float(out) if out.ndim == 0 else out

    def stable(self, elasticity, buffer_ratio=0.0):
        """Whether the linearised period map is stable (``0 < g < 2 - 2 delta`` and ``delta > -1``)."""
        d = self.delta(elasticity, buffer_ratio)
        out = (self.gain < 2.0 - 2.0 * d) & (d > -1.0)
        return bool(out) if np.ndim(out) == 0 else out
