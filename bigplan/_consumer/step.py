"""One period of the consumer-demand loop from observed data: :func:`consumer_step`."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._arrays import array_library, to_host
from .._evidence import Evidence, WithEvidence
from .._inputs import (
    PlanBlock,
    check_finite,
    plan_block,
    product_labels,
    product_vector,
)
from .._options import check_bool, check_rtol
from ..economy import Economy
from ..errors import (
    InvalidDemandError,
    InvalidEconomyError,
    InvalidOptionError,
    LabelError,
    NegativeStockError,
    ShapeError,
)
from ..static import labour_values, solve_output
from .device import Home, namespace, resolve
from .rule import StepRule

__all__ = ["ConsumerStep", "consumer_step", "default_values", "relative_shortfall"]

_SHOW = 5


@dataclass(frozen=True, eq=False, repr=False)
class ConsumerStep(WithEvidence):
    """Next period's prices, targets and gross output from one consumer step (:func:`consumer_step`).

    Arrays are ``(n, k)`` for ``k`` plans (``(n,)`` when the observations came as
    one vector), one row per product: NumPy arrays, or CuPy/JAX arrays when the
    step kept its results on the device (``keep_on_device``; :meth:`to_frame`
    brings them to the host).

    Attributes
    ----------
    price_ratio : numpy.ndarray
        Temporary price over labour value, ``p / v``; ``price_ratio - 1`` is the
        deviation from value (the signal).
    prices : numpy.ndarray
        ``values * price_ratio`` (in labour time; a property computed on access).
    targets : numpy.ndarray
        Consumer targets of the next period: the demand forecast at the new
        price plus ``gain`` times the shortfall.
    stock_targets : numpy.ndarray
        The stock targets the next step should be given (those this step used).
    final_demand : numpy.ndarray
        ``max(targets + other final use, 0)``: what :attr:`output` was solved for.
    output : numpy.ndarray
        Gross output for :attr:`final_demand`, every upstream product included,
        from one batched :func:`~bigplan.solve_output` call.
    demand_forecast : numpy.ndarray
        Demand expected at the new price.
    shortfall : numpy.ndarray
        ``stock target - stock + backlog`` (positive: short; negative: surplus).
    target_change : numpy.ndarray
        ``targets - last targets``.
    values : numpy.ndarray, shape (n,)
        Labour values used.
    rule : StepRule
    over_capacity : pandas.Index
        Products whose gross output exceeds the economy's recorded capacity in any plan.
    backlog_signal : pandas.Index
        Products without a stock target whose signal came from the backlog (first few hundred).
    labels, plans : pandas.Index or None
    evidence : Evidence
        Of the batched solve, with the step's seconds and notes.
    """

    price_ratio: np.ndarray
    targets: np.ndarray
    stock_targets: np.ndarray
    final_demand: np.ndarray
    output: np.ndarray
    demand_forecast: np.ndarray
    shortfall: np.ndarray
    last_targets: np.ndarray
    values: np.ndarray
    rule: StepRule
    over_capacity: pd.Index
    backlog_signal: pd.Index
    labels: pd.Index | None
    plans: pd.Index | None
    squeeze: bool
    evidence: Evidence

    @property
    def prices(self) -> np.ndarray:
        """``values * price_ratio``: the temporary prices in labour time (computed on access)."""
        return self.price_ratio * (self.values if self.price_ratio.ndim == 1 else self.values[:, None])

    @property
    def target_change(self) -> np.ndarray:
        """``targets - last targets``."""
        return self.targets - self.last_targets

    @property
    def price_deviation(self) -> np.ndarray:
        """``price_ratio - 1``: the temporary deviation of prices from labour values."""
        return self.price_ratio - 1.0

    def to_frame(self, plan: Any = None) -> pd.DataFrame:
        """One row per product: value, price ratio, price, targets and their change, stock target, output.

        With several plans, ``plan`` (a name or position) picks one; without it
        the columns are (quantity, plan).
        """
        cols = {
            "value": None, "price_ratio": self.price_ratio, "price": self.prices, "demand_forecast":
            self.demand_forecast, "target": self.targets, "target_change": self.target_change,
            "shortfall": self.shortfall, "stock_target": self.stock_targets, "output": self.output,
        }
        index = self.labels if self.labels is not None else pd.RangeIndex(len(self.values))
        values = to_host(self.values)
        if self.squeeze or plan is not None:
            j = 0 if self.squeeze else self._plan_position(plan)
            data = {k: (values if v is None else to_host(v if v.ndim == 1 else v[:, j])) for k, v in cols.items()}
            return pd.DataFrame(data, index=index)
        plans = self.plans if self.plans is not None else pd.RangeIndex(self.output.shape[1])
        parts = {k: pd.DataFrame(np.broadcast_to(values[:, None], self.output.shape) if v is None else to_host(v),
                                 index=index, columns=plans) for k, v in cols.items()}
        return pd.concat(parts, axis=1, names=["quantity", "plan"])

    def _plan_position(self, plan) -> int:
        k = self.output.shape[1]
        if self.plans is not None and plan in self.plans:
            return int(self.plans.get_loc(plan))
        if isinstance(plan, (int, np.integer)) and not isinstance(plan, bool) and 0 <= plan < k:
            return int(plan)
        raise LabelError(f"unknown plan {plan!r}; this step has plans {list(self.plans)[:_SHOW]}")

    def __repr__(self) -> str:
        xp = namespace(self.price_ratio)
        dev = float(xp.max(xp.abs(self.price_ratio - 1.0))) if self.price_ratio.size else 0.0
        k = 1 if self.squeeze else self.output.shape[1]
        state = "converged" if self.converged else "NOT converged"
        where = "" if array_library(self.output) in (None, "numpy") else f" on {array_library(self.output)}"
        return (
            f"<ConsumerStep {self.output.shape[0]} products x {k} plans{where}: largest price deviation "
            f"{dev:.3g}, {len(self.over_capacity)} over capacity; solve {state}, "
            f"{self.seconds:.3g} s>"
        )


def default_values(economy: Economy, values: Any, backend: Any) -> np.ndarray:
    """Labour values per product on the host: ``values`` aligned, or the economy's (summed over labour kinds)."""
    if values is not None:
        return product_vector(economy, values, "values")
    if economy.labour is None:
        raise InvalidEconomyError("this economy has no labour coefficients; pass values=... (labour values)")
    vv = np.asarray(to_host(labour_values(economy, backend=backend, keep_on_device=False).values), np.float64)
    return vv if vv.ndim == 1 else vv.sum(axis=0)


def _values(economy: Economy, values: Any, home: Home):
    """Labour values: a device vector of the step's library is checked where it lies (a few flags come back)."""
    if (home.device and array_library(values) == home.name and getattr(values, "ndim", 0) == 1
            and values.shape[0] == economy.n):
        xp = home.xp
        vd = home.put(values)
        if bool(xp.all(xp.isfinite(vd) & (vd >= 0))):
            return vd
    return default_values(economy, values, home.backend)  # host input, or the typed error for bad device input


def relative_shortfall(u, star, orders, backlog=None):
    """``u / R`` with ``R = max(S*, orders + backlog)`` (0 where ``R = 0``): the signal the rule acts on.

    Computed in the arrays' own library (NumPy, CuPy or JAX), without updating any input.

    Examples
    --------
    >>> import numpy as np
    >>> from bigplan._consumer.step import relative_shortfall
    >>> relative_shortfall(np.array([1.0, 2.0, 0.0]), np.array([4.0, 0.0, 0.0]), np.array([2.0, 1.0, 0.0]),
    ...                    np.array([0.0, 3.0, 0.0])).tolist()
    [0.25, 0.5, 0.0]
    """
    xp = namespace(u, star, orders, backlog)
    scale = orders + backlog if backlog is not None else xp.asarray(orders, dtype=xp.float64)
    scale = xp.maximum(scale, star)
    pos = scale > 0
    # u / R where R > 0, else 0 (R itself there, as R >= 0): no division by zero is ever evaluated
    return xp.where(pos, u, 0.0) / xp.where(pos, scale, 1.0)


def _block(economy, value, what: str, ref, home: Home, *, error=InvalidDemandError, lo: float | None = 0.0):
    """``value`` as a float64 ``(n, k)`` block of ``home``'s library matching the reference plans.

    A vector stands for every plan.  Validation (labels, shapes, NaN, sign) is
    :func:`~bigplan._inputs.plan_block`'s, the same for every library; only the
    error path brings a device block to the host to count the offending entries.
    """
    k, names = ref
    pb = value if isinstance(value, PlanBlock) else plan_block(economy, value, what, host=not home.device)
    if pb.k != k and not (pb.squeeze and pb.k == 1):
        raise ShapeError(f"{what} has {pb.k} plans but sales have {k}; give one column per plan, or one "
                         "vector for every plan")
    if pb.k == k and names is not None and pb.names is not None and not pb.squeeze and not pb.names.equals(names):
        raise LabelError(f"{what} names plans {list(pb.names)[:_SHOW]} but sales name {list(names)[:_SHOW]}; "
                         "give the plans in the same order with the same names")
    if lo is not None and not pb.nonneg.all():  # plan_block has refused NaN/inf and knows each column's sign
        check_finite(np.asarray(to_host(pb.values)), what, lo=lo, error=error)
    block = home.put(pb.values)
    if pb.k != k:
        block = home.xp.broadcast_to(block, (block.shape[0], k))
    return block


def _rule(home: Home, rule: StepRule, star, stocks, a, back, y_o):
    """The rule on blocks of one library: ``(u, ratio, forecast, f, q)`` (see :func:`consumer_step`).

    Never writes into an input; fresh blocks are updated in place where the
    library allows it (NumPy, CuPy) and replaced where it does not (JAX, where
    the whole rule is one compiled call: :meth:`Home.fused`).
    """
    xp, upd = home.xp, home.update
    u = xp.subtract(star, stocks)
    if back is not None:
        u = upd(xp.add, u, back)
    ratio = relative_shortfall(u, star, a, back)
    ratio = upd(xp.multiply, ratio, rule.price_response)
    ratio = upd(xp.add, ratio, 1.0)
    ratio = upd(xp.clip, ratio, rule.min_price, rule.max_price)
    eh = rule.elasticity
    forecast = a if not eh else a * ratio ** (-eh)
    f = xp.multiply(u, rule.gain)
    f = upd(xp.add, f, forecast)
    if y_o is not None:
        f = upd(xp.add, f, y_o)
    f = upd(xp.maximum, f, 0.0)
    q = f if y_o is None else f - y_o
    return u, ratio, forecast, f, q


def consumer_step(
    economy: Economy,
    *,
    sales: Any,
    stocks: Any,
    targets: Any,
    orders: Any = None,
    backlog: Any = None,
    stock_targets: Any = None,
    price_ratio: Any = None,
    values: Any = None,
    other_final: Any = None,
    rule: StepRule | None = None,
    x0: Any = None,
    backend: Any = "auto",
    rtol: float = 1e-10,
    raise_on_failure: bool = True,
    keep_on_device: bool | None = None,
) -> ConsumerStep:
    """One period of the consumer-demand loop: observations in, next period's prices, targets and output out.

    Per product and plan (``S`` stocks, ``S*`` stock targets, ``B`` backlog,
    ``a`` orders, ``r`` the price ratio in force, ``g``, ``kappa``, ``e_hat``
    from ``rule``):

    1. shortfall ``u = S* - S + B`` and scale ``R = max(S*, a_hat + B)`` with
       ``a_hat = a * r ** e_hat`` (orders at value prices);
    2. price ratio ``r' = clip(1 + kappa * u / R, min_price, max_price)``; the
       temporary price is ``v * r'``;
    3. demand forecast ``d_hat = a_hat * r' ** -e_hat`` and consumer target
       ``q = d_hat + g * u``: above value exactly where output is raised;
    4. final demand ``f = max(q + other_final, 0)`` and gross output
       ``(I - A)^-1 f`` for every plan in one batched
       :func:`~bigplan.solve_output` call.

    Products without stock (``S* = 0``) get their signal from the backlog:
    unmet demand carried forward raises ``u``, hence the price and the target.
    The rule is stable for every buffer ratio when
    ``0 < g < 2 - 2 (e - e_hat) kappa`` (``e``: consumers' elasticity; see
    :class:`StepRule`).

    Parameters
    ----------
    economy : Economy
    sales : array (n,) or (n, k), Series, DataFrame (products x plans) or mapping
        Quantities delivered to consumers in the period just ended.  Every
        observation below takes the same forms (aligned by label through
        :func:`bigplan._inputs.plan_block`); a vector stands for every plan.
    stocks : same forms
        Closing stocks.
    targets : same forms
        Last period's consumer targets (the previous step's ``targets``; negative
        where stocks were drawn down to cover other final use).
    orders : same forms, optional
        Demand registered in the period at its prices, served or not (default:
        ``sales``; give it where stock-outs turned demand away).
    backlog : same forms, optional
        Unmet demand carried forward (closing order book, waiting lists); default 0.
    stock_targets : same forms, optional
        Default: the economy's stocks; required when it has none.
    price_ratio : same forms, optional
        ``p / v`` in force during the period (default 1); used when ``rule.elasticity > 0``.
    values : array_like (n,), optional
        Labour values (default :func:`~bigplan.labour_values`, summed over kinds).
    other_final : array_like (n,) or block, optional
        Non-consumer final use of the next period (investment, exports).
    rule : StepRule, optional
    x0 : array (n, k), optional
        Warm start for the solve (e.g. the last gross output).
    backend : {"auto", "numpy", "cupy", "jax"} or Backend
        Where the step runs, the rule's element-wise work as well as the solve.
        ``"auto"``: the inputs' own library when some are CuPy or JAX arrays
        (the others are moved there), else the rule on the host and the solve
        where :func:`~bigplan.solve_output` would put it.  ``"cupy"``/``"jax"``
        move host inputs to that device once.  pandas and mapping inputs are
        aligned by label on the host first.
    rtol : float
        Tolerance of the batched solve.
    raise_on_failure : bool, default True
        Raise :class:`~bigplan.ConvergenceError` when a plan's solve misses
        ``rtol``; when False, return the step with ``converged=False`` and the
        per-plan status in its evidence.
    keep_on_device : bool, optional
        Return the step's arrays in the device library (CuPy/JAX) instead of
        NumPy.  Default, as in :func:`~bigplan.solve_output`: keep them there
        exactly when the inputs came as device arrays.  ``True`` with host
        inputs and ``backend="auto"`` runs the step on the CUDA device
        :func:`~bigplan.solve_output` would pick (on the host when there is
        none).  The solve itself always keeps its answer on the device the step
        runs on.

    Returns
    -------
    ConsumerStep

    Raises
    ------
    NegativeStockError
        Negative stocks or stock targets.
    InvalidDemandError
        NaN, infinite or negative sales, orders, backlog or targets.
    UnknownProductError, LabelError, ShapeError
        Unknown or missing products, wrong shapes, mismatched plans.
    InvalidOptionError
        ``rule`` not a :class:`StepRule`, bad ``rtol``, ``keep_on_device`` not a boolean.
    MixedBackendError, BackendError, BackendUnavailableError
        Inputs of two device libraries, an unknown backend, or one not installed here.
    ConvergenceError
        A plan's solve missed ``rtol`` (with ``raise_on_failure``).

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.inventory import consumer_step
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0], labels=["bread", "iron"])
    >>> st = consumer_step(e, sales=[10.0, 0.0], stocks=[1.0, 0.0], targets=[10.0, 0.0], stock_targets=[3.0, 0.0])
    >>> st.price_ratio.round(3).tolist(), st.targets.round(3).tolist()
    ([1.05, 1.0], [11.0, 0.0])
    >>> bool(np.allclose(st.output - e.A @ st.output, st.final_demand))
    True
    """
    t0 = time.perf_counter()
    rule = StepRule() if rule is None else rule
    if not isinstance(rule, StepRule):
        raise InvalidOptionError(f"rule must be a StepRule, got {type(rule).__name__}; e.g. StepRule(gain=0.5)")
    rtol = check_rtol(rtol)
    raise_on_failure = check_bool(raise_on_failure, "raise_on_failure")
    home = resolve(backend, keep_on_device, sales, stocks, targets, orders, backlog, stock_targets, price_ratio,
                   other_final, x0)
    xp = home.xp
    sb = plan_block(economy, sales, "sales", host=not home.device)
    ref = (sb.k, sb.names)
    sales_b = _block(economy, sb, "sales", ref, home)
    stocks_b = _block(economy, stocks, "stocks", ref, home, error=NegativeStockError)
    last = _block(economy, targets, "targets", ref, home, lo=None)
    if stock_targets is None:
        if economy.stocks is None:
            raise InvalidDemandError("stock_targets is required: this economy records no stocks (give 0 for "
                                     "products kept without stock)")
        stock_targets = economy.stocks
    star = _block(economy, stock_targets, "stock_targets", ref, home, error=NegativeStockError)
    a = sales_b if orders is None else _block(economy, orders, "orders", ref, home)
    back = None if backlog is None else _block(economy, backlog, "backlog", ref, home)
    eh = rule.elasticity
    if eh and price_ratio is not None:
        r_in = _block(economy, price_ratio, "price_ratio", ref, home)
        if not bool(xp.all(r_in > 0)):
            raise InvalidDemandError("price_ratio must be > 0 everywhere (it is p / v)")
        a = a * r_in ** eh
    v = _values(economy, values, home)
    y_o = None
    if other_final is not None:
        y_o = _block(economy, other_final, "other_final", ref, home)
    u, ratio, forecast, f, q = home.fused(_rule)(home, rule, star, stocks_b, a, back, y_o)  # one call on JAX
    sol = solve_output(economy, f, x0=x0, backend=home.backend, rtol=rtol, raise_on_failure=raise_on_failure,
                       keep_on_device=home.device)
    X = sol.output if sol.output.dtype == np.float64 else sol.output.astype(np.float64)
    notes = list(sol.evidence.notes)
    over = pd.Index([])
    if economy.capacity is not None:
        cap = economy.cached(("consumer capacity", home.name), lambda: home.put(economy.capacity))
        hit = np.flatnonzero(to_host(xp.max(X, axis=1) > cap * (1 + 1e-12)))  # n flags come back, not X
        if hit.size:
            over = pd.Index(product_labels(economy, hit))
            notes.append(f"{hit.size} products need more gross output than their recorded capacity: "
                         f"{list(over[:_SHOW])}")
    signal = pd.Index([])
    if back is not None:
        stockless = xp.all(star == 0, axis=1) & xp.any(back > 0, axis=1)
        pos = np.flatnonzero(to_host(stockless))
        if pos.size:
            signal = pd.Index(product_labels(economy, pos[:500]))
            notes.append(f"{pos.size} products without stock were signalled by their backlog")
    floor = int(xp.sum(ratio <= rule.min_price)) if float(xp.min(ratio)) <= rule.min_price else 0
    ceil = int(xp.sum(ratio >= rule.max_price)) if float(xp.max(ratio)) >= rule.max_price else 0
    if floor or ceil:
        notes.append(f"price ratio clipped: {floor} entries at min_price, {ceil} at max_price")
    evidence = dataclasses.replace(sol.evidence, seconds=time.perf_counter() - t0, notes=tuple(notes))
    squeeze = sb.squeeze
    sq = (lambda z: home.out(z[:, 0])) if squeeze else home.out
    return ConsumerStep(
        price_ratio=sq(ratio), targets=sq(q), stock_targets=sq(star),
        final_demand=sq(f), output=sq(X),
        demand_forecast=sq(forecast.copy() if forecast is a else forecast),
        shortfall=sq(u), last_targets=sq(last), values=home.put(v) if home.keep else to_host(v), rule=rule,
        over_capacity=over, backlog_signal=signal, labels=economy.labels, plans=sb.names, squeeze=squeeze,
        evidence=evidence,
    )
