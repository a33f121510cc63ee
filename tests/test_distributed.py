"""bigplan.distributed on a local Dask cluster of two worker processes, checked against local and dense solves.

One cluster for the module: two worker processes of one thread each, one of them started with
``BIGPLAN_NO_KERNELS=1`` (a worker without the compiled kernels, falling back to SciPy).  The test that
kills a worker runs last.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import bigplan
from bigplan import distributed
from bigplan.errors import (
    InvalidOptionError,
    MissingDependencyError,
    NotProductiveError,
    OutputExistsError,
    SchedulerUnavailableError,
)

dd = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

N = 400


@pytest.fixture(scope="module")
def client():
    from distributed import Client, Nanny, Scheduler, SpecCluster

    workers = {
        "plain": {"cls": Nanny, "options": {"nthreads": 1}},
        "nokernels": {"cls": Nanny, "options": {"nthreads": 1, "env": {"BIGPLAN_NO_KERNELS": "1"}}},
    }
    cluster = SpecCluster(
        scheduler={"cls": Scheduler, "options": {"dashboard_address": None}}, workers=workers, silence_logs=40
    )
    c = Client(cluster, set_as_default=False)
    c.wait_for_workers(2, timeout=60)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def economy():
    return bigplan.synthetic.economy(N, seed=3)


@pytest.fixture(scope="module")
def plans():
    return bigplan.synthetic.final_demand(N, 256, seed=4)


def _dense(econ, Y):
    return np.linalg.solve(np.eye(econ.n) - econ.A.toarray(), Y)


def _block_workers(ts) -> set:
    return {t["worker"] for t in ts.data if str(t["key"]).startswith("bigplan-block")}


def test_256_plans_equal_single_process_on_both_workers(client, economy, plans):
    from distributed import get_task_stream

    kernels = client.run(lambda: __import__("bigplan.cpu", fromlist=["x"]).kernels_available())
    assert sorted(kernels.values()) == [False, True]  # one worker really runs without the compiled kernels
    with get_task_stream(client) as ts:
        sol = distributed.solve_output(economy, plans, client=client, block=32, method="bicgstab")
    local = bigplan.solve_output(economy, plans, method="bicgstab")
    assert isinstance(sol, bigplan.OutputSolution)
    assert sol.output.shape == (N, 256) and sol.converged
    np.testing.assert_allclose(sol.output, local.output, rtol=1e-9, atol=0)
    np.testing.assert_allclose(sol.output, _dense(economy, plans), rtol=1e-8)
    np.testing.assert_allclose(sol.labour, economy.labour @ sol.output, rtol=1e-12)
    assert sol.residual.shape == (256,) and (sol.residual <= 1e-10).all()
    assert sol.status.tolist() == [0] * 256 and sol.plan_iterations.shape == (256,)
    assert _block_workers(ts) == set(kernels)  # blocks ran on the kernel-less worker too
    assert "8 block(s)" in sol.notes[-1]


def test_labels_plan_names_and_one_plan(client, economy, plans):
    labels = [f"p{i}" for i in range(N)]
    e = bigplan.Economy(economy.A, labour=economy.labour, labels=labels)
    df = pd.DataFrame(plans[:, :5], index=labels, columns=list("abcde")).iloc[::-1]
    sol = distributed.solve_output(e, df, client=client, block=2)
    assert list(sol.plans) == list("abcde")
    np.testing.assert_allclose(sol.to_frame().loc[labels].to_numpy(), _dense(e, plans[:, :5]), rtol=1e-8)
    one = distributed.solve_output(e, pd.Series(plans[:, 0], index=labels), client=client)
    assert one.output.shape == (N,)
    np.testing.assert_allclose(one.output, _dense(e, plans[:, 0]), rtol=1e-8)


def test_labour_values_many_vectors(client, economy):
    rng = np.random.default_rng(0)
    L = rng.uniform(0.1, 2.0, size=(7, N))
    vals = distributed.labour_values(economy, L, client=client, block=3)
    ref = np.linalg.solve((np.eye(N) - economy.A.toarray()).T, L.T).T
    assert vals.values.shape == (7, N) and vals.converged and vals.residual.shape == (7,)
    np.testing.assert_allclose(vals.values, ref, rtol=1e-8)
    own = distributed.labour_values(economy, client=client)
    np.testing.assert_allclose(own.values, bigplan.labour_values(economy).values, rtol=1e-9)


def test_scheduler_address_and_values_to_files(client, economy, tmp_path):
    L = np.vstack([economy.labour[0], 2.0 * economy.labour[0], np.ones(N)])
    w = distributed.labour_values(economy, L, scheduler=client.scheduler.address, timeout=20, out=tmp_path, block=2)
    assert [os.path.basename(f) for f in w.files] == ["values-000000000-000000002.parquet",
                                                      "values-000000002-000000003.parquet"]
    ref = np.linalg.solve((np.eye(N) - economy.A.toarray()).T, L.T)
    np.testing.assert_allclose(w.read().to_numpy(), ref, rtol=1e-8)
    assert list(w.read().columns) == ["labour_0", "labour_1", "labour_2"] and w.converged


def test_parquet_blocks_atomic_and_resumable(client, economy, plans, tmp_path):
    Y = plans[:, :40]
    w = distributed.solve_output(economy, Y, client=client, out=tmp_path, block=16)
    assert isinstance(w, distributed.WrittenBlocks) and w.skipped == 0
    assert [os.path.basename(f) for f in w.files] == [
        "output-000000000-000000016.parquet", "output-000000016-000000032.parquet",
        "output-000000032-000000040.parquet"]
    assert not list(tmp_path.glob(".*"))  # no temp file left behind
    np.testing.assert_allclose(w.read().to_numpy(), _dense(economy, Y), rtol=1e-8)
    # a run killed after the first block: the others are solved, the first is not solved again
    os.remove(w.files[1])
    os.remove(w.files[2])
    first = os.stat(w.files[0]).st_mtime_ns
    again = distributed.solve_output(economy, Y, client=client, out=tmp_path, block=16)
    assert again.skipped == 1 and os.stat(w.files[0]).st_mtime_ns == first
    assert again.residual.shape == (40,) and again.converged
    np.testing.assert_allclose(again.read().to_numpy(), _dense(economy, Y), rtol=1e-8)
    # a block file of other plans is never taken for this run's, nor overwritten
    with pytest.raises(OutputExistsError, match="another run"):
        distributed.solve_output(economy, Y + 1.0, client=client, out=tmp_path, block=16)


def test_block_write_failure_leaves_nothing(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from bigplan._distributed.parquet import write_block

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        write_block(tmp_path / "b.parquet", pd.DataFrame({"a": [1.0]}), {"x": 1})
    assert list(tmp_path.iterdir()) == []


def test_plans_that_miss_the_tolerance_are_reported_per_plan(client, economy, plans):
    meth = bigplan.BiCGSTAB(maxiter=1, max_restarts=0)
    with pytest.raises(bigplan.ConvergenceError, match="did not reach rtol"):
        distributed.solve_output(economy, plans[:, :6], client=client, block=3, method=meth)
    sol = distributed.solve_output(economy, plans[:, :6], client=client, block=3, method=meth, raise_on_failure=False)
    assert not sol.converged and sol.status.shape == (6,) and (sol.status != 0).all()
    assert (sol.residual > 1e-10).all() and not sol.plan_converged.any()


def test_monte_carlo_matches_samples_built_here(client, economy, plans):
    Y = plans[:, :2]
    mc = distributed.monte_carlo(economy, Y, 5, client=client, seed=7, sigma=0.1, block=2)
    xs = []
    for s in range(5):  # the documented perturbation, computed independently
        z = np.random.default_rng([7, s]).standard_normal(economy.nnz)
        A = economy.A.copy()
        A.data = A.data * np.exp(0.1 * z - 0.005)
        xs.append(np.linalg.solve(np.eye(N) - A.toarray(), Y))
    xs = np.stack(xs)
    np.testing.assert_allclose(mc.mean, xs.mean(axis=0), rtol=1e-8)
    np.testing.assert_allclose(mc.std, xs.std(axis=0, ddof=1), rtol=1e-6, atol=1e-9 * np.abs(xs).max())
    assert mc.labour.shape == (5, 1, 2) and mc.residual.shape == (10,) and mc.converged
    np.testing.assert_allclose(mc.labour[:, 0, :], np.einsum("n,snk->sk", economy.labour[0], xs), rtol=1e-8)


def test_monte_carlo_unproductive_sample_named(client):
    e = bigplan.Economy(sp.csr_matrix(np.array([[0.95, 0.0], [0.0, 0.95]])))
    with pytest.raises(NotProductiveError, match="Monte Carlo sample"):
        distributed.monte_carlo(e, [1.0, 1.0], 8, client=client, sigma=0.5)


def test_bad_scheduler_times_out_with_typed_error(economy):
    t0 = time.monotonic()
    with pytest.raises(SchedulerUnavailableError, match="127.0.0.1:1"):
        distributed.solve_output(economy, np.ones(N), scheduler="tcp://127.0.0.1:1", timeout=1)
    assert time.monotonic() - t0 < 30  # answered, not hung


def test_bad_options(client, economy):
    with pytest.raises(InvalidOptionError, match="needs a cluster"):
        distributed.solve_output(economy, np.ones(N))
    with pytest.raises(InvalidOptionError, match="not both"):
        distributed.solve_output(economy, np.ones(N), client=client, scheduler="tcp://x:1")
    with pytest.raises(InvalidOptionError, match="backend"):
        distributed.solve_output(economy, np.ones(N), client=client, backend=bigplan.get_backend("numpy"))
    with pytest.raises(InvalidOptionError, match="block"):
        distributed.solve_output(economy, np.ones(N), client=client, block=0)
    with pytest.raises(InvalidOptionError, match="bigplan.Economy"):
        distributed.solve_output(economy.A, np.ones(N), client=client)


def test_missing_dask_names_the_extra(economy, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingDependencyError, match=r"bigplan\[dask\]"):
        distributed.solve_output(economy, np.ones(N), scheduler="tcp://127.0.0.1:1")


def test_zz_worker_killed_mid_run_same_answer(client, economy, plans, tmp_path):
    """A worker dies on its first block: Dask reruns the block elsewhere; the answer is unchanged."""
    from distributed import WorkerPlugin

    flag = str(tmp_path / "killed")

    def make_plugin():
        class KillOnce(WorkerPlugin):
            name = "bigplan-kill-once"

            def __init__(self, flag):
                self.flag = flag

            def transition(self, key, start, finish, **kwargs):
                if finish == "executing" and str(key).startswith("bigplan-block"):
                    try:
                        fd = os.open(self.flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                    except FileExistsError:
                        return
                    os.write(fd, str(key).encode())
                    os.close(fd)
                    os.kill(os.getpid(), 9)

        return KillOnce(flag)

    client.register_plugin(make_plugin())
    try:
        sol = distributed.solve_output(economy, plans, client=client, block=32, method="bicgstab")
    finally:
        client.unregister_worker_plugin("bigplan-kill-once")
    assert os.path.exists(flag)  # a worker really died mid-run
    np.testing.assert_allclose(sol.output, bigplan.solve_output(economy, plans, method="bicgstab").output, rtol=1e-9)
    assert sol.converged and sol.residual.shape == (256,)


def test_blocks_sized_to_worker_memory_and_spread_over_workers():
    from bigplan._distributed.connect import BLOCKS_PER_PLAN, plans_per_block

    workers = {"a": {"nthreads": 1, "memory_limit": 2 * 10**9}, "b": {"nthreads": 1, "memory_limit": 2 * 10**9}}
    n, nnz = 10**6, 30 * 10**6
    b = plans_per_block(None, workers, n, nnz, 100, "numpy", None)
    assert b * BLOCKS_PER_PLAN * 8 * n + 12 * nnz <= 0.5 * 2 * 10**9  # a block fits half a worker's memory
    assert b >= 1 and -(-100 // b) >= 2  # both workers busy
    assert plans_per_block(None, workers, 1000, 30000, 10, "numpy", None) == 5  # small: one block per worker
    assert plans_per_block(None, workers, n, nnz, 100, "numpy", 7) == 7
