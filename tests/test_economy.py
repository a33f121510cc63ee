import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import bigplan
from bigplan import (
    Economy,
    InvalidEconomyError,
    LabelError,
    NotProductiveError,
    ShapeError,
    UnknownProductError,
)
from bigplan.economy import spectral_radius_bounds

from .conftest import random_productive

A2 = np.array([[0.1, 0.3], [0.2, 0.1]])


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc", "coo"])
def test_accepts_dense_and_sparse(fmt):
    A = A2 if fmt == "dense" else sp.csr_matrix(A2).asformat(fmt)
    e = Economy(A)
    assert e.n == 2 and e.nnz == 4
    np.testing.assert_array_equal(e.A.toarray(), A2)
    assert e.productivity.upper == pytest.approx(0.4)
    assert e.productivity.method == "column sums"


def test_coefficients_are_read_only():
    e = Economy(A2.copy(), labour=[1.0, 2.0])
    with pytest.raises(ValueError):
        e.A.data[0] = 5.0
    with pytest.raises(ValueError):
        e.labour[0, 0] = 5.0


def test_input_array_is_copied():
    A = A2.copy()
    e = Economy(A)
    A[0, 0] = 0.9
    assert e.A[0, 0] == pytest.approx(0.1)


@pytest.mark.parametrize(
    "A, err, words",
    [
        (np.zeros((2, 3)), ShapeError, "square"),
        (np.zeros((0, 0)), ShapeError, "empty"),
        (np.zeros(4), ShapeError, "square"),
        (np.array([[0.1, np.nan], [0.2, 0.1]]), InvalidEconomyError, "NaN"),
        (np.array([[0.1, np.inf], [0.2, 0.1]]), InvalidEconomyError, "infinite"),
        (np.array([[0.1, -0.3], [0.2, 0.1]]), InvalidEconomyError, "negative"),
        (np.array([["a", "b"], ["c", "d"]]), InvalidEconomyError, "numeric"),
    ],
)
def test_bad_coefficients(A, err, words):
    with pytest.raises(err, match=words):
        Economy(A)


def test_nan_in_sparse_matrix_is_refused():
    A = sp.csr_matrix(A2)
    A.data[1] = np.nan
    with pytest.raises(InvalidEconomyError, match="NaN"):
        Economy(A)


def test_not_productive_when_all_columns_sum_above_one():
    with pytest.raises(NotProductiveError) as ei:
        Economy(np.array([[0.6, 0.7], [0.6, 0.5]]), labels=["a", "b"])
    err = ei.value
    assert err.spectral_radius >= 1
    assert set(err.sectors) == {"a", "b"}
    assert "spectral radius" in str(err) and "Fix" in str(err)
    assert isinstance(err, ValueError)


def test_not_productive_hidden_in_one_sector():
    # products 0,1 form a cycle with gain 1.2 * 0.9 > 1; product 2 is fine, and
    # column 0 sums to 0.9 < 1: a check on some column sums alone would pass it
    A = np.array([[0.0, 1.2, 0.0], [0.9, 0.0, 0.0], [0.0, 0.0, 0.1]])
    with pytest.raises(NotProductiveError) as ei:
        Economy(A, labels=["steel", "coal", "bread"])
    assert ei.value.spectral_radius == pytest.approx(np.sqrt(1.08), rel=1e-3)
    assert "bread" not in ei.value.sectors[:2]
    assert {"steel", "coal"} <= set(ei.value.sectors[:2])


def test_productive_although_a_column_sums_above_one():
    # column 1 sums to 1.1, but the spectral radius is below 1
    A = np.array([[0.2, 1.0], [0.05, 0.1]])
    e = Economy(A)
    rho = max(abs(np.linalg.eigvals(A)))
    assert e.productivity.method in ("row sums", "power iteration")
    assert rho <= e.productivity.upper < 1


def test_spectral_radius_bounds_bracket_truth():
    A = random_productive(200, 0.05, 0.9, seed=1)
    A = sp.csr_matrix(A @ sp.diags(np.linspace(0.5, 1.2, 200)))
    lo, hi, x, it = spectral_radius_bounds(A, rtol=1e-9)
    rho = max(abs(np.linalg.eigvals(A.toarray())))
    assert lo <= rho + 1e-12 and rho <= hi + 1e-12
    assert hi - lo < 1e-6


def test_labels():
    e = Economy(A2, labels=pd.Index(["grain", "iron"]))
    assert list(e.labels) == ["grain", "iron"]
    np.testing.assert_array_equal(e.positions(["iron", "grain"]), [1, 0])
    with pytest.raises(LabelError, match="exactly one label"):
        Economy(A2, labels=["a"])
    with pytest.raises(LabelError, match="unique"):
        Economy(A2, labels=["a", "a"])
    with pytest.raises(UnknownProductError, match="salt"):
        e.positions(["salt"])


def test_labour_validation():
    e = Economy(A2, labour=[[1.0, 2.0], [0.5, 0.5]], labour_names=["skilled", "unskilled"])
    assert e.labour.shape == (2, 2) and e.labour_names == ("skilled", "unskilled")
    with pytest.raises(ShapeError, match="labour"):
        Economy(A2, labour=[1.0, 2.0, 3.0])
    with pytest.raises(InvalidEconomyError, match="negative"):
        Economy(A2, labour=[1.0, -2.0])
    with pytest.raises(InvalidEconomyError, match="NaN"):
        Economy(A2, labour=[1.0, np.nan])


def test_capital_and_initial_conditions_validation():
    B = np.array([[0.5, 1.0], [0.0, 0.0]])
    e = Economy(A2, capital=B, depreciation=0.1, capacity=[10.0, 5.0], labour=[1, 1], labour_supply=100.0)
    assert e.capital.nnz == 2
    np.testing.assert_array_equal(e.depreciation, [0.1, 0.1])
    with pytest.raises(ShapeError, match="capital"):
        Economy(A2, capital=np.zeros((3, 3)))
    with pytest.raises(InvalidEconomyError, match="negative"):
        Economy(A2, capital=-B)
    with pytest.raises(InvalidEconomyError, match=r"\[0, 1"):
        Economy(A2, depreciation=1.5)
    with pytest.raises(InvalidEconomyError, match="negative"):
        Economy(A2, capacity=[1.0, -1.0])
    with pytest.raises(ShapeError, match="capacity"):
        Economy(A2, capacity=[1.0])


def test_with_changes_makes_a_new_economy():
    e = Economy(A2, labour=[1.0, 2.0], labels=["grain", "iron"])
    e2 = e.with_changes({("grain", "iron"): 0.35, ("iron", "iron"): 0.0})
    assert e.A[0, 1] == pytest.approx(0.3) and e.A[1, 1] == pytest.approx(0.1)
    assert e2.A[0, 1] == pytest.approx(0.35) and e2.A[1, 1] == 0 and e2.nnz == 3
    np.testing.assert_array_equal(e2.labour, e.labour)
    e3 = e.with_changes([("grain", "grain", 0.2), ("grain", "grain", 0.25)])
    assert e3.A[0, 0] == pytest.approx(0.25)  # last value wins
    with pytest.raises(UnknownProductError):
        e.with_changes({("salt", "iron"): 0.1})
    with pytest.raises(NotProductiveError):
        e.with_changes({("grain", "iron"): 5.0})
    with pytest.raises(InvalidEconomyError):
        e.with_changes({("grain", "iron"): np.nan})


def test_with_changes_inserts_new_entries_in_a_large_sparse_economy():
    A = random_productive(3000, 0.002, 0.6, seed=2)
    e = Economy(A)
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 3000, 500), rng.integers(0, 3000, 500)
    vals = rng.random(500) * 0.01
    e2 = e.with_changes(list(zip(rows, cols, vals)))
    expected = A.tolil()
    for r, c, v in zip(rows, cols, vals):
        expected[r, c] = v
    assert abs(e2.A - expected.tocsr()).max() == 0


def test_float32_storage():
    e = Economy(A2, dtype=np.float32)
    assert e.A.dtype == np.float32
    with pytest.raises(InvalidEconomyError, match="float64 or float32"):
        Economy(A2, dtype=np.int64)


def test_repr_mentions_size_and_bound():
    r = repr(Economy(A2))
    assert "n=2" in r and "0.4" in r


def test_transpose_is_cached_and_correct():
    A = random_productive(100, 0.05, 0.7, seed=5)
    e = Economy(A)
    assert e.AT is e.AT
    assert abs(e.AT - A.T).max() == 0
    assert bigplan.Economy is Economy


def test_certificate_is_attached_or_refused():
    from bigplan import Productivity

    cert = Productivity(0.0, 0.4, "column sums")
    e = Economy(A2, certificate=cert)
    assert e.productivity is cert
    with pytest.raises(InvalidEconomyError, match="certificate"):
        Economy(A2, certificate=Productivity(0.0, 1.2, "column sums"))
