"""Memory-lean paths of issue 3: index widths, float32 storage, refinement, device-memory limits."""

import numpy as np
import pytest

import bigplan
from bigplan import Economy, InsufficientMemoryError, InvalidEconomyError
from bigplan.cpu import NumpyBackend
from bigplan.gpu import row_blocks

from .conftest import random_productive, to_host

N = 1500


@pytest.fixture(scope="module")
def mid():
    A = random_productive(N, 0.005, 0.9, seed=31)
    Y = np.random.default_rng(7).random((N, 4))
    ref = np.linalg.solve(np.eye(N) - A.toarray(), Y)
    return A, Y, ref


def test_index_width_is_automatic_and_forceable(mid):
    A, _, _ = mid
    assert Economy(A).A.indices.dtype == np.int32
    e64 = Economy(A, index_dtype=np.int64)
    assert e64.A.indices.dtype == np.int64 and e64.A.indptr.dtype == np.int64
    assert e64.AT.indices.dtype == np.int64
    assert e64.with_changes({(0, 0): 0.01}).A.indices.dtype == np.int64
    with pytest.raises(InvalidEconomyError, match="int32 or int64"):
        Economy(A, index_dtype=np.int16)


@pytest.mark.parametrize("variant", ["kernels", "fallback"])
def test_int64_indices_give_the_same_answer(backend, mid, variant):
    if backend != "numpy" and variant == "fallback":
        pytest.skip("the fallback switch concerns the NumPy backend")
    A, Y, ref = mid
    bk = NumpyBackend(kernels=(variant == "kernels")) if backend == "numpy" else backend
    e = Economy(A, labour=np.ones(N), index_dtype=np.int64)
    sol = bigplan.solve_output(e, Y, method="bicgstab", backend=bk)
    np.testing.assert_allclose(to_host(sol.output), ref, rtol=1e-8)
    vals = bigplan.labour_values(e, method="bicgstab", backend=bk)
    refv = np.linalg.solve((np.eye(N) - A.toarray()).T, np.ones(N))
    np.testing.assert_allclose(to_host(vals.values), refv, rtol=1e-8)


@pytest.mark.parametrize("method", ["bicgstab", "refined", "neumann"])
def test_float32_storage_reaches_float64_tolerance(backend, mid, method):
    A, Y, _ = mid
    A32 = A.astype(np.float32)
    e = Economy(A, dtype=np.float32)
    assert e.A.dtype == np.float32
    sol = bigplan.solve_output(e, Y, method=method, rtol=1e-10, backend=backend)
    # the float32-stored coefficients are the economy: compare with its exact answer
    ref = np.linalg.solve(np.eye(N) - A32.toarray().astype(np.float64), Y)
    assert sol.converged and np.all(sol.residual <= 1e-10)
    np.testing.assert_allclose(to_host(sol.output), ref, rtol=1e-8)


def test_refined_float64_economy_matches_direct_solve(backend, mid):
    A, Y, ref = mid
    e = Economy(A)
    sol = bigplan.solve_output(e, Y, method=bigplan.Refined(inner_rtol=1e-4), backend=backend)
    assert sol.method == "refined" and sol.converged
    np.testing.assert_allclose(to_host(sol.output), ref, rtol=1e-8)
    vals = bigplan.labour_values(Economy(A, labour=np.ones(N)), method="refined", backend=backend)
    assert vals.converged


def test_refined_options_are_validated():
    with pytest.raises(ValueError, match="inner_rtol"):
        bigplan.Refined(inner_rtol=2.0)
    with pytest.raises(ValueError, match="inner"):
        bigplan.Refined(inner=bigplan.Direct())
    with pytest.raises(ValueError, match="max_outer"):
        bigplan.Refined(max_outer=0)


def test_row_blocks_respect_the_cusparse_limit():
    A = random_productive(5000, 0.003, 0.5, seed=2)
    for limit in (A.nnz, 1000, 97):
        blocks = row_blocks(A.indptr, limit)
        assert blocks[0][0] == 0 and blocks[-1][1] == 5000
        assert all(b0[1] == b1[0] for b0, b1 in zip(blocks[:-1], blocks[1:]))
        assert all(A.indptr[r1] - A.indptr[r0] <= limit for r0, r1 in blocks)
    assert len(row_blocks(A.indptr, A.nnz)) == 1
    with pytest.raises(InsufficientMemoryError, match="row"):
        row_blocks(np.array([0, 5, 10]), 3)


class _SmallDevice(NumpyBackend):
    """A NumPy backend that claims a small device memory, to test the up-front checks."""

    def __init__(self, free_bytes):
        super().__init__()
        self.free_bytes = free_bytes

    def memory_available(self):
        return self.free_bytes


def test_too_large_for_device_is_refused_up_front(mid):
    A, Y, _ = mid
    e = Economy(A)
    with pytest.raises(InsufficientMemoryError) as ei:
        bigplan.solve_output(e, Y, method="bicgstab", backend=_SmallDevice(100_000))
    msg = str(ei.value)
    assert "bytes" in msg and "100,000" in msg and "backend='numpy'" in msg


def test_batch_is_split_to_fit_device_memory(mid):
    A, Y, ref = mid
    e = Economy(A)
    matrix = e.nnz * 12 + (N + 1) * 4
    one_plan = 12 * N * 8
    bk = _SmallDevice(int((matrix + 2.2 * one_plan) / 0.9))  # room for two plans, not four
    sol = bigplan.solve_output(e, Y, method="bicgstab", backend=bk)
    assert any("chunks of 2" in note for note in sol.notes)
    np.testing.assert_allclose(sol.output, ref, rtol=1e-8)


def test_auto_picks_refinement_for_large_blocks_on_the_compiled_cpu_backend(mid):
    A, Y, ref = mid
    e = Economy(A)
    fast, plain = NumpyBackend(), NumpyBackend(kernels=False)
    auto = bigplan.Auto(dense_below=100, refine_from=N * Y.shape[1])
    got, why = auto.choose(e, Y.shape[1], backend=fast)
    assert got.name == ("refined" if fast.fast_float32 else "bicgstab")
    if fast.fast_float32:
        assert "float32" in why and "float64 residual" in why
    assert auto.choose(e, 1, backend=fast)[0].name == "bicgstab"  # below refine_from
    assert auto.choose(e, Y.shape[1], backend=plain)[0].name == "bicgstab"  # no float32 kernels
    assert auto.choose(e, Y.shape[1], backend=fast, dtype=np.float32)[0].name == "bicgstab"
    assert auto.choose(e, Y.shape[1])[0].name == "bicgstab"  # no backend named: no mixed precision
    sol = bigplan.solve_output(e, Y, method=auto, backend=fast)
    assert sol.converged and np.all(sol.residual <= 1e-10)
    # the residual is float64 and recomputed here from the answer
    R = Y - (sol.output - A @ sol.output)
    assert np.all(np.linalg.norm(R, axis=0) <= 1e-10 * np.linalg.norm(Y, axis=0))
    np.testing.assert_allclose(sol.output, ref, rtol=1e-8)
    big = Economy(random_productive(2500, 0.004, 0.9, seed=5))
    name, reason = bigplan.choose_method(big, 10**6)
    assert name == ("refined" if fast.fast_float32 else "bicgstab") and reason


def test_plans_float32_cannot_carry_are_finished_in_float64(mid):
    A, Y, ref = mid
    e = Economy(A)
    Yb = Y.copy()
    Yb[:, 1] *= 1e-50  # below float32's smallest number: the plan is scaled by a power of two (issue 14)
    refb = ref.copy()
    refb[:, 1] *= 1e-50
    fast = NumpyBackend()
    sol = bigplan.solve_output(e, Yb, method=bigplan.Auto(dense_below=100, refine_from=1), backend=fast)
    assert sol.converged and np.all(sol.residual <= 1e-10)
    np.testing.assert_allclose(sol.output, refb, rtol=1e-8)
    if fast.fast_float32:
        assert sol.method == "refined"
    # asked for by name, refinement now carries the scaled plan too, checked by its float64 residual
    sol = bigplan.solve_output(e, Yb, method="refined", backend=fast)
    assert sol.converged and np.all(sol.residual <= 1e-10)
    np.testing.assert_allclose(sol.output, refb, rtol=1e-8)


def test_workspace_reuse_never_aliases_answers():
    """Blocks a solve frees are kept for the next; no answer handed out may share their memory."""
    from bigplan.synthetic import final_demand, technical_matrix

    n = 40_000  # float32 blocks of n x 8 exceed the workspace's 1 MB floor
    A = technical_matrix(n, inputs_per_product=8, column_sum=0.7, seed=4)
    e = Economy(A)
    bk = NumpyBackend(workspace_bytes=1 << 30)
    auto = bigplan.Auto(refine_from=1)
    Y1, Y2 = final_demand(n, 8, seed=1), final_demand(n, 8, seed=2)
    s1 = bigplan.solve_output(e, Y1, method=auto, backend=bk)
    x1 = s1.output.copy()
    assert bk.workspace_held > 0
    s2 = bigplan.solve_output(e, Y2, method=auto, backend=bk)  # takes its blocks from the workspace
    s3 = bigplan.solve_output(e, Y1, method="bicgstab", backend=bk)
    np.testing.assert_array_equal(s1.output, x1)  # the first answer was not written over
    for s, Y in ((s1, Y1), (s2, Y2), (s3, Y1)):
        assert s.converged
        R = Y - (s.output - A @ s.output)
        assert np.all(np.linalg.norm(R, axis=0) <= 1e-10 * np.linalg.norm(Y, axis=0))
    assert not np.shares_memory(s1.output, s2.output) and not np.shares_memory(s2.output, s3.output)
    held = bk.workspace_held
    assert bk.release_workspace() == held and bk.workspace_held == 0
    none = NumpyBackend(workspace_bytes=0)
    bigplan.solve_output(e, Y1, method=auto, backend=none)
    assert none.workspace_held == 0


@pytest.mark.parametrize("method", ["bicgstab", "refined", "neumann", "direct", "auto"])
def test_solvers_read_final_demand_without_writing_it(mid, method):
    """The right-hand sides are used in place (no copy): no method may write into them."""
    A, Y, ref = mid
    e = Economy(A)
    Yc = np.ascontiguousarray(Y)
    before = Yc.copy()
    x0 = np.ascontiguousarray(ref * 0.5)
    x0_before = x0.copy()
    sol = bigplan.solve_output(e, Yc, method=method, x0=None if method == "direct" else x0)
    np.testing.assert_array_equal(Yc, before)
    np.testing.assert_array_equal(x0, x0_before)
    np.testing.assert_allclose(sol.output, ref, rtol=1e-8)
