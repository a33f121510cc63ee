"""The consumer step and its loop on every backend: same answers as NumPy, results where asked, same errors."""

from __future__ import annotations

import numpy as np
import pytest

import bigplan
from bigplan.backend import array_library
from bigplan.errors import (
    InvalidDemandError,
    InvalidOptionError,
    LabelError,
    MixedBackendError,
    NegativeStockError,
    ShapeError,
)
from bigplan.inventory import StepRule, consumer_step, simulate_consumer_demand

from .conftest import device_array, random_productive, to_host

FIELDS = ("price_ratio", "targets", "stock_targets", "final_demand", "demand_forecast", "shortfall", "prices",
          "target_change", "values")


@pytest.fixture(scope="module")
def shop():
    """30 products with labour, labels and capacity; 3 plans of observations with backlog and other final use."""
    n, k = 30, 3
    rng = np.random.default_rng(11)
    A = random_productive(n, 0.15, 0.6, seed=12)
    x = np.linalg.solve(np.eye(n) - A.toarray(), np.ones(n))
    e = bigplan.Economy(A, labour=rng.random(n) + 0.2, labels=[f"p{i}" for i in range(n)], capacity=4.0 * x)
    obs = {
        "sales": rng.uniform(0.0, 3.0, (n, k)),
        "stocks": rng.uniform(0.0, 2.0, (n, k)),
        "targets": rng.uniform(0.0, 3.0, (n, k)),
        "orders": rng.uniform(0.0, 3.5, (n, k)),
        "backlog": np.where(rng.random((n, k)) < 0.3, 1.0, 0.0),
        "price_ratio": rng.uniform(0.5, 2.0, (n, k)),
        "stock_targets": np.where(np.arange(n) < 6, 0.0, 1.5),
        "other_final": rng.uniform(0.0, 0.5, n),
    }
    return e, obs


RULE = StepRule(gain=0.4, price_response=2.0, elasticity=0.6, max_price=1.6)


def dense_output(e, f):
    return np.linalg.solve(np.eye(e.n) - e.A.toarray(), f)


def on(backend, obs):
    return {k: device_array(backend, v) for k, v in obs.items()}


def test_step_on_device_arrays_equals_numpy_and_stays_there(shop, backend):
    e, obs = shop
    ref = consumer_step(e, **obs, rule=RULE, rtol=1e-12)
    st = consumer_step(e, **on(backend, obs), rule=RULE, rtol=1e-12)
    assert st.converged
    for name in (*FIELDS, "output"):
        got = getattr(st, name)
        assert array_library(got) == backend, name  # kept in the inputs' library
        np.testing.assert_allclose(to_host(got), getattr(ref, name), rtol=1e-10 if name == "output" else 1e-12,
                                   atol=1e-13, err_msg=name)
    # the rule, recomputed independently on the host
    o, star = obs, obs["stock_targets"][:, None]
    u = star - o["stocks"] + o["backlog"]
    a_hat = o["orders"] * o["price_ratio"] ** 0.6
    scale = np.maximum(star, a_hat + o["backlog"])
    ratio = np.clip(1 + 2.0 * np.divide(u, scale, out=np.zeros_like(u), where=scale > 0), 0.1, 1.6)
    f = np.maximum(a_hat * ratio ** -0.6 + 0.4 * u + o["other_final"][:, None], 0.0)
    np.testing.assert_allclose(to_host(st.price_ratio), ratio, rtol=1e-12)
    np.testing.assert_allclose(to_host(st.final_demand), f, rtol=1e-12)
    np.testing.assert_allclose(to_host(st.output), dense_output(e, f), rtol=1e-8)
    # the host-side summaries agree, and ask nothing of the device arrays
    assert list(st.over_capacity) == list(ref.over_capacity)
    assert list(st.backlog_signal) == list(ref.backlog_signal) and len(st.backlog_signal) > 0
    assert st.evidence.notes == ref.evidence.notes and "clipped" in " ".join(st.evidence.notes)
    assert st.to_frame().equals(ref.to_frame()) or np.allclose(st.to_frame().to_numpy(), ref.to_frame().to_numpy(),
                                                               rtol=1e-10)
    assert "ConsumerStep" in repr(st)


def test_named_backend_moves_host_inputs_and_returns_host_unless_kept(shop, backend):
    e, obs = shop
    ref = consumer_step(e, **obs, rule=RULE, rtol=1e-12)
    before = {k: v.copy() for k, v in obs.items()}
    host = consumer_step(e, **obs, rule=RULE, rtol=1e-12, backend=backend)
    kept = consumer_step(e, **obs, rule=RULE, rtol=1e-12, backend=backend, keep_on_device=True)
    for name in (*FIELDS, "output"):
        assert isinstance(getattr(host, name), np.ndarray), name
        assert array_library(getattr(kept, name)) == backend, name
        tol = 1e-10 if name == "output" else 1e-12
        np.testing.assert_allclose(getattr(host, name), getattr(ref, name), rtol=tol, atol=1e-13, err_msg=name)
        np.testing.assert_allclose(to_host(getattr(kept, name)), getattr(ref, name), rtol=tol, atol=1e-13)
    for k, v in obs.items():  # no input was written into
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    # device arrays asked back to the host
    back = consumer_step(e, **on(backend, obs), rule=RULE, rtol=1e-12, keep_on_device=False)
    assert isinstance(back.output, np.ndarray) and isinstance(back.values, np.ndarray)
    np.testing.assert_allclose(back.output, ref.output, rtol=1e-10)


def test_one_vector_step_on_device(shop, backend):
    e, obs = shop
    one = {k: (v[:, 0] if v.ndim == 2 else v) for k, v in obs.items() if k in ("sales", "stocks", "targets",
                                                                                "stock_targets")}
    ref = consumer_step(e, **one)
    st = consumer_step(e, **on(backend, one))
    assert st.output.shape == (e.n,) and array_library(st.output) == backend
    np.testing.assert_allclose(to_host(st.output), dense_output(e, ref.final_demand), rtol=1e-8)
    np.testing.assert_allclose(to_host(st.targets), ref.targets, rtol=1e-12, atol=1e-13)
    frame = st.to_frame()
    np.testing.assert_allclose(frame["price"].to_numpy(), ref.prices, rtol=1e-10)


def test_simulation_on_device_equals_numpy(shop, backend):
    e, _ = shop
    rng = np.random.default_rng(5)
    planned = np.where(np.arange(e.n) >= 15, rng.uniform(1.0, 3.0, e.n), 0.0)
    table = planned[None, :] * rng.uniform(0.7, 1.4, (5, e.n))
    kw = {"periods": 5, "backlog": "all", "target_stocks": planned * 0.4, "other_final": np.full(e.n, 0.2)}
    ref = simulate_consumer_demand(e, planned, table, **kw)
    by_name = simulate_consumer_demand(e, planned, table, backend=backend, **kw)
    dev = simulate_consumer_demand(e, device_array(backend, planned), device_array(backend, table),
                                   **{k: device_array(backend, v) if isinstance(v, np.ndarray) else v
                                      for k, v in kw.items()})
    for run in (by_name, dev):
        for name in ("stocks", "backlog", "prices", "orders", "sales", "unmet", "final_target", "output",
                     "intermediate_use", "shortfall", "stock_gap", "price_gap"):
            got = getattr(run, name)
            assert isinstance(got, np.ndarray), name  # the report is on the host
            np.testing.assert_allclose(got, getattr(ref, name), rtol=1e-10, atol=1e-11, err_msg=name)
        assert list(run.diagnosis.cause) == list(ref.diagnosis.cause)
        # stocks change by production - intermediate use - final use, exactly as reported
        flows = run.output - run.intermediate_use - 0.2 - run.sales
        np.testing.assert_allclose(np.diff(run.stocks, axis=0), flows, rtol=0, atol=1e-11)
    # a callable demand is moved to the device each period
    called = simulate_consumer_demand(e, planned, lambda t: table[t], backend=backend, **kw)
    np.testing.assert_allclose(called.output, ref.output, rtol=1e-10, atol=1e-11)


def test_bad_inputs_are_the_same_typed_errors_on_every_backend(shop, backend):
    e, obs = shop
    ok = on(backend, {k: obs[k] for k in ("sales", "stocks", "targets", "stock_targets")})
    n = e.n

    def call(**kw):
        return consumer_step(e, **{**ok, **{k: device_array(backend, v) for k, v in kw.items()}},
                             rule=RULE if "price_ratio" in kw else None)

    with pytest.raises(InvalidDemandError, match="NaN"):
        call(stocks=np.where(np.arange(n) == 3, np.nan, 1.0))
    with pytest.raises(NegativeStockError, match="stocks"):
        call(stocks=np.full(n, -1.0))
    with pytest.raises(NegativeStockError, match="stock_targets"):
        call(stock_targets=np.full(n, -1.0))
    with pytest.raises(InvalidDemandError, match="sales"):
        call(sales=np.full((n, 3), -1.0))
    with pytest.raises(InvalidDemandError, match="backlog"):
        call(backlog=np.full(n, -1.0))
    with pytest.raises(InvalidDemandError, match="price_ratio"):
        call(price_ratio=np.zeros((n, 3)))
    with pytest.raises(InvalidDemandError, match="values"):
        call(values=np.full(n, -1.0))
    with pytest.raises(ShapeError):
        call(stocks=np.ones(5))
    with pytest.raises(ShapeError, match="plans"):
        call(stocks=np.ones((n, 2)))
    with pytest.raises(InvalidOptionError, match="keep_on_device"):
        consumer_step(e, **ok, keep_on_device="yes")
    with pytest.raises(InvalidDemandError, match="initial stocks"):
        simulate_consumer_demand(e, device_array(backend, np.ones(n)), np.ones(n), periods=2,
                                 initial_stocks=device_array(backend, np.full(n, -1.0)))
    with pytest.raises(ShapeError):
        simulate_consumer_demand(e, np.ones(n), device_array(backend, np.ones((3, n))), periods=2)


def test_labelled_input_with_a_named_device_backend(shop, backend):
    pd = pytest.importorskip("pandas")
    e, obs = shop
    plans = ["a", "b", "c"]
    frame = lambda a: pd.DataFrame(a, index=e.labels, columns=plans).iloc[::-1]
    kw = {k: frame(obs[k]) for k in ("sales", "stocks", "targets")}
    ref = consumer_step(e, **kw, stock_targets=obs["stock_targets"])
    st = consumer_step(e, **kw, stock_targets=obs["stock_targets"], backend=backend, keep_on_device=True)
    assert array_library(st.output) == backend and list(st.plans) == plans
    np.testing.assert_allclose(to_host(st.final_demand), ref.final_demand, rtol=1e-12)
    np.testing.assert_allclose(st.to_frame("b")["output"].to_numpy(), ref.output[:, 1], rtol=1e-10)
    with pytest.raises(LabelError):
        consumer_step(e, **{**kw, "stocks": frame(obs["stocks"]).set_axis(["x", "y", "z"], axis=1)},
                      stock_targets=obs["stock_targets"], backend=backend)


def test_jax_arrays_with_backend_numpy_come_home_and_with_cupy_are_refused(shop):
    jnp = pytest.importorskip("jax.numpy")
    e, obs = shop
    one = {k: obs[k] for k in ("sales", "stocks", "targets", "stock_targets")}
    ref = consumer_step(e, **one)
    st = consumer_step(e, **{k: jnp.asarray(v) for k, v in one.items()}, backend="numpy")
    assert isinstance(st.output, np.ndarray)
    np.testing.assert_allclose(st.output, ref.output, rtol=1e-12)
    with pytest.raises(MixedBackendError):
        consumer_step(e, **{k: jnp.asarray(v) for k, v in one.items()}, backend="cupy")


def test_relative_shortfall_on_every_backend_leaves_its_inputs_alone(backend):
    from bigplan._consumer.step import relative_shortfall

    rng = np.random.default_rng(2)
    u = rng.normal(size=(50, 2))
    star = np.where(rng.random(50) < 0.3, 0.0, rng.uniform(0.5, 2.0, 50))[:, None]
    orders = np.where(rng.random((50, 2)) < 0.3, 0.0, rng.uniform(0.0, 3.0, (50, 2)))
    back = np.where(rng.random((50, 2)) < 0.5, 0.0, 1.0)
    args = [u, star, orders, back]
    before = [x.copy() for x in args]
    R = np.maximum(star, orders + back)
    want = np.zeros_like(u)
    want[R > 0] = (np.broadcast_to(u, R.shape) / np.where(R > 0, R, 1.0))[R > 0]
    got = relative_shortfall(*[device_array(backend, x) for x in args])
    assert array_library(got) == backend
    np.testing.assert_array_equal(to_host(got), want)  # one division per entry: exact on every library
    for x, b in zip(args, before):
        np.testing.assert_array_equal(x, b)
