"""The consumer-demand correction loop as a loop over :func:`consumer_step`: :func:`simulate_consumer_demand`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._arrays import to_host
from .._inputs import check_finite, product_positions, product_vector
from .._options import check_choice, check_int, check_real
from ..economy import Economy
from ..errors import (
    ConvergenceError,
    InvalidDemandError,
    InvalidOptionError,
    LabelError,
    ShapeError,
)
from ..static import solve_output
from .device import Home, resolve
from .diagnosis import Diagnosis, diagnose
from .rule import StepRule
from .step import consumer_step, default_values, relative_shortfall

__all__ = ["ConsumerCorrection", "simulate_consumer_demand"]


@dataclass(frozen=True, eq=False, repr=False)
class ConsumerCorrection:
    """Periods of the consumer-demand correction loop (:func:`simulate_consumer_demand`).

    Arrays have one row per period (``stocks`` and ``backlog`` one more: the
    opening values) and one column per recorded product.

    Attributes
    ----------
    products : pandas.Index
        The recorded products.
    values : numpy.ndarray
        Their labour values.
    target : numpy.ndarray
        Their target stocks (0: kept without stock).
    stocks : numpy.ndarray, shape (T + 1, r)
        Opening stocks of every period, and the closing stocks.
    backlog : numpy.ndarray, shape (T + 1, r)
        Unmet demand carried into every period (and out of the last).
    prices : numpy.ndarray, shape (T, r)
        Temporary prices (in labour time); ``prices / values`` is the signal.
    orders : numpy.ndarray, shape (T, r)
        New demand of the period at its price.
    demand, sales, unmet : numpy.ndarray, shape (T, r)
        Quantity wanted in the period (orders plus the backlog carried in), sold,
        and not met (carried forward where a backlog is kept, else lost).
    final_target : numpy.ndarray, shape (T, r)
        The net output planned for the period (final demand incl. stock rebuilding).
    output, output_adjustment, intermediate_use : numpy.ndarray, shape (T, r)
        Gross output, its change from the original plan, and its use as inputs.
    shortfall : numpy.ndarray, shape (T, r)
        ``(stock target - stock + backlog) / max(stock target, orders + backlog)``
        at each step: the signal the rule acts on.
    other_final_use : numpy.ndarray, shape (r,)
        Non-consumer final use per period (investment, exports...).
    stock_gap, price_gap : numpy.ndarray
        Over *all* products: ``max |S - B - S*| / S*`` at each opening (T + 1;
        ``/ 1`` where ``S* = 0``) and ``max |p / v - 1|`` in each period (T).
    converged : bool
        Stocks back on target and backlogs cleared (and prices at values) within ``tol`` at the end.
    converged_at : int or None
        First period from which the stocks stayed within ``tol`` of target.
    diagnosis : Diagnosis
        Which recorded products did not settle, their oscillation and its likely cause.
    rule : StepRule
        The rule of every step.
    """

    products: pd.Index
    values: np.ndarray
    target: np.ndarray
    stocks: np.ndarray
    backlog: np.ndarray
    prices: np.ndarray
    orders: np.ndarray
    demand: np.ndarray
    sales: np.ndarray
    unmet: np.ndarray
    final_target: np.ndarray
    output: np.ndarray
    output_adjustment: np.ndarray
    intermediate_use: np.ndarray
    shortfall: np.ndarray
    other_final_use: np.ndarray
    stock_gap: np.ndarray
    price_gap: np.ndarray
    converged: bool
    converged_at: int | None
    tol: float
    diagnosis: Diagnosis
    rule: StepRule

    @property
    def periods(self) -> int:
        return self.prices.shape[0]

    def frame(self, what: str = "stocks") -> pd.DataFrame:
        """One trajectory (``"stocks"``, ``"prices"``, ``"output_adjustment"``...) as periods x products."""
        arr = getattr(self, what, None)
        if not isinstance(arr, np.ndarray) or arr.ndim != 2:
            raise InvalidOptionError(f"{what!r} is not a per-period array of this result")
        return pd.DataFrame(arr, columns=self.products, index=pd.RangeIndex(arr.shape[0], name="period"))

    def to_frame(self) -> pd.DataFrame:
        """The last period per recorded product: value, price ratio, target, stock, backlog, output, cause."""
        return pd.DataFrame({
            "value": self.values, "price_ratio": self.prices[-1] / np.where(self.values > 0, self.values, 1.0),
            "final_target": self.final_target[-1], "stock": self.stocks[-1], "stock_target": self.target,
            "backlog": self.backlog[-1], "output": self.output[-1], "cause": self.diagnosis.cause,
        }, index=self.products)

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


def _actual(economy: Economy, actual: Any, periods: int, home: Home):
    """Actual demand at value prices as functions of the period: ``(on the host, in home's library)``.

    A constant or a per-period table is moved to the device once; a callable's
    answer each period.
    """
    if callable(actual):
        host = lambda t: _vector(economy, actual(t), f"actual demand of period {t}")
        return host, lambda t: home.put(host(t))
    arr = None if isinstance(actual, (pd.Series, Mapping)) else np.asarray(to_host(actual))
    if isinstance(actual, pd.DataFrame):
        arr = _per_period(economy, actual, periods)
    if arr is not None and arr.ndim == 2:
        if arr.shape != (periods, economy.n):
            raise ShapeError(f"actual demand per period must have shape ({periods}, {economy.n}), got {arr.shape}")
        arr = arr.astype(np.float64)
        check_finite(arr, "actual demand per period", lo=0.0, error=InvalidDemandError)
        arr_d = home.put(arr)
        return (lambda t: arr[t]), (lambda t: arr_d[t])
    a_const = _vector(economy, actual, "actual demand")
    a_dev = home.put(a_const)
    return (lambda t: a_const), (lambda t: a_dev)


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
    rule: StepRule | None = None,
    backlog: str = "stockless",
) -> ConsumerCorrection:
    """Simulate the correction of consumer-goods output when actual demand differs from the plan.

    A loop over :func:`consumer_step`.  Per period ``t`` (vectors over products;
    ``v`` labour values, ``S*`` target stocks, ``B`` backlog, ``y_o`` other final
    use, ``eps = elasticity``):

    1. **Step.**  From last period's sales, orders, the opening stocks and
       backlog and last targets, :func:`consumer_step` sets the period's price
       ratio ``r_t`` and final-demand target ``f_t`` and solves the gross output
       ``x_t = (I - A)^-1 f_t`` (warm-started from ``x_{t-1}``).  Period 0 starts
       from the plan: orders and targets equal ``planned``.
    2. **Demand** at that price: ``d_t = a_t * r_t ** -eps``, where ``a_t`` is the
       actual demand at value prices (``actual``); wanted: ``d_t + B_t``.
    3. **Sales and stocks.**  ``s_t = min(d_t + B_t, S_t + x_t - A x_t - y_o)``
       and ``S_{t+1} = S_t + x_t - A x_t - y_o - s_t``: stocks change by
       production minus intermediate use minus final use, exactly.  Unmet demand
       is carried forward as backlog ``B_{t+1}`` for the products chosen by
       ``backlog`` (by default those without a stock target, so that they still
       get a price and target signal) and lost for the others.

    The default rule, ``StepRule(gain=1/adjustment, price_response=price_response,
    min_price=min_price)``, is stable for every buffer ratio while
    ``1/adjustment < 2 - 2 * elasticity * price_response`` (see :class:`StepRule`):
    with the defaults for any elasticity below 1.5, buffers of a fraction of a
    period's demand included.

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
        ``tau >= 1``: periods over which a stock gap is made good (``gain = 1 / tau``).
    price_response : float
        ``kappa >= 0``: relative price change per relative shortfall.
    elasticity : float
        ``eps >= 0``: price elasticity of consumer demand.
    min_price : float
        Lowest price, as a fraction of the value (in (0, 1]).
    tol : float
        Convergence tolerance on ``max |S - B - S*| / S*``.
    backend : {"auto", "numpy", "cupy", "jax"} or Backend
        Where the loop runs.  ``"auto"``: the inputs' library when some are
        CuPy or JAX arrays, else the host (each period's solve where
        :func:`~bigplan.solve_output` would put it).  On a device the loop's
        state (stocks, backlog, orders, prices, output) stays there from period
        to period; only the recorded products' rows and the two gaps are kept,
        on the device, and brought to the host once at the end.  Inputs are
        checked on the host once; a callable ``actual`` is moved to the device
        each period.  The result holds NumPy arrays.
    record : sequence, optional
        Products to record (labels or positions).  Default: all when ``n <=
        20000``, else those with planned or actual consumer demand.
    rule : StepRule, optional
        Overrides ``adjustment``, ``price_response`` and ``min_price``.
    backlog : {"stockless", "all", "none"}
        Which products carry unmet demand forward.

    Returns
    -------
    ConsumerCorrection

    Raises
    ------
    InvalidOptionError
        Bad periods, tolerances or rule parameters.
    MixedBackendError, BackendError, BackendUnavailableError
        Inputs of two device libraries, an unknown backend, or one not installed here.
    InvalidDemandError, ShapeError, UnknownProductError, LabelError
        Bad demand, stocks or labels.
    InvalidEconomyError
        No labour coefficients and no ``values``.
    ConvergenceError
        A period's solve missed its tolerance.

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
    check_choice(backlog, "backlog", ("stockless", "all", "none"))
    if rule is None:
        rule = StepRule(gain=1.0 / adjustment, price_response=price_response, min_price=min_price)
    elif not isinstance(rule, StepRule):
        raise InvalidOptionError(f"rule must be a StepRule, got {type(rule).__name__}")
    # the loop's state lives in the inputs' library (or backend's); inputs are checked on the host once
    home = resolve(backend, False, planned, None if callable(actual) else actual, other_final, target_stocks,
                   initial_stocks, values)
    xp = home.xp
    c_plan = _vector(economy, planned, "planned demand")
    y_o = np.zeros(n) if other_final is None else _vector(economy, other_final, "other final use")
    act, act_d = _actual(economy, actual, periods, home)
    if target_stocks is None:
        target = economy.stocks.astype(np.float64) if economy.stocks is not None else c_plan.copy()
    else:
        target = _vector(economy, target_stocks, "target stocks")
    S = target.copy() if initial_stocks is None else _vector(economy, initial_stocks, "initial stocks").copy()
    v = default_values(economy, values, home.backend)
    if record is None:
        rec = np.arange(n) if n <= 20_000 else np.flatnonzero((c_plan > 0) | (act(0) > 0))
    else:
        rec = economy.positions(record)
    labels = economy.labels[rec] if economy.labels is not None else pd.Index(rec)
    denom = np.where(target > 0, target, 1.0)
    carry = {"stockless": target == 0, "all": np.ones(n, bool), "none": np.zeros(n, bool)}[backlog]
    x_plan = solve_output(economy, home.put(y_o + c_plan), backend=home.backend, rtol=rtol,
                          keep_on_device=home.device).output
    x_plan = home.put(x_plan)
    # on a device: the state, once; every period only its recorded rows and two gaps are kept there,
    # and they come back in one transfer at the end
    c_d, y_d, target_d, S, v_d, denom_d = map(home.put, (c_plan, y_o, target, S, v, denom))
    carry_d = home.put(carry, dtype=bool)
    rec_d = home.put(rec, dtype=np.int64) if home.device else rec
    T = periods
    keys = ("prices", "orders", "demand", "sales", "unmet", "final_target", "output", "output_adjustment",
            "intermediate_use", "shortfall")
    rows = {k: [] for k in keys}
    stock_rows, back_rows = [S[rec_d]], [xp.zeros(rec.size)]
    B = xp.zeros(n)
    stock_gaps, price_gaps = [xp.max(xp.abs(S - target_d) / denom_d)], []
    x_prev, sold, orders, last, ratio = x_plan, c_d, c_d, c_d, xp.ones(n)
    over = np.zeros(n, bool)
    for t in range(T):
        st = consumer_step(economy, sales=sold, orders=orders, stocks=xp.maximum(S, 0.0), backlog=B, targets=last,
                           stock_targets=target_d, price_ratio=ratio, values=v_d,
                           other_final=None if other_final is None else y_d, rule=rule, x0=x_prev,
                           backend=home.backend, rtol=rtol, keep_on_device=home.device)
        if not st.converged:
            raise ConvergenceError(f"the solve of period {t} missed rtol={rtol:g}: {st.evidence.describe()}",
                                   residual=st.residual, iterations=st.iterations)
        if len(st.over_capacity):
            over[economy.positions(list(st.over_capacity))] = True
        ratio = st.price_ratio
        x = xp.maximum(st.output, 0.0)
        d = act_d(t) * ratio ** (-elasticity)
        wanted = d + B
        inter = home.matvec(economy, x)
        available = S + x - inter - y_d
        s = xp.minimum(wanted, xp.maximum(available, 0.0))
        S_next = S + x - inter - y_d - s
        unmet = wanted - s
        rel = relative_shortfall(st.shortfall, target_d, orders, B)
        for k_, val in (("prices", v_d * ratio), ("orders", d), ("demand", wanted), ("sales", s), ("unmet", unmet),
                        ("final_target", st.final_demand), ("output", x), ("output_adjustment", x - x_plan),
                        ("intermediate_use", inter), ("shortfall", rel)):
            rows[k_].append(val[rec_d])
        price_gaps.append(xp.max(xp.abs(ratio - 1.0)))
        B = xp.where(carry_d, unmet, 0.0)
        S, x_prev, sold, orders, last = S_next, x, s, d, st.targets
        stock_rows.append(S[rec_d])
        back_rows.append(B[rec_d])
        stock_gaps.append(xp.max(xp.abs(S - B - target_d) / denom_d))
    host = lambda parts: np.asarray(to_host(xp.stack(parts)), dtype=np.float64)
    out = {k: host(parts) for k, parts in rows.items()}
    stocks, backlogs = host(stock_rows), host(back_rows)
    stock_gap, price_gap = host(stock_gaps), host(price_gaps)
    within = stock_gap <= tol
    converged_at = None
    if within[-1]:
        bad = np.flatnonzero(~within)
        converged_at = int(bad[-1] + 1) if bad.size else 0
    final_gap = np.asarray(to_host((xp.abs(S - B - target_d) / denom_d)[rec_d]))
    mean_orders = np.maximum(out["orders"][-min(T, 8):].mean(axis=0), 1e-300)
    diagnosis = diagnose(out["shortfall"], out["prices"] / np.where(v[rec] > 0, v[rec], 1.0)[None, :],
                         final_gap=final_gap, tol=tol, buffer_ratio=target[rec] / mean_orders,
                         stocked=target[rec] > 0, backlogged=carry[rec], over_capacity=over[rec], products=labels,
                         rule=rule, elasticity=elasticity)
    return ConsumerCorrection(
        products=labels,
        values=v[rec],
        target=target[rec],
        stocks=stocks,
        backlog=backlogs,
        other_final_use=y_o[rec],
        stock_gap=stock_gap,
        price_gap=price_gap,
        converged=bool(within[-1]),
        converged_at=converged_at,
        tol=float(tol),
        diagnosis=diagnosis,
        rule=rule,
        **out,
    )
