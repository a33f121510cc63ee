"""One input rule everywhere: every public entry point that takes products refuses the same bad input alike.

Issue 9, item 1: a product the economy lacks is an ``UnknownProductError``; a missing product is a
``LabelError`` (unless zeros are asked for by name); the wrong length is a ``ShapeError``; NaN, infinity
and complex numbers are refused with the entry point's value error (``InvalidDemandError`` for targets and
observations, ``InvalidEconomyError`` for coefficients).  Nothing is silently dropped, reordered or zero-filled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bigplan
from bigplan import (
    Economy,
    InvalidDemandError,
    InvalidEconomyError,
    LabelError,
    ShapeError,
    UnknownProductError,
)
from bigplan import dynamic, inventory
from bigplan._inputs import plan_block, product_positions, product_vector

LABELS = ["grain", "iron", "coal"]
A = np.array([[0.1, 0.2, 0.0], [0.1, 0.1, 0.3], [0.05, 0.2, 0.1]])
B = np.array([[0.2, 0.1, 0.0], [0.3, 0.5, 0.2], [0.0, 0.1, 0.1]])
GOOD = pd.Series([10.0, 5.0, 3.0], index=LABELS)


def _econ(**kw):
    return Economy(A, labour=[1.0, 2.0, 1.5], labels=LABELS, capital=B, depreciation=0.05, **kw)


@pytest.fixture(scope="module")
def econ():
    return _econ()


def _store_add(econ, v, tmp_path):
    store = inventory.open_store(tmp_path / "s.store")
    try:
        store.commit(econ, author="t", reason="init")
        store.add_plans({"p": v}, author="t")
    finally:
        store.close()


# name -> (call(econ, bad_value, tmp_path), value error class)
ENTRY_POINTS = {
    "solve_output": (lambda e, v, p: bigplan.solve_output(e, v), InvalidDemandError),
    "solve_output_x0": (lambda e, v, p: bigplan.solve_output(e, GOOD, x0=v), InvalidDemandError),
    "labour_values": (lambda e, v, p: bigplan.labour_values(e, v), InvalidDemandError),
    "Economy_capacity": (lambda e, v, p: _econ(capacity=v), InvalidEconomyError),
    "Economy_stocks": (lambda e, v, p: _econ(stocks=v), InvalidEconomyError),
    "Economy_labour": (lambda e, v, p: Economy(A, labour=v, labels=LABELS), InvalidEconomyError),
    "inventory.replan": (lambda e, v, p: inventory.replan(e, v), InvalidDemandError),
    "inventory.Replanner": (lambda e, v, p: inventory.Replanner(e, v), InvalidDemandError),
    "inventory.stock_change": (lambda e, v, p: inventory.stock_change(e, v), InvalidDemandError),
    "inventory.simulate_consumer_demand": (
        lambda e, v, p: inventory.simulate_consumer_demand(e, v, GOOD, periods=2), InvalidDemandError),
    "store.add_plans": (_store_add, InvalidDemandError),
    "dynamic.plan": (lambda e, v, p: dynamic.plan(e, v, horizon=2, growth=0.01), InvalidDemandError),
    "dynamic.plan_capacity": (
        lambda e, v, p: dynamic.plan(e, GOOD, horizon=2, growth=0.01, capacity=v), InvalidDemandError),
    "dynamic.balanced_plan": (lambda e, v, p: dynamic.balanced_plan(e, v, growth=0.01), InvalidDemandError),
    "dynamic.frontier": (lambda e, v, p: dynamic.frontier(e, v, growth_rates=[0.0, 0.01]), InvalidDemandError),
    "dynamic.compare": (lambda e, v, p: dynamic.compare(e, {"slow": {"growth": 0.01}}, v), InvalidDemandError),
}


def _unknown():
    return pd.Series([10.0, 5.0, 3.0, 1.0], index=LABELS + ["steel"])


def _missing():
    return pd.Series([10.0, 5.0], index=["grain", "iron"])


def _short():
    return np.array([1.0, 2.0])


def _nan():
    return pd.Series([1.0, np.nan, 2.0], index=LABELS)


def _complex():
    return np.array([1.0, 2.0 + 1.0j, 3.0])


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_unknown_product_is_refused_alike(econ, entry, tmp_path):
    call, _ = ENTRY_POINTS[entry]
    with pytest.raises(UnknownProductError, match="steel"):
        call(econ, _unknown(), tmp_path)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_missing_product_is_refused_alike(econ, entry, tmp_path):
    call, _ = ENTRY_POINTS[entry]
    with pytest.raises(LabelError, match="coal") as ei:
        call(econ, _missing(), tmp_path)
    assert not isinstance(ei.value, UnknownProductError)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_wrong_length_is_refused_alike(econ, entry, tmp_path):
    call, _ = ENTRY_POINTS[entry]
    with pytest.raises(ShapeError):
        call(econ, _short(), tmp_path)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_non_finite_is_refused_alike(econ, entry, tmp_path):
    call, err = ENTRY_POINTS[entry]
    with pytest.raises(err, match="NaN or infinite"):
        call(econ, _nan(), tmp_path)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_complex_is_refused_alike(econ, entry, tmp_path):
    call, err = ENTRY_POINTS[entry]
    with pytest.raises(err, match="complex"):
        call(econ, _complex(), tmp_path)


def test_series_is_aligned_by_label_not_position(econ):
    shuffled = GOOD.iloc[::-1]
    x1 = bigplan.solve_output(econ, GOOD).output
    x2 = bigplan.solve_output(econ, shuffled).output
    np.testing.assert_allclose(x1, x2, rtol=1e-12)
    e2 = Economy(A, labels=LABELS, labour=pd.Series({"coal": 1.5, "iron": 2.0, "grain": 1.0}))
    np.testing.assert_array_equal(e2.labour[0], [1.0, 2.0, 1.5])


def test_zeros_only_when_asked_by_name(econ):
    with pytest.raises(LabelError):
        product_vector(econ, {"iron": 2.0}, "capacity")
    np.testing.assert_array_equal(product_vector(econ, {"iron": 2.0}, "capacity", missing="zero"), [0, 2, 0])
    blk = plan_block(econ, pd.DataFrame({"a": [1.0]}, index=["coal"]), missing="zero")
    np.testing.assert_array_equal(blk.values[:, 0], [0, 0, 1])


def test_plan_block_names_and_mapping(econ):
    pb = plan_block(econ, {"base": GOOD, "more": GOOD * 2})
    assert list(pb.names) == ["base", "more"] and pb.values.shape == (3, 2) and not pb.squeeze
    assert pb.nonneg.all()
    with pytest.raises(LabelError, match="unique"):
        plan_block(econ, np.ones((3, 2)), names=["a", "a"])
    with pytest.raises(LabelError, match="duplicated"):
        plan_block(econ, pd.Series([1.0, 2.0, 3.0], index=["grain", "grain", "coal"]))
    with pytest.raises(ShapeError, match="no plans"):
        plan_block(econ, np.ones((3, 0)))
    ints = plan_block(econ, np.array([1, 2, 3]))
    assert ints.values.dtype == np.float64 and ints.squeeze


def test_positions_refuse_floats_strings_and_range():
    e = Economy(A)
    assert product_positions(e, [2, 0]).tolist() == [2, 0]
    with pytest.raises(UnknownProductError, match="whole-number"):
        product_positions(e, [0.9])
    with pytest.raises(UnknownProductError, match="0..2"):
        product_positions(e, [3])
    with pytest.raises(LabelError, match="string"):
        product_positions(_econ(), "grain")
    with pytest.raises(UnknownProductError):
        e.with_changes({(0.9, 1.7): 0.25})
    with pytest.raises(LabelError, match="string"):
        Economy(A[:2, :2], labels="ab")
