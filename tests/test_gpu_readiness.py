"""What reading CuPy's and JAX's sources showed would crash or crawl on a first GPU, checked on the CPU.

Each test here runs on the backends present (NumPy and JAX in CI, CuPy on a
CUDA machine) and pins one finding of issue 15: a BiCGSTAB restart hands the
next product blocks in the backend's order and gives NumPy's answer; JAX
compiles a bounded number of times however the demand changes; JAX's two
sparse formats agree; float32 JAX demand is promoted and reported; results are
writeable; the direct method factorizes once per economy; the memory check
counts every operator it will upload.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import bigplan
from bigplan.backend import get_backend
from bigplan.cpu import NumpyBackend
from bigplan.errors import InsufficientMemoryError
from bigplan.solvers import BiCGSTAB, Refined, solve_block
from bigplan.synthetic import technical_matrix

from .conftest import BACKEND_PARAMS, random_productive, to_host

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
GPU_BACKENDS = [p for p in BACKEND_PARAMS if p.values[0] != "numpy"]
COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@pytest.fixture(scope="module")
def restart_case():
    """Issue 15's restart case, smaller: column sums 0.999, 16 plans of signed demand, rtol=1e-13."""
    n = 3000
    e = bigplan.Economy(technical_matrix(n, inputs_per_product=30, column_sum=0.999, seed=0))
    y = np.random.default_rng(0).standard_normal((n, 16))
    want = solve_block(get_backend("numpy"), e, y, method="bicgstab", rtol=1e-13)
    return e, y, want


def test_the_restart_case_restarts_on_numpy(restart_case):
    _e, _y, want = restart_case
    assert want.restarts > 0, "the case no longer restarts: pick another so the restart path stays tested"
    assert want.converged.all()


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_a_restart_gives_numpys_answer(restart_case, backend):
    """Restarted plans get their columns replaced in the backend's order (CuPy's ``where`` would not)."""
    e, y, want = restart_case
    got = solve_block(get_backend(backend), e, y, method="bicgstab", rtol=1e-13)
    assert got.restarts > 0 and got.converged.all()
    X, W = to_host(got.X), to_host(want.X)
    assert np.abs(X - W).max() <= 1e-10 * np.abs(W).max()


class CompileCounter:
    """Counts XLA compilations through ``jax.monitoring`` while in use."""

    def __init__(self):
        self.count = 0

    def _listener(self, name, _secs, **_kw):
        if name == COMPILE_EVENT:
            self.count += 1

    def __enter__(self):
        import jax.monitoring

        jax.monitoring.register_event_duration_secs_listener(self._listener)
        return self

    def __exit__(self, *exc):
        import jax.monitoring

        jax.monitoring.unregister_event_duration_listener(self._listener)


@needs_jax
def test_jax_compiles_a_bounded_number_of_times_as_demand_changes():
    """Five solves of one shape and different demand: all compilation happens in the first.

    Before the fix, column counts followed the data (verification subsets,
    compaction, leftovers), and every new demand compiled dozens of kernels.
    """
    n, k = 2500, 12  # a shape no other test uses: the first solve compiles
    e = bigplan.Economy(technical_matrix(n, inputs_per_product=30, column_sum=0.999, seed=3))
    bk = get_backend("jax")
    counts = []
    with CompileCounter() as cc:
        for seed in range(5):
            y = np.random.default_rng(100 + seed).standard_normal((n, k))
            before = cc.count
            bs = solve_block(bk, e, y, method="bicgstab", rtol=1e-13)
            assert bs.converged.all()
            counts.append(cc.count - before)
    assert counts[0] > 0, "the listener saw no compilation: the event name changed in this JAX"
    assert sum(counts[1:]) <= 4, f"compilations per solve {counts}"
    assert counts[2:] == [0, 0, 0], f"compilations per solve {counts}"


@needs_jax
def test_jax_runs_each_step_of_bicgstab_as_compiled_calls():
    """JAX defines the whole fused set itself: the generic versions would launch two or three calls each."""
    from bigplan._krylov_ops import FUSED_OPS, krylov_backend
    from bigplan.gpu import JaxBackend

    missing = [name for name in FUSED_OPS if name not in vars(JaxBackend) and name != "add_widened"]
    assert not missing, f"JaxBackend lacks its own {missing}"
    kb = krylov_backend(get_backend("jax"))
    assert kb.step_end.__func__ is JaxBackend.step_end and kb.bicg_alpha.__func__ is JaxBackend.bicg_alpha


@needs_jax
def test_jax_leftovers_at_the_iteration_limit_compile_a_bounded_number_of_times():
    """Plans left at the iteration limit are checked in column counts from a fixed set (powers of four).

    Once each of the 16-plan block's counts (1, 4, 16) has been seen, any number
    of leftovers compiles nothing new.
    """
    n, k = 2000, 16
    e = bigplan.Economy(technical_matrix(n, inputs_per_product=30, column_sum=0.999, seed=4))
    bk = get_backend("jax")

    def solve(left, seed):
        y = np.random.default_rng(seed).standard_normal((n, k))
        y[:, left:] = 0.0  # finished at once: ``left`` plans reach the iteration limit
        bs = solve_block(bk, e, y, method=BiCGSTAB(maxiter=3), rtol=1e-13)
        assert (~bs.converged).sum() == left

    with CompileCounter() as cc:
        for seed, left in enumerate((1, 3, 9)):
            solve(left, seed)
        first = cc.count
        for seed, left in enumerate((2, 4, 5, 12, 16, 7)):
            solve(left, 10 + seed)
    assert first > 0 and cc.count == first, f"{cc.count - first} compilations for new leftover counts"


@needs_jax
def test_jax_sparse_formats_and_row_blocks_agree():
    from bigplan.gpu import JaxBackend

    k = 3
    A = random_productive(400, 0.02, 0.9, seed=8)
    x = np.random.default_rng(k).standard_normal((400, k))
    want = x - A @ x
    backends = [JaxBackend(sparse_format="bcsr"), JaxBackend(sparse_format="csr"), JaxBackend(max_nnz=A.nnz // 3)]
    for bk in backends:
        op = bk.operator(A, np.float64)
        np.testing.assert_allclose(to_host(bk.i_minus(op, bk.block(x, np.float64))), want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(to_host(bk.matmat(op, bk.block(x, np.float64))), A @ x, rtol=1e-12, atol=1e-12)
    assert len(backends[2].operator(A, np.float64)) >= 3, "max_nnz did not split the matrix into row blocks"
    assert {bk.cache_tag for bk in backends[:2]} == {"jax-bcsr", "jax-csr"}
    e = bigplan.Economy(A)
    y = np.random.default_rng(0).random((400, k))
    sols = [bigplan.solve_output(e, y, backend=bk, method="bicgstab").output for bk in backends[:2]]
    np.testing.assert_allclose(sols[0], sols[1], rtol=1e-9)  # each format used its own cached operator
    with pytest.raises(ValueError, match="sparse_format"):
        JaxBackend(sparse_format="coo")


@needs_jax
def test_float32_jax_demand_is_promoted_and_reported():
    import jax.numpy as jnp

    n = 300
    e = bigplan.Economy(random_productive(n, 0.05, 0.8, seed=2))
    y32 = np.random.default_rng(1).random((n, 2)).astype(np.float32)
    sol = bigplan.solve_output(e, jnp.asarray(y32, dtype=jnp.float32), backend="jax", keep_on_device=False)
    assert any("float32" in note and "promoted" in note for note in sol.evidence.notes)
    assert sol.output.dtype == np.float64
    exact = bigplan.solve_output(e, y32.astype(np.float64), backend="numpy").output  # what float32 input means
    np.testing.assert_allclose(sol.output, exact, rtol=1e-9)
    y64 = bigplan.solve_output(e, np.random.default_rng(1).random((n, 2)), backend="numpy").output
    np.testing.assert_allclose(sol.output, y64, rtol=1e-6)  # the demand's own precision, no worse


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_results_are_writeable(backend):
    n = 200
    e = bigplan.Economy(random_productive(n, 0.05, 0.8, seed=3), labour=np.ones(n))
    sol = bigplan.solve_output(e, np.ones((n, 2)), backend=backend, keep_on_device=False)
    assert sol.output.flags.writeable and sol.labour.flags.writeable
    sol.output[0, 0] = -1.0
    bk = get_backend(backend)
    assert bk.to_numpy(bk.block(np.ones((3, 2)), np.float64)).flags.writeable


def _count_calls(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_the_direct_method_factorizes_once_per_economy(backend, monkeypatch):
    if backend == "jax":
        import jax.scipy.linalg as lin
    else:
        import cupyx.scipy.linalg as lin
    factors = _count_calls(monkeypatch, lin, "lu_factor")
    solves = _count_calls(monkeypatch, lin, "lu_solve")
    n = 150
    A = random_productive(n, 0.05, 0.8, seed=5)
    e = bigplan.Economy(A)
    for seed in range(3):
        y = np.random.default_rng(seed).random((n, 2))
        sol = bigplan.solve_output(e, y, backend=backend, method="direct", keep_on_device=False)
        np.testing.assert_allclose(sol.output, np.linalg.solve(np.eye(n) - A.toarray(), y), rtol=1e-10)
    assert len(factors) == 1 and len(solves) == 3


@needs_jax
def test_jax_synchronize_waits_for_the_queued_work():
    bk = get_backend("jax")
    A = random_productive(3000, 0.01, 0.9, seed=6)
    op = bk.operator(A, np.float64)
    Y = bk.block(np.ones((3000, 8)), np.float64)
    for _ in range(5):
        Y = bk.i_minus(op, Y)
    bk.synchronize()
    assert Y.is_ready()


def test_the_memory_check_counts_both_operators_of_a_refinement():
    class Small(NumpyBackend):
        name = "small-device"

        def memory_available(self):
            return 1000  # bytes: nothing fits, and the message shows what was counted

    n = 500
    A = random_productive(n, 0.02, 0.9, seed=7)
    e = bigplan.Economy(A)
    per_op = {t: A.nnz * (t + 4) + (n + 1) * 4 for t in (8, 4)}
    with pytest.raises(InsufficientMemoryError) as err:
        solve_block(Small(), e, np.ones((n, 2)), method=Refined())
    assert f"{per_op[8] + per_op[4]:,} for the matrix" in str(err.value)
    with pytest.raises(InsufficientMemoryError) as err:
        solve_block(Small(), e, np.ones((n, 2)), method="bicgstab")
    assert f"{per_op[8]:,} for the matrix" in str(err.value)
    assert f"{13 * n * 8:,} per plan" in str(err.value)  # BiCGSTAB's 12 blocks and the product's output
