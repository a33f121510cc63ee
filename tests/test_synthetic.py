"""Tests of bigplan.synthetic: seeded generators of synthetic economies."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

from bigplan.synthetic import (
    adversarial_matrix,
    economy,
    final_demand,
    labour_coefficients,
    technical_matrix,
)


def _column_sums(a: sp.csr_matrix) -> np.ndarray:
    return np.bincount(
        a.indices, weights=a.data.astype(np.float64), minlength=a.shape[1]
    )


def _assert_canonical(a: sp.csr_matrix) -> None:
    """Sorted, duplicate-free, no stored zeros: checked from the raw arrays."""
    assert sp.issparse(a) and a.format == "csr"
    n_rows = a.shape[0]
    assert a.indptr[0] == 0 and a.indptr[-1] == a.nnz == a.indices.size == a.data.size
    assert np.all(np.diff(a.indptr) >= 0)
    if a.nnz:
        assert a.indices.min() >= 0 and a.indices.max() < a.shape[1]
        row = np.repeat(np.arange(n_rows), np.diff(a.indptr))
        same_row = row[1:] == row[:-1]
        assert np.all(np.diff(a.indices.astype(np.int64))[same_row] > 0), (
            "unsorted or duplicate"
        )
    assert a.has_canonical_format
    assert np.all(np.isfinite(a.data)) and np.all(a.data > 0)


# --------------------------------------------------------------------------
# technical_matrix
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def a20k() -> sp.csr_matrix:
    return technical_matrix(20_000, inputs_per_product=20, column_sum=0.7, seed=11)


def test_same_seed_is_bit_identical_and_other_seed_differs():
    a = technical_matrix(3000, seed=5)
    b = technical_matrix(3000, seed=5)
    c = technical_matrix(3000, seed=6)
    assert np.array_equal(a.indptr, b.indptr)
    assert np.array_equal(a.indices, b.indices)
    assert a.data.tobytes() == b.data.tobytes()
    assert (
        a.nnz != c.nnz
        or not np.array_equal(a.indices, c.indices)
        or a.data.tobytes() != c.data.tobytes()
    )


@pytest.mark.parametrize("n", [1, 2, 3, 7, 50, 4000])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_column_sums_and_format(n, dtype):
    a = technical_matrix(n, column_sum=0.63, seed=n, dtype=dtype)
    assert a.shape == (n, n)
    assert a.dtype == dtype
    _assert_canonical(a)
    assert a.indices.dtype == np.int32 and a.indptr.dtype == np.int32
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert np.max(np.abs(_column_sums(a) - 0.63)) <= tol
    # every product has at least one input
    assert np.all(np.bincount(a.indices, minlength=n) >= 1)


def test_tiny_economies():
    a1 = technical_matrix(1, column_sum=0.4)
    assert a1.toarray().tolist() == [[0.4]]
    for n in (2, 3):
        a = technical_matrix(n, inputs_per_product=50, seed=1)  # clipped to n
        assert a.nnz <= n * n
        assert np.allclose(a.sum(axis=0), 0.7, atol=1e-12)


def test_mean_inputs_per_product(a20k):
    assert a20k.nnz / a20k.shape[0] == pytest.approx(20, rel=0.03)
    a = technical_matrix(20_000, inputs_per_product=6.5, seed=2)
    assert a.nnz / 20_000 == pytest.approx(6.5, rel=0.03)


def test_input_counts_are_thin_tailed(a20k):
    counts = np.bincount(a20k.indices, minlength=a20k.shape[1])  # inputs per column
    assert counts.min() >= 1
    assert counts.max() < 3 * 20  # Poisson(19) + 1: max of 20000 is about 40
    assert counts.std() == pytest.approx(np.sqrt(19), rel=0.15)


def test_spectral_radius_equals_column_sum():
    a = technical_matrix(2000, column_sum=0.55, seed=4)
    vals = spla.eigs(
        a, k=3, which="LM", return_eigenvectors=False, tol=1e-10, maxiter=10_000
    )
    assert np.max(np.abs(vals)) == pytest.approx(0.55, abs=1e-8)
    # power iteration from a positive vector converges to the same radius
    x = np.ones(2000)
    for _ in range(200):
        y = a @ x
        rho = np.linalg.norm(y) / np.linalg.norm(x)
        x = y / np.linalg.norm(y)
    assert rho == pytest.approx(0.55, rel=1e-6)


def test_strongly_connected_core():
    n = 5000
    a = technical_matrix(n, seed=8)
    _, labels = connected_components(a, directed=True, connection="strong")
    assert np.bincount(labels).max() > n / 2


def test_no_feedback_means_no_big_core():
    n = 5000
    a = technical_matrix(n, feedback=0.0, seed=8)
    _, labels = connected_components(a, directed=True, connection="strong")
    assert np.bincount(labels).max() < n / 10


def test_hub_suppliers_heavy_tailed(a20k):
    row_nnz = np.diff(a20k.indptr)
    assert row_nnz.max() > 10 * row_nnz.mean()
    # no hubs at all with uniform popularity
    flat = technical_matrix(20_000, hub_exponent=0.0, seed=11)
    assert np.diff(flat.indptr).max() < row_nnz.max() / 3


def test_index_locality(a20k):
    coo = a20k.tocoo()
    dist = np.abs(coo.row.astype(np.int64) - coo.col)
    assert np.median(dist) < 20_000 / 40


def test_suppliers_come_from_few_sectors(a20k):
    # inputs of a product span few distinct index blocks of ~sector size
    n = a20k.shape[0]
    csc = a20k.tocsc()
    block = np.repeat(np.arange(n), np.diff(csc.indptr))
    bucket = csc.indices // int(np.sqrt(n))
    keys = np.unique(block.astype(np.int64) * n + bucket)
    blocks_per_product = np.bincount(keys // n, minlength=n)
    assert np.mean(blocks_per_product) < 0.5 * 20


def test_diagonal_small_and_rare(a20k):
    d = a20k.diagonal()
    assert 0 < np.count_nonzero(d) < 0.1 * a20k.shape[0]
    assert d.max() < 0.7 / 2
    assert d[d > 0].mean() < a20k.data.mean()


def test_sectors_argument_and_int64_not_forced():
    a = technical_matrix(3000, sectors=1, seed=0)
    _assert_canonical(a)
    # one product per sector: few distinct suppliers exist, so fewer inputs
    b = technical_matrix(3000, sectors=3000, inputs_per_product=4, seed=0)
    _assert_canonical(b)
    assert 1 < b.nnz / 3000 <= 4
    assert np.all(np.bincount(b.indices, minlength=3000) >= 1)
    assert b.indices.dtype == np.int32 and b.indptr.dtype == np.int32


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 0}, "n must be >= 1"),
        ({"n": 2.5}, "n must be an integer"),
        ({"n": True}, "n must be an integer"),
        ({"n": 10, "column_sum": 1.0}, r"column_sum must be in \(0, 1\)"),
        ({"n": 10, "column_sum": 0.0}, "column_sum"),
        ({"n": 10, "column_sum": float("nan")}, "column_sum"),
        ({"n": 10, "inputs_per_product": 0.5}, "inputs_per_product"),
        ({"n": 10, "inputs_per_product": float("inf")}, "inputs_per_product"),
        ({"n": 10, "sectors": 0}, r"sectors must be in \[1, 10\]"),
        ({"n": 10, "sectors": 11}, "sectors"),
        ({"n": 10, "feedback": -0.1}, r"feedback must be in \[0, 1\]"),
        ({"n": 10, "feedback": 1.5}, "feedback"),
        ({"n": 10, "hub_exponent": -1}, "hub_exponent"),
        ({"n": 10, "dtype": np.int64}, "dtype"),
        ({"n": 10, "dtype": "complex128"}, "dtype"),
    ],
)
def test_technical_matrix_validation(kwargs, match):
    n = kwargs.pop("n")
    with pytest.raises(ValueError, match=match):
        technical_matrix(n, **kwargs)


@pytest.mark.parametrize("feedback", [0.0, 1.0])
@pytest.mark.parametrize("hub_exponent", [0.0, 1.0, 3.0])
def test_parameter_extremes(feedback, hub_exponent):
    a = technical_matrix(500, feedback=feedback, hub_exponent=hub_exponent, seed=1)
    _assert_canonical(a)
    assert np.max(np.abs(_column_sums(a) - 0.7)) < 1e-12


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 120),
    seed=st.integers(0, 2**32 - 1),
    column_sum=st.floats(0.05, 0.95),
    inputs=st.floats(1.0, 12.0),
    feedback=st.floats(0.0, 1.0),
    data=st.data(),
)
def test_leontief_inverse_is_nonnegative(n, seed, column_sum, inputs, feedback, data):
    a = technical_matrix(
        n,
        inputs_per_product=inputs,
        column_sum=column_sum,
        feedback=feedback,
        seed=seed,
    )
    _assert_canonical(a)
    assert np.max(np.abs(_column_sums(a) - column_sum)) < 1e-12
    y = np.asarray(data.draw(st.lists(st.floats(0, 1e3), min_size=n, max_size=n)))
    x = spla.spsolve(sp.identity(n, format="csc") - a.tocsc(), y)
    x = np.atleast_1d(x)
    scale = max(1.0, float(np.abs(x).max()))
    assert np.all(x >= -1e-9 * scale)
    assert np.allclose(x - a @ x, y, atol=1e-8 * scale)
    # total output <= total final demand / (1 - column_sum), exactly for sums
    assert x.sum() == pytest.approx(y.sum() / (1 - column_sum), rel=1e-8, abs=1e-8)


# --------------------------------------------------------------------------
# adversarial_matrix
# --------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 10, 3000])
def test_adversarial_cycle_and_column_sums(n):
    a = adversarial_matrix(n, cycle_weight=0.8, column_sum=0.6, seed=2)
    _assert_canonical(a)
    assert np.max(np.abs(_column_sums(a) - 0.6)) < 1e-12
    j = np.arange(n)
    cycle = np.asarray(a[(j - 1) % n, j]).ravel()
    expected = 0.6 if n == 1 else 0.8 * 0.6
    assert np.allclose(cycle, expected, rtol=0, atol=1e-15)
    if n >= 1000:
        assert a.nnz / n == pytest.approx(5, rel=0.05)


def test_adversarial_reproducible_and_pure_cycle():
    a = adversarial_matrix(500, seed=9)
    b = adversarial_matrix(500, seed=9)
    assert np.array_equal(a.indices, b.indices) and a.data.tobytes() == b.data.tobytes()
    assert not np.array_equal(a.indices, adversarial_matrix(500, seed=10).indices)
    p = adversarial_matrix(7, cycle_weight=1.0, column_sum=0.5)
    assert p.nnz == 7
    assert np.allclose(p.toarray(), 0.5 * np.roll(np.eye(7), 1, axis=1))


def test_adversarial_eigenvalues_spread_on_a_circle():
    n = 200
    a = adversarial_matrix(n, cycle_weight=0.9, column_sum=0.7, seed=1)
    ev = np.linalg.eigvals(a.toarray())
    assert np.max(np.abs(ev)) == pytest.approx(0.7, abs=1e-10)
    # most eigenvalues far from the origin, all around it
    assert np.median(np.abs(ev)) > 0.4
    angles = np.angle(ev[np.abs(ev) > 0.3])
    assert np.histogram(angles, bins=8, range=(-np.pi, np.pi))[0].min() > n / 32
    # whereas a technical matrix has its eigenvalues clustered near zero
    t = technical_matrix(n, seed=1).toarray()
    assert np.median(np.abs(np.linalg.eigvals(t))) < 0.3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 0}, "n must be"),
        ({"n": 5, "cycle_weight": 0.0}, r"cycle_weight must be in \(0, 1\]"),
        ({"n": 5, "cycle_weight": 1.1}, "cycle_weight"),
        ({"n": 5, "column_sum": 1.2}, "column_sum"),
        ({"n": 5, "inputs_per_product": 0}, "inputs_per_product"),
        ({"n": 5, "dtype": np.int32}, "dtype"),
    ],
)
def test_adversarial_validation(kwargs, match):
    n = kwargs.pop("n")
    with pytest.raises(ValueError, match=match):
        adversarial_matrix(n, **kwargs)


# --------------------------------------------------------------------------
# labour_coefficients, final_demand
# --------------------------------------------------------------------------
def test_labour_coefficients():
    lab = labour_coefficients(10_000, kinds=3, seed=4)
    assert lab.shape == (3, 10_000) and lab.dtype == np.float64
    assert np.all(np.isfinite(lab)) and np.all(lab > 0)
    spread = np.quantile(lab[0], 0.95) / np.quantile(lab[0], 0.05)
    assert 5 < spread < 1000
    assert np.array_equal(lab, labour_coefficients(10_000, kinds=3, seed=4))
    assert not np.array_equal(lab, labour_coefficients(10_000, kinds=3, seed=5))
    assert labour_coefficients(4, dtype=np.float32).dtype == np.float32
    assert labour_coefficients(1).shape == (1, 1)
    with pytest.raises(ValueError, match="kinds"):
        labour_coefficients(5, kinds=0)
    with pytest.raises(ValueError, match="n must be"):
        labour_coefficients(0)


def test_final_demand():
    y = final_demand(20_000, seed=1)
    assert y.shape == (20_000,)
    assert np.all(np.isfinite(y)) and np.all(y >= 0)
    assert 0.7 < np.mean(y > 0) < 1.0
    top = np.sort(y)[::-1]
    assert top[:200].sum() > 0.05 * y.sum()  # top 1 % hold a heavy share
    assert np.array_equal(y, final_demand(20_000, seed=1))
    assert not np.array_equal(y, final_demand(20_000, seed=2))
    ys = final_demand(20_000, 4, seed=1)
    assert ys.shape == (20_000, 4)
    assert np.array_equal(ys > 0, np.repeat((y > 0)[:, None], 4, axis=1))
    assert not np.allclose(ys[:, 0], ys[:, 1])
    assert final_demand(1).shape == (1,) and final_demand(1)[0] > 0
    assert final_demand(5, 2, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="k must be"):
        final_demand(5, 0)
    with pytest.raises(ValueError, match="n must be"):
        final_demand(-1)


# --------------------------------------------------------------------------
# economy
# --------------------------------------------------------------------------
def test_economy():
    pytest.importorskip("bigplan.economy")
    eco = economy(2000, labour_kinds=2, seed=3)
    again = economy(2000, labour_kinds=2, seed=3)
    a = getattr(eco, "A", None)
    if a is not None:
        a = sp.csr_matrix(a)
        assert a.shape == (2000, 2000)
        assert np.allclose(a.sum(axis=0), 0.7, atol=1e-12)
        assert np.array_equal(a.indices, sp.csr_matrix(again.A).indices)
    adv = economy(300, adversarial=True, cycle_weight=0.5, seed=3)
    if getattr(adv, "A", None) is not None:
        a = sp.csr_matrix(adv.A)
        j = np.arange(300)
        assert np.allclose(np.asarray(a[(j - 1) % 300, j]).ravel(), 0.35)
    labour = getattr(eco, "labour", None)
    if labour is not None:
        assert np.asarray(labour).shape == (2, 2000) and np.all(np.asarray(labour) > 0)
    if getattr(eco, "dtype", None) is not None:
        assert economy(100, dtype=np.float32, seed=1).dtype == np.float32
    with pytest.raises(ValueError, match="labour_kinds"):
        economy(10, labour_kinds=0)
