"""One economy across four JAX devices (the CPU split into four: XLA_FLAGS set before JAX is imported).

XLA reads ``--xla_force_host_platform_device_count`` once, when JAX starts, so the checks run in one
subprocess (this process may already hold a one-device JAX); it prints its findings as JSON, and each test
below asserts one of them against the plain JAX backend and a dense NumPy solve done in that subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("jax")

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import json, numpy as np, bigplan
    from bigplan.gpu import JaxBackend
    from bigplan._jax_shard import ShardedJaxBackend
    from bigplan.errors import BackendUnavailableError, InsufficientMemoryError
    import jax

    out = {"devices": len(jax.devices())}
    n = 203                                    # not divisible by 4
    e = bigplan.synthetic.economy(n, seed=5)
    Y = bigplan.synthetic.final_demand(n, 5, seed=6)
    M = np.eye(n) - e.A.toarray()
    dense = np.linalg.solve(M, Y)
    bk = ShardedJaxBackend(devices=4)
    plain = JaxBackend()
    op = bk.operator(e.A, np.float64)
    out["shards"] = sorted(s.data.shape[0] for s in op.data.addressable_shards)
    out["shard_devices"] = len({s.device for s in op.data.addressable_shards})

    def rel(a, b):
        return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(b).max())

    for meth in ("bicgstab",):
        one = bigplan.solve_output(e, Y[:, 0], backend=bk, method=meth)
        one_plain = bigplan.solve_output(e, Y[:, 0], backend=plain, method=meth)
        batch = bigplan.solve_output(e, Y, backend=bk, method=meth)
        batch_plain = bigplan.solve_output(e, Y, backend=plain, method=meth)
        out[meth] = {
            "one_vs_plain": rel(one.output, one_plain.output), "one_vs_dense": rel(one.output, dense[:, 0]),
            "batch_vs_plain": rel(batch.output, batch_plain.output), "batch_vs_dense": rel(batch.output, dense),
            "converged": bool(one.converged and batch.converged), "backend": batch.backend,
            "residual_shape": list(batch.residual.shape),
        }
    v = bigplan.labour_values(e, backend=bk, method="bicgstab")
    out["values_vs_dense"] = rel(v.values, np.linalg.solve(M.T, e.labour[0]))
    # an economy whose rows divide evenly: blocks row-sharded too
    e2 = bigplan.synthetic.economy(200, seed=7)
    Y2 = bigplan.synthetic.final_demand(200, 3, seed=8)
    s2 = bigplan.solve_output(e2, Y2, backend=bk, method="bicgstab")
    out["even_vs_dense"] = rel(s2.output, np.linalg.solve(np.eye(200) - e2.A.toarray(), Y2))
    out["even_block_shards"] = len(bk.block(Y2, np.float64).addressable_shards)
    try:
        ShardedJaxBackend(devices=8)
        out["too_many"] = "no error"
    except BackendUnavailableError as exc:
        out["too_many"] = str(exc)
    try:
        small = ShardedJaxBackend(devices=4, memory_per_device=2_000)
        small.operator(e.A, np.float64)
        out["too_big"] = "no error"
    except InsufficientMemoryError as exc:
        out["too_big"] = str(exc)
    try:
        fresh = bigplan.synthetic.economy(n, seed=5)  # nothing of it on the devices yet
        bigplan.solve_output(fresh, Y, backend=ShardedJaxBackend(devices=4, memory_per_device=2_000),
                             method="bicgstab")
        out["too_big_solve"] = "no error"
    except InsufficientMemoryError as exc:
        out["too_big_solve"] = str(exc)
    print("RESULT" + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def found() -> dict:
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], check=False, capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT"):])


def test_four_devices_hold_one_slab_each(found):
    assert found["devices"] == 4
    assert found["shards"] == [1, 1, 1, 1] and found["shard_devices"] == 4


@pytest.mark.parametrize("method", ["bicgstab"])
def test_sharded_equals_single_device_one_plan_and_batch(found, method):
    r = found[method]
    assert r["converged"] and r["backend"].startswith("jax-sharded[0,1,2,3]")
    assert r["residual_shape"] == [5]
    assert r["one_vs_plain"] < 1e-12 and r["batch_vs_plain"] < 1e-12
    assert r["one_vs_dense"] < 1e-8 and r["batch_vs_dense"] < 1e-8


def test_sharded_labour_values_and_even_rows(found):
    assert found["values_vs_dense"] < 1e-8
    assert found["even_vs_dense"] < 1e-8
    assert found["even_block_shards"] == 4  # rows divisible by 4: the plan blocks are sharded as well


def test_mesh_larger_than_devices_is_refused(found):
    assert "8 devices" in found["too_many"] and "sees 4" in found["too_many"]


def test_economy_too_big_even_when_sharded(found):
    assert "bytes" in found["too_big"] and "2,000" in found["too_big"] and "4 devices" in found["too_big"]
    assert "bytes" in found["too_big_solve"]


def test_options_checked_in_process():
    import jax

    from bigplan._jax_shard import ShardedJaxBackend
    from bigplan.errors import BackendUnavailableError, InvalidOptionError

    have = len(jax.devices())
    with pytest.raises(BackendUnavailableError, match=f"{have + 1} devices"):
        ShardedJaxBackend(devices=have + 1)
    for bad in (2.0, True, [], 0):
        with pytest.raises(InvalidOptionError, match="devices"):
            ShardedJaxBackend(devices=bad)
    with pytest.raises(InvalidOptionError, match="not both"):
        ShardedJaxBackend(devices=1, mesh=jax.make_mesh((1,), ("rows",)))
    with pytest.raises(InvalidOptionError, match="memory_per_device"):
        ShardedJaxBackend(memory_per_device=-5)
