"""Stock flows and the consumer-demand correction loop.

When actual consumer demand differs from the plan, stocks fall or rise, prices
move away from labour values for a while and output is readjusted (with
everything upstream) until stocks are back on target and prices equal values
again: :func:`simulate_consumer_demand`.  :func:`stock_change` is the stock
identity of one period (production - intermediate use - final use).  Built on
the static layer; :mod:`bigplan.inventory` re-exports both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._inputs import check_finite, product_positions, product_vector
from ._options import check_int, check_real
from .economy import Economy
from .errors import (
    InvalidDemandError,
    InvalidEconomyError,
    InvalidOptionError,
    LabelError,
    ShapeError,
)
from .static import labour_values, solve_output

__all__ = ["ConsumerCorrection", "simulate_consumer_demand", "stock_change"]


# ---------------------------------------------------------------------------
# stock flows
# ---------------------------------------------------------------------------
def stock_change(economy: Economy, output: Any, final_use: Any = None) -> np.ndarray:
    """Change of stocks over a period: production - intermediate use - final use.

    Parameters
    ----------
    economy : Economy
    output : array_like (n,), pandas.Series or mapping ``{product: quantity}``
        Gross output produced in the period (aligned by label; every product given).
    final_use : same forms, optional
        Consumption, investment and exports taken in the period.

    Returns
    -------
    numpy.ndarray, shape (n,)
        ``output - A @ output - final_use``; pass its positive part as production
        and negative part as use to :meth:`Store.record_flows`.

    Raises
    ------
    UnknownProductError, LabelError
        Labelled input names a product the economy lacks, or lacks one.
    ShapeError, InvalidDemandError
        The wrong length, or NaN or infinite quantities.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]))
    >>> stock_change(e, [10.0, 5.0], [7.0, 2.0]).round(6).tolist()
    [0.5, 0.5]
    """
    x = product_vector(economy, output, "output", lo=None)
    f = np.zeros(economy.n) if final_use is None else product_vector(economy, final_use, "final_use", lo=None)
    use = economy.A @ x
    return x - use - f


# ---------------------------------------------------------------------------
# the consumer-demand correction loop
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class ConsumerCorrection:
    """Periods of the consumer-demand correction loop (:func:`simulate_consumer_demand`).

    Arrays have one row per period (``stocks`` one more: the opening stocks) and
    one column per recorded product.

    Attributes
    ----------
    products : pandas.Index
        The recorded products.
    values : numpy.ndarray
        Their labour values.
    target : numpy.ndarray
        Their target stocks.
    stocks : numpy.ndarray, shape (T + 1, r)
        Opening stocks of every period, and the closing stocks.
    prices : numpy.ndarray, shape (T, r)
        Temporary prices (in labour time); ``prices / values`` is the signal.
    demand, sales, unmet : numpy.ndarray, shape (T, r)
        Quantity demanded at the period's price, sold, and not met.
    final_target : numpy.ndarray, shape (T, r)
        The net output planned for the period (final demand incl. stock rebuilding).
    output, output_adjustment, intermediate_use : numpy.ndarray, shape (T, r)
        Gross output, its change from the original plan, and its use as inputs.
    other_final_use : numpy.ndarray, shape (r,)
        Non-consumer final use per period (investment, exports...).
    stock_gap, price_gap : numpy.ndarray
        Over *all* products: ``max |S - S*| / S*`` at each opening (T + 1) and
        ``max |p / v - 1|`` in each period (T).
    converged : bool
        Stocks back on target (and prices at values) within ``tol`` at the end.
    converged_at : int or None
        First period from which the stocks stayed within ``tol`` of target.
    """

    products: pd.Index
    values: np.ndarray
    target: np.ndarray
    stocks: np.ndarray
    prices: np.ndarray
    demand: np.ndarray
    sales: np.ndarray
    unmet: np.ndarray
    final_target: np.ndarray
    output: np.ndarray
    output_adjustment: np.ndarray
    intermediate_use: np.ndarray
    other_final_use: np.ndarray
    stock_gap: np.ndarray
    price_gap: np.ndarray
    converged: bool
    converged_at: int | None
    tol: float

    @property
    def periods(self) -> int:
        return self.prices.shape[0]

    def frame(self, what: str = "stocks") -> pd.DataFrame:
        """One trajectory (``"stocks"``, ``"prices"``, ``"output_adjustment"``...) as periods x products."""
        arr = getattr(self, what)
        if not isinstance(arr, np.ndarray) or arr.ndim != 2:
            raise InvalidOptionError(f"{what!r} is not a per-period array of this result")
        return pd.DataFrame(arr, columns=self.products, index=pd.RangeIndex(arr.shape[0], name="period"))

    def __repr__(self) -> str:
        state = f"converged at period {self.converged_at}" if self.converged else "NOT converged"
        return (
            f"<ConsumerCorrection {self.periods} periods, {len(self.products)} products recorded: {state}; "
            f"final stock gap {self.stock_gap[-1]:.3g}, price gap {self.price_gap[-1]:.3g}>"
        )


def _vector(economy: Economy, v: Any, what: str) -> np.ndarray:
    """A non-negative quantity per product (a number stands for every product)."""
    return product_vector(economy, v, what, scalar=True)


def _per_period(economy: Economy, frame: pd.DataFrame, periods: int) -> np.ndarray:
    """Actual demand per period from a DataFrame: periods as rows, products as columns (aligned by label)."""
    if frame.shape[0] != periods:
        raise ShapeError(
            f"actual demand as a DataFrame has periods as rows and products as columns: {periods} rows "
            f"expected, got {frame.shape[0]} (transpose it if products are the rows)"
        )
    cols = frame.columns
    if cols.has_duplicates:
        raise LabelError(f"actual demand names products twice: {list(cols[cols.duplicated()].unique())[:10]}")
    pos = product_positions(economy, list(cols), what="actual demand columns")
    if pos.size != economy.n:
        have = np.zeros(economy.n, bool)
        have[pos] = True
        gone = np.flatnonzero(~have)[:10]
        names = gone.tolist() if economy.labels is None else economy.labels[gone].tolist()
        raise LabelError(f"actual demand lacks products {names}; give every product a column (0 for none)")
    try:
        vals = frame.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidDemandError("actual demand must be numeric") from None
    out = np.empty((periods, economy.n))
    out[:, pos] = vals
    return out


def simulate_consumer_demand(
    economy: Economy,
    planned: Any,
    actual: Any,
    *,
    periods: int = 30,
    other_final: Any = None,
    target_stocks: Any = None,
    initial_stocks: Any = None,
    values: Any = None,
    adjustment: float = 2.0,
    price_response: float = 0.5,
    elasticity: float = 0.5,
    min_price: float = 0.1,
    tol: float = 1e-6,
    backend: Any = "auto",
    rtol: float = 1e-12,
    record: Any = None,
) -> ConsumerCorrection:
    """Simulate the correction of consumer-goods output when actual demand differs from the plan.

    The model, per period ``t`` (vectors over products; ``v`` labour values,
    ``S*`` target stocks, ``y_o`` other final use, ``tau = adjustment``,
    ``kappa = price_response``, ``eps = elasticity``):

    1. **Price.**  Shops price each good at its labour value, marked up or down
       while its stock is off target:
       ``p_t = v * max(1 + kappa * (S* - S_t) / S*, min_price)``.
    2. **Demand** at that price: ``d_t = a_t * (p_t / v) ** -eps``, where ``a_t``
       is the actual demand at value prices (the ``actual`` argument).
    3. **Plan.**  The planners set the period's final-demand target from the
       demand they expect at value prices (``c_0`` = the plan, then the last
       observed demand at value prices ``d_{t-1} (p_{t-1} / v) ** eps``) plus a
       stock correction: ``f_t = max(y_o + c_t + (S* - S_t) / tau, 0)``.  Since
       ``(S* - S_t) / tau`` is proportional to ``p_t / v - 1``, output is
       expanded exactly where the price stands above the value.
    4. **Production** with everything upstream: ``x_t = (I - A)^-1 f_t``
       (:func:`~bigplan.solve_output`, warm-started from ``x_{t-1}``).
    5. **Sales and stocks.**  ``s_t = min(d_t, S_t + x_t - A x_t - y_o)`` and
       ``S_{t+1} = S_t + x_t - A x_t - y_o - s_t``: stocks change by production
       minus intermediate use minus final use, exactly.

    After a lasting change of demand the stock gap ``e = S - S*`` shrinks by
    about ``1 - 1/tau - eps * kappa * a / S*`` per period, so stocks return to
    target and prices to values (for ``tau >= 1`` and moderate ``eps * kappa``).

    Parameters
    ----------
    economy : Economy
    planned : array_like (n,), pandas.Series or mapping ``{product: quantity}``
        Planned consumer demand per period.  Here and below, labelled input is
        aligned by label and must name every product (give 0 for none); a
        product the economy lacks is an :class:`~bigplan.UnknownProductError`.
    actual : array_like (n,), array (periods, n), pandas.DataFrame, or callable ``t -> (n,)``
        Actual consumer demand at value prices, constant or per period.  A
        DataFrame has one row per period and one column per product (aligned
        by label; every product must be a column).
    periods : int
    other_final : array_like (n,), optional
        Other final use per period (investment, exports); default none.
    target_stocks : array_like (n,), optional
        Default: the economy's stocks, else one period of planned demand.
    initial_stocks : array_like (n,), optional
        Default: the target.
    values : array_like (n,), optional
        Labour values (default :func:`~bigplan.labour_values`, summed over labour kinds).
    adjustment : float
        ``tau >= 1``: periods over which a stock gap is made good.
    price_response : float
        ``kappa >= 0``: relative price change per relative stock gap.
    elasticity : float
        ``eps >= 0``: price elasticity of consumer demand.
    min_price : float
        Lowest price, as a fraction of the value (in (0, 1]).
    tol : float
        Convergence tolerance on ``max |S - S*| / S*``.
    backend : str
    rtol : float
        Tolerance of each period's solve.
    record : sequence, optional
        Products to record (labels or positions).  Default: all when ``n <=
        20000``, else those with planned or actual consumer demand.

    Returns
    -------
    ConsumerCorrection

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0], labels=["bread", "iron"])
    >>> run = simulate_consumer_demand(e, planned=[10.0, 0.0], actual=[12.0, 0.0], periods=40)
    >>> run.converged, bool(abs(run.prices[-1, 0] / run.values[0] - 1) < 1e-5)
    (True, True)
    """
    n = economy.n
    periods = check_int(periods, "periods", lo=1)
    for nm, val, lo in (("adjustment", adjustment, 1.0), ("price_response", price_response, 0.0),
                        ("elasticity", elasticity, 0.0)):
        check_real(val, nm, lo=lo)
    check_real(min_price, "min_price", lo=0.0, hi=1.0, lo_open=True)
    check_real(tol, "tol", lo=0.0, lo_open=True)
    c_plan = _vector(economy, planned, "planned demand")
    y_o = np.zeros(n) if other_final is None else _vector(economy, other_final, "other final use")
    if callable(actual):
        def act(t):
            return _vector(economy, actual(t), f"actual demand of period {t}")
    else:
        arr = None if isinstance(actual, (pd.Series, Mapping)) else np.asarray(actual)
        if isinstance(actual, pd.DataFrame):
            arr = _per_period(economy, actual, periods)
        if arr is not None and arr.ndim == 2:
            if arr.shape != (periods, n):
                raise ShapeError(f"actual demand per period must have shape ({periods}, {n}), got {arr.shape}")
            arr = arr.astype(np.float64)
            check_finite(arr, "actual demand per period", lo=0.0, error=InvalidDemandError)

            def act(t):
                return arr[t]
        else:
            a_const = _vector(economy, actual, "actual demand")

            def act(t):
                return a_const
    if target_stocks is None:
        target = economy.stocks.astype(np.float64) if economy.stocks is not None else c_plan.copy()
    else:
        target = _vector(economy, target_stocks, "target stocks")
    S = target.copy() if initial_stocks is None else _vector(economy, initial_stocks, "initial stocks").copy()
    if values is None:
        if economy.labour is None:
            raise InvalidEconomyError("this economy has no labour coefficients; pass values=... (labour values)")
        vv = np.asarray(labour_values(economy, backend=backend).values, np.float64)
        v = vv if vv.ndim == 1 else vv.sum(axis=0)
    else:
        v = _vector(economy, values, "values")
    if record is None:
        rec = np.arange(n) if n <= 20_000 else np.flatnonzero((c_plan > 0) | (act(0) > 0))
    else:
        rec = economy.positions(record)
    labels = economy.labels[rec] if economy.labels is not None else pd.Index(rec)
    denom = np.where(target > 0, target, 1.0)

    T, r = periods, rec.size
    out = {k: np.empty((T, r)) for k in ("prices", "demand", "sales", "unmet", "final_target", "output",
                                         "output_adjustment", "intermediate_use")}
    stocks = np.empty((T + 1, r))
    stock_gap = np.empty(T + 1)
    price_gap = np.empty(T)
    stocks[0] = S[rec]
    stock_gap[0] = float(np.max(np.abs(S - target) / denom))
    x_plan = np.asarray(solve_output(economy, y_o + c_plan, backend=backend, rtol=rtol).output, np.float64)
    x_prev = x_plan
    c_hat = c_plan.copy()
    A = economy.A
    for t in range(T):
        a_t = act(t)
        ratio = np.maximum(1.0 + price_response * (target - S) / denom, min_price)
        d = a_t * ratio ** (-elasticity)
        f = np.maximum(y_o + c_hat + (target - S) / adjustment, 0.0)
        x = np.asarray(solve_output(economy, f, x0=x_prev, backend=backend, rtol=rtol).output, np.float64)
        x = np.maximum(x, 0.0)
        inter = np.asarray(A @ x, dtype=np.float64)
        available = S + x - inter - y_o
        s = np.minimum(d, np.maximum(available, 0.0))
        S_next = S + x - inter - y_o - s
        for k_, val in (("prices", v * ratio), ("demand", d), ("sales", s), ("unmet", d - s), ("final_target", f),
                        ("output", x), ("output_adjustment", x - x_plan), ("intermediate_use", inter)):
            out[k_][t] = val[rec]
        price_gap[t] = float(np.max(np.abs(ratio - 1.0)))
        c_hat = d * ratio ** elasticity  # the demand observed, at value prices
        S = S_next
        x_prev = x
        stocks[t + 1] = S[rec]
        stock_gap[t + 1] = float(np.max(np.abs(S - target) / denom))
    within = stock_gap <= tol
    converged_at = None
    if within[-1]:
        bad = np.flatnonzero(~within)
        converged_at = int(bad[-1] + 1) if bad.size else 0
    return ConsumerCorrection(
        products=labels,
        values=v[rec],
        target=target[rec],
        stocks=stocks,
        other_final_use=y_o[rec],
        stock_gap=stock_gap,
        price_gap=price_gap,
        converged=bool(within[-1]),
        converged_at=converged_at,
        tol=float(tol),
        **out,
    )
