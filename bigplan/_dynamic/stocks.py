"""Stocks drawn in the first period: the least output when recorded stocks of every product may be used.

With stocks ``s >= 0`` and final demand ``d >= 0`` the first period needs an
output ``x >= 0`` and stocks used ``u`` with

    x + u = A x + d,   0 <= u <= s,

i.e. ``x >= 0`` and ``(I - A) x >= d - s``.  ``I - A`` is a nonsingular
M-matrix (a productive economy, ``A >= 0``), so this set has a *least
element* ``x*``: every other feasible output is ``>= x*`` entry by entry, and
``x*`` needs the least labour for every ``l >= 0``.  It solves the linear
complementarity problem ``x* = max(0, A x* + d - s)``: a product is produced
only once its stock is used up, and a product whose stock covers its whole
requirement ``(A x* + d)_i`` is not produced at all.  The stocks used are
``u = min(s, A x* + d)`` and exactly ``(I - A) x* = d - u``: the first
period is planned as if final demand were ``d - u`` (negative where stocks
replace intermediate inputs).

:func:`draw_stocks` computes ``x*`` without an LP, by Chandrasekaran's
active-set method for Z-matrix complementarity problems: ``P`` (the products
made) starts as the products certainly made (final demand above the stock, or
no stock at all), each step solves ``(I - A)`` restricted to ``P`` with the
stocks of ``P`` used up (one :func:`bigplan.solve_output`, on the economy itself
when ``P`` is everything), and adds the products whose requirement then
exceeds their stock.  The iterates rise monotonically to ``x*`` and ``P`` only
grows: at most ``n`` steps, typically one to three.  The complementarity
conditions are checked at the end and reported in the evidence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._evidence import Evidence, Status, WithEvidence
from .._inputs import product_vector
from .._options import check_rtol
from ..economy import Economy, Productivity
from ..static import solve_output
from .common import check_economy, plan_option

__all__ = ["StockDraw", "draw_stocks"]

_GAP_FACTOR = 1e3  # complementarity gap allowed, in units of rtol (the solves' own accuracy)


@dataclass(frozen=True, eq=False, repr=False)
class StockDraw(WithEvidence):
    """The first period with stocks drawn: least output, stocks used and left, labour saved.

    Attributes
    ----------
    output : numpy.ndarray (n,)
        ``x*``: the least output with the stocks drawn.
    plain_output : numpy.ndarray (n,)
        ``(I - A)^{-1} d``: the output without stocks.
    demand, stocks : numpy.ndarray (n,)
        ``d`` and ``s`` as given.
    used : numpy.ndarray (n,)
        ``u = min(s, A x* + d)``: stocks drawn.
    final : numpy.ndarray (n,)
        The part of ``used`` that meets the product's own final demand, ``min(u, d)``.
    intermediate : numpy.ndarray (n,)
        The rest of ``used``: stocks that replace intermediate inputs (``u - final``).
    unused : numpy.ndarray (n,)
        Stocks left, ``s - u``.
    labour_saved : numpy.ndarray (m,) or None
        ``l (plain_output - output)`` per labour kind (None without labour).
    steps : int
        Active-set steps (restricted solves).
    complementarity : float
        ``max_i min(x*_i, s_i - u_i)`` relative to the largest output or demand:
        0 when no product is made while its stock is left.
    evidence : Evidence
        Residual: ``||(I - A) x* - (d - u)||_inf / ||d||_inf``.
    """

    output: np.ndarray
    plain_output: np.ndarray
    demand: np.ndarray
    stocks: np.ndarray
    used: np.ndarray
    final: np.ndarray
    intermediate: np.ndarray
    unused: np.ndarray
    labour_saved: np.ndarray | None
    steps: int
    complementarity: float
    evidence: Evidence
    labels: pd.Index | None = None

    @property
    def net_demand(self) -> np.ndarray:
        """``d - u``: the first period's final demand net of the stocks drawn (``(I - A) x* = d - u``)."""
        return self.demand - self.used

    @property
    def output_saved(self) -> np.ndarray:
        """Output the stocks make unnecessary, ``(I - A)^{-1} u`` (``plain_output - output``)."""
        return self.plain_output - self.output

    def to_frame(self) -> pd.DataFrame:
        """Products x ``stocks, used_final, used_intermediate, unused, output, plain_output, output_saved``."""
        return pd.DataFrame({"stocks": self.stocks, "used_final": self.final, "used_intermediate": self.intermediate,
                             "unused": self.unused, "output": self.output, "plain_output": self.plain_output,
                             "output_saved": self.output_saved}, index=self.labels)

    def __repr__(self) -> str:
        return (f"<StockDraw: {int((self.used > 0).sum())} of {self.used.size} products' stocks drawn, "
                f"{self.steps} steps, complementarity {self.complementarity:.3g}>")


def draw_stocks(economy: Economy, demand, stocks, *, backend="auto", method="auto", rtol: float = 1e-10,
                cache: dict | None = None) -> StockDraw:
    """The least first-period output when the stocks of every product may be drawn.

    Solves ``x* = max(0, A x* + d - s)`` (see the module docstring): the least
    ``x >= 0`` with ``(I - A) x >= d - s``, which is also the output needing
    the least labour of every kind.

    Parameters
    ----------
    economy : Economy
    demand : array_like (n,) or pandas.Series
        Final demand ``d`` of the period, finite, >= 0.
    stocks : array_like (n,) or pandas.Series
        Stocks ``s`` that may be drawn, finite, >= 0.
    backend, method, rtol
        As in :func:`bigplan.solve_output` (each step is one solve).
    cache : dict, optional
        Restricted economies kept by their set of products made (a caller
        re-drawing the same stocks for other demands reuses them).

    Returns
    -------
    StockDraw

    Raises
    ------
    InvalidDemandError, LabelError, ShapeError
        Demand or stocks negative, not finite, of the wrong length or labels.
    ConvergenceError
        A solve missed its tolerance.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.dynamic import draw_stocks
    >>> e = bigplan.Economy(np.array([[0.0, 0.0], [0.5, 0.0]]), labels=["bread", "flour"])
    >>> r = draw_stocks(e, [10.0, 0.0], [0.0, 3.0])  # 10 bread need 5 flour; 3 are in stock
    >>> r.output, r.intermediate, r.unused
    (array([10.,  2.]), array([0., 3.]), array([0., 0.]))
    >>> draw_stocks(e, [10.0, 0.0], [4.0, 9.0]).output  # 6 bread need 3 flour: all from stock
    array([6., 0.])
    """
    t0 = time.perf_counter()
    check_economy(economy)
    d = product_vector(economy, demand, "demand")
    s = product_vector(economy, stocks, "stocks")
    rtol = plan_option(check_rtol, rtol)
    A = economy.A if economy.A.dtype == np.float64 else economy.A.astype(np.float64)
    cache = {} if cache is None else cache
    tally = _Tally()
    # the products certainly made at x*: final demand above the stock, or no stock at all (for those
    # x_i = (A x + d)_i - s_i holds at x* whatever else is made); the iterates then rise to x*
    made = (d > s) | (s == 0)
    if made.all():  # the plain solve and the first step in one block, on the economy itself
        X = tally.solve(economy, np.column_stack([d, d - s]) if s.any() else d[:, None], backend, method, rtol)
        xd, x = X[:, 0], X[:, -1]
    else:
        xd = tally.solve(economy, d[:, None], backend, method, rtol)[:, 0]
        x = _restricted(economy, made, d - s, None, tally, backend, method, rtol, cache)
    steps = 1
    while True:
        need = A @ x + d  # what the current output and the final demand use of every product
        new = ~made & (need - s > rtol * np.maximum(need, s))  # requirement above the stock: made at x*
        if not new.any():
            break
        made |= new
        x = _restricted(economy, made, d - s, x, tally, backend, method, rtol, cache)
        steps += 1
    return _finish(economy, d, s, x, xd, A, steps, tally, rtol, t0)


class _Tally:
    """What the solves of one draw cost and achieved."""

    def __init__(self):
        self.iterations = self.matvecs = 0
        self.residual = 0.0
        self.converged = True
        self.backend, self.method = "numpy", ""

    def solve(self, economy: Economy, R: np.ndarray, backend, method, rtol: float, x0=None) -> np.ndarray:
        sol = solve_output(economy, R, backend=backend, method=method, rtol=rtol, x0=x0, keep_on_device=False)
        self.iterations += int(sol.iterations)
        self.matvecs += int(sol.matvecs)
        self.residual = max(self.residual, float(np.max(np.atleast_1d(sol.residual))))
        self.converged &= bool(sol.converged)
        self.backend, self.method = sol.backend, sol.method
        return np.asarray(sol.output, dtype=np.float64).reshape(R.shape)


def _restricted(economy: Economy, made: np.ndarray, b: np.ndarray, x, tally: _Tally, backend, method, rtol: float,
                cache: dict) -> np.ndarray:
    """``x`` with ``x_P = (I - A_PP)^{-1} b_P`` on the products made ``P`` and 0 elsewhere."""
    out = np.zeros(made.size)
    if not made.any():
        return out
    if made.all():
        sub = economy
    else:
        key = np.packbits(made).tobytes()
        sub = cache.get(key)
        if sub is None:
            while len(cache) > 6:  # bounded: each is a copy of part of A
                cache.pop(next(iter(cache)))
            idx = np.flatnonzero(made)
            # a principal submatrix of A >= 0 has a spectral radius no larger than A's: the certificate holds
            cert = Productivity(0.0, economy.productivity.upper, "principal submatrix of a certified economy")
            sub = cache[key] = Economy(economy.A[idx][:, idx], dtype=economy.dtype, certificate=cert)
    x0 = None if x is None else x[made][:, None]
    out[made] = tally.solve(sub, b[made][:, None], backend, method, rtol, x0=x0)[:, 0]
    return out


def _finish(economy: Economy, d, s, x, xd, A, steps: int, tally: _Tally, rtol: float, t0: float) -> StockDraw:
    """Stocks used and left, the complementarity check and the evidence."""
    notes = []
    scale = max(float(np.max(x, initial=0.0)), float(np.max(d, initial=0.0)), float(np.max(s, initial=0.0)),
                np.finfo(float).tiny)
    low = float(np.min(x, initial=0.0))
    if low < 0:
        notes.append(f"outputs down to {low:.3g} set to 0 (solver rounding; relative {-low / scale:.3g})")
        x = np.maximum(x, 0.0)
    need = A @ x + d
    u = np.minimum(s, need)
    final = np.minimum(u, d)
    gap = float(np.max(np.minimum(x, s - u), initial=0.0)) / scale
    res = float(np.max(np.abs(x - A @ x - (d - u)), initial=0.0)) / max(float(np.max(d, initial=0.0)),
                                                                        np.finfo(float).tiny)
    if -low / scale > _GAP_FACTOR * rtol:
        gap = max(gap, -low / scale)
    ok = tally.converged and gap <= _GAP_FACTOR * rtol
    if gap > _GAP_FACTOR * rtol:
        notes.append(f"complementarity gap {gap:.3g} above {_GAP_FACTOR * rtol:.3g}: a product is made while "
                     "its stock is left (the solves are not accurate enough; tighten rtol)")
    lab = economy.labour
    saved = None if lab is None else np.asarray(lab, dtype=np.float64) @ (xd - x)
    status = Status.CONVERGED if ok else Status.MAX_ITERATIONS if not tally.converged else Status.STAGNATED
    ev = Evidence(converged=ok, status=np.array([int(status)], np.int8),
                  iterations=tally.iterations, residual=np.array([res]), backend=tally.backend,
                  method=f"stocks active set ({tally.method})", matvecs=tally.matvecs,
                  seconds=time.perf_counter() - t0, notes=tuple(notes))
    return StockDraw(output=x, plain_output=xd, demand=d, stocks=s, used=u, final=final, intermediate=u - final,
                     unused=s - u, labour_saved=saved, steps=steps, complementarity=gap, evidence=ev,
                     labels=economy.labels)
