"""``bigplan solve`` as a batch job: resumable chunks (also after SIGKILL), shards and merge, exit codes, --json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bigplan import cli
from bigplan._cli import batch
from bigplan._cli.inputs import synthetic_economy
from bigplan.errors import ConvergenceError, InsufficientMemoryError

ROOT = Path(__file__).resolve().parents[1]


def _run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _dense(n: int, k: int, seed: int = 0):
    """The independent answer: dense NumPy solve of the synthetic economy and plans the CLI builds."""
    from bigplan import synthetic

    econ = synthetic_economy(n)
    Y = np.asarray(synthetic.final_demand(n, k, seed=seed), dtype=float).reshape(n, k)
    X = np.linalg.solve(np.eye(n) - econ.A.toarray(), Y)
    return econ, Y, X


def test_solve_writes_outputs_and_labour_equal_to_dense_solve(tmp_path, capsys):
    econ, _, X = _dense(120, 7)
    out = tmp_path / "out.parquet"
    rc, stdout, err = _run(capsys, "solve", "-e", "synthetic:120", "-p", "synthetic:7", "-o", out, "--json")
    assert rc == 0, err
    summary = json.loads(stdout)
    assert summary["ok"] and summary["plans"] == 7 and summary["products"] == 120 and summary["converged"]
    got = pd.read_parquet(out).set_index("product")  # labels are a plain first column
    assert list(got.index[:2]) == ["p000", "p001"] and got.shape == (120, 7)
    np.testing.assert_allclose(got.to_numpy(), X, rtol=1e-8, atol=1e-10)
    lab = pd.read_parquet(tmp_path / "out.labour.parquet").set_index("labour")
    np.testing.assert_allclose(lab.to_numpy()[0], econ.labour.reshape(-1) @ X, rtol=1e-8)


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_solve_csv_and_npy(tmp_path, capsys, suffix):
    _, _, X = _dense(60, 3)
    out = tmp_path / f"out{suffix}"
    rc, _, err = _run(capsys, "solve", "-e", "synthetic:60", "-p", "synthetic:3", "-o", out, "-q")
    assert rc == 0, err
    got = pd.read_csv(out, index_col=0).to_numpy() if suffix == ".csv" else np.load(out, allow_pickle=False)
    np.testing.assert_allclose(got, X, rtol=1e-8, atol=1e-10)


def test_chunked_run_interrupted_then_resumed_recomputes_nothing(tmp_path, capsys, monkeypatch):
    args = ["solve", "-e", "synthetic:150", "-p", "synthetic:10", "--chunk", "3", "--json"]
    whole = tmp_path / "whole.parquet"
    assert _run(capsys, *args, "-o", whole)[0] == 0
    assert not batch.parts_dir(whole).exists()  # parts removed once the file is written

    real = batch._solve_block
    calls = []

    def dies_on_third(solve, Y, m):
        calls.append(Y.shape[1])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(solve, Y, m)

    out = tmp_path / "out.parquet"
    monkeypatch.setattr(batch, "_solve_block", dies_on_third)
    rc, stdout, err = _run(capsys, *args, "-o", out)
    assert rc == 5 and "interrupted" in err and json.loads(stdout)["exit_code"] == 5
    assert not out.exists()
    parts = sorted(p.name for p in batch.parts_dir(out).iterdir())
    assert parts == ["chunk-000000.npz", "chunk-000001.npz", "manifest.json"]
    stamps = {p: (batch.parts_dir(out) / p).stat().st_mtime_ns for p in parts}

    calls.clear()
    monkeypatch.setattr(batch, "_solve_block", lambda solve, Y, m: (calls.append(Y.shape[1]), real(solve, Y, m))[1])
    # a rerun with other options is refused and leaves the parts alone
    rc, _, err = _run(capsys, *args, "-o", out, "--rtol", "1e-9")
    assert rc == 2 and "different inputs or options" in err and calls == []
    assert {p: (batch.parts_dir(out) / p).stat().st_mtime_ns for p in parts} == stamps
    rc, stdout, err = _run(capsys, *args, "-o", out)
    assert rc == 0, err
    summary = json.loads(stdout)
    assert summary["resumed_chunks"] == 2 and summary["chunks"] == 4
    assert calls == [3, 1]  # only the two unfinished chunks were solved
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(whole))
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out.labour.parquet"),
                                  pd.read_parquet(tmp_path / "whole.labour.parquet"))
    assert not batch.parts_dir(out).exists()


def test_sigkill_mid_run_then_restart_equals_uninterrupted_run(tmp_path, capsys):
    """A real process killed with SIGKILL after its first chunk, restarted with the same command."""
    args = ["solve", "-e", "synthetic:6000", "-p", "synthetic:48", "--chunk", "1", "--method", "bicgstab"]
    out = tmp_path / "out.parquet"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "bigplan", *args, "-o", str(out), "--json"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    parts = batch.parts_dir(out)
    deadline = time.monotonic() + 60
    while not (parts / "chunk-000001.npz").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no chunk written within 60 s"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists(), "the job finished before it was killed: make it longer"
    done = sorted(p.name for p in parts.glob("chunk-*.npz"))
    assert 2 <= len(done) < 48

    again = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                           check=False)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    # every chunk finished before the kill was taken as it was, and only the others were solved
    assert summary["resumed_chunks"] == len(done) and summary["chunks"] == 48
    assert not parts.exists()

    whole = tmp_path / "whole.parquet"
    rc, _, err = _run(capsys, *args, "-o", whole, "-q")
    assert rc == 0, err
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(whole))


def test_sigterm_stops_with_exit_code_5_and_keeps_the_chunks(tmp_path):
    """SLURM's cancel (SIGTERM) ends the job like Ctrl-C: exit 5, one line, finished chunks kept, no output."""
    out = tmp_path / "out.npy"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "bigplan", "solve", "-e", "synthetic:6000", "-p", "synthetic:48", "--chunk", "1",
           "--method", "bicgstab", "-o", str(out)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parts = batch.parts_dir(out)
    deadline = time.monotonic() + 60
    while not (parts / "chunk-000000.npz").exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "no chunk written within 60 s"
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 5, err
    assert err.strip().splitlines()[-1].startswith("bigplan: interrupted") and "Traceback" not in err
    assert not out.exists() and (parts / "chunk-000000.npz").is_file() and (parts / "manifest.json").is_file()


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".npy"])
def test_shards_merged_equal_the_whole(tmp_path, capsys, suffix):
    args = ["solve", "-e", "synthetic:80", "-p", "synthetic:11", "-q"]
    whole = tmp_path / f"whole{suffix}"
    assert _run(capsys, *args, "-o", whole)[0] == 0
    shards = []
    for i in range(3):
        target = tmp_path / f"shard{i}{suffix}"
        rc, _, err = _run(capsys, *args, "--shard", f"{i}/3", "-o", target)
        assert rc == 0, err
        shards.append(target)
    info = json.loads(batch.shard_path(shards[1]).read_text())
    assert info["shard"] == 1 and info["of"] == 3 and info["plans"] == ["plan04", "plan05", "plan06", "plan07"]
    merged = tmp_path / f"merged{suffix}"
    # the shards in any order, named by their outputs or by their descriptions
    named = [batch.shard_path(shards[2]), shards[0], batch.shard_path(shards[1])]
    rc, stdout, err = _run(capsys, "merge", *named, "-o", merged, "--json")
    assert rc == 0, err
    assert json.loads(stdout)["shards"] == 3
    if suffix == ".npy":
        np.testing.assert_allclose(np.load(merged), np.load(whole), rtol=1e-12)
    elif suffix == ".csv":
        pd.testing.assert_frame_equal(pd.read_csv(merged, index_col=0), pd.read_csv(whole, index_col=0), rtol=1e-12)
    else:
        pd.testing.assert_frame_equal(pd.read_parquet(merged), pd.read_parquet(whole), rtol=1e-12)

    # a missing shard, a shard given twice, or a shard of another job is refused
    rc, _, err = _run(capsys, "merge", shards[0], shards[2], "-o", tmp_path / f"m2{suffix}")
    assert rc == 2 and "[1]" in err and "missing" in err
    rc, _, err = _run(capsys, "merge", shards[0], shards[1], shards[1], shards[2], "-o", tmp_path / f"m3{suffix}")
    assert rc == 2 and "twice" in err
    other = tmp_path / f"other{suffix}"
    assert _run(capsys, "solve", "-e", "synthetic:80", "-p", "synthetic:11:5", "-q", "--shard", "1/3", "-o", other)[0] == 0
    rc, _, err = _run(capsys, "merge", shards[0], other, shards[2], "-o", tmp_path / f"m4{suffix}")
    assert rc == 2 and "another job" in err
    assert not (tmp_path / f"m2{suffix}").exists() and not (tmp_path / f"m4{suffix}").exists()


def test_shard_argument_checked(capsys):
    for bad in ("3/3", "1-3", "0/0"):
        rc, _, err = _run(capsys, "solve", "-e", "bea", "-o", "x.csv", "--shard", bad)
        assert rc == 2 and "--shard" in err


def test_existing_output_needs_overwrite(tmp_path, capsys):
    out = tmp_path / "out.csv"
    out.write_text("keep\n")
    rc, stdout, err = _run(capsys, "solve", "-e", "bea:15", "-o", out)
    assert rc == 2 and "--overwrite" in err and stdout == "" and out.read_text() == "keep\n" and stdout == ""
    rc, _, err = _run(capsys, "solve", "-e", "bea:15", "-o", out, "--overwrite")
    assert rc == 0, err
    assert pd.read_csv(out, index_col=0).shape == (15, 3)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["solve", "-e", "/no/such/economy.npz", "-p", "synthetic:2", "-o", "{tmp}/o.csv"], "no such file"),
        (["solve", "-e", "bea:15", "-p", "/no/such/plans.csv", "-o", "{tmp}/o.csv"], "no such file"),
        (["solve", "-e", "bea:15", "--backend", "tpu", "-o", "{tmp}/o.csv"], "invalid choice"),
        (["solve", "-e", "bea:16", "-o", "{tmp}/o.csv"], "level 15 or 71"),
        (["solve", "-e", "synthetic:x", "-o", "{tmp}/o.csv"], "not an integer"),
        (["solve", "-e", "synthetic:50", "-o", "{tmp}/o.csv"], "--plans is needed"),
        (["solve", "-e", "bea:15", "-o", "{tmp}/o.xlsx"], "unknown format"),
        (["solve", "-e", "bea:15", "-p", "{tmp}/bad_plans.csv", "-o", "{tmp}/o.csv"], "NOPE"),
        (["solve", "-e", "bea:15", "-p", "{tmp}/dup_plans.csv", "-o", "{tmp}/o.csv"], "duplicated plan names"),
        (["values", "-e", "bea:15", "--rtol", "2"], "--rtol"),
        (["merge", "{tmp}/nothing.csv", "-o", "{tmp}/m.csv"], "no shard output"),
    ],
    ids=["missing-economy", "missing-plans", "unknown-backend", "bad-level", "bad-synthetic", "no-plans",
         "bad-suffix", "plans-not-matching", "duplicate-plan-names", "bad-rtol", "merge-missing"],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, argv, needle):
    import bigplan.io as bio

    codes = bio.bea_product_names(15).index
    (tmp_path / "bad_plans.csv").write_text("product,a\n" + "".join(f"{c},1\n" for c in codes) + "NOPE,1\n")
    (tmp_path / "dup_plans.csv").write_text("product,p,p\n" + "".join(f"{c},1,2\n" for c in codes))
    rc, stdout, err = _run(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert rc == 2 and stdout == ""
    assert needle in err and "Traceback" not in err
    assert err.count("\n") == 1 or err.startswith("usage:")  # one line, or argparse's usage and one line
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "m.csv").exists()


def test_json_error_summary(tmp_path, capsys):
    rc, stdout, err = _run(capsys, "solve", "-e", str(tmp_path / "none.npz"), "-o", tmp_path / "o.csv", "--json")
    assert rc == 2 and err.count("\n") == 1
    data = json.loads(stdout)
    assert data == {"command": "solve", "ok": False, "exit_code": 2, "error": data["error"],
                    "message": data["message"], "meaning": data["meaning"]}
    assert "none.npz" in data["message"] and data["meaning"].startswith("bad input")


@pytest.mark.parametrize("error, code", [(ConvergenceError("no", residual=np.array([0.1])), 3),
                                         (InsufficientMemoryError("too big"), 4), (KeyboardInterrupt(), 5)])
def test_exit_codes_of_failed_solves(tmp_path, capsys, monkeypatch, error, code):
    """The code path from a failing solve to the exit code (the error itself is bigplan's)."""
    import bigplan.static

    def fails(*args, **kwargs):
        raise error

    monkeypatch.setattr(bigplan.static, "solve_output", fails)
    out = tmp_path / "o.csv"
    rc, _, err = _run(capsys, "solve", "-e", "bea:15", "-o", out)
    assert rc == code and err.count("\n") == 1 and not out.exists()


def test_unavailable_backend_exits_6(tmp_path, capsys):
    from bigplan.backend import available_backends

    if "cupy" in available_backends():
        pytest.skip("CuPy with a device is present")
    rc, _, err = _run(capsys, "solve", "-e", "bea:15", "--backend", "cupy", "-o", tmp_path / "o.csv")
    assert rc == 6 and "cupy" in err.lower()


def test_exit_code_table_is_in_help(capsys):
    rc, out, _ = _run(capsys, "--help")
    assert rc == 0
    for code in (0, 2, 3, 4, 5, 6, 7):
        assert f"\n  {code}  " in out
    rc, out, _ = _run(capsys, "solve", "--help")
    assert rc == 0 and "--chunk" in out and "--shard" in out and "exit codes" in out


def test_solve_reads_economy_and_plans_files_and_its_output_reads_back(tmp_path, capsys):
    import bigplan.io as bio

    if not hasattr(bio, "read_economy") or not hasattr(bio, "read_plans"):
        pytest.skip("bigplan.io has no file readers yet")
    econ = synthetic_economy(90)
    econ.save(tmp_path / "econ.npz")
    Y = np.abs(np.random.default_rng(1).standard_normal((90, 4)))
    pd.DataFrame(Y, index=econ.labels, columns=["a", "b", "c", "d"]).to_csv(tmp_path / "plans.csv")
    X = np.linalg.solve(np.eye(90) - econ.A.toarray(), Y)
    out = tmp_path / "x.parquet"
    s = json.loads(_run(capsys, "solve", "-e", tmp_path / "econ.npz", "-p", tmp_path / "plans.csv", "-o", out,
                        "--json")[1])
    assert s["plans"] == 4 and s["products"] == 90
    np.testing.assert_allclose(pd.read_parquet(out).set_index("product").to_numpy(), X, rtol=1e-8)
    # an output is a plans table: solve its columns again (x as final demand)
    again = tmp_path / "x2.csv"
    assert _run(capsys, "solve", "-e", tmp_path / "econ.npz", "-p", out, "-o", again, "-q")[0] == 0
    np.testing.assert_allclose(pd.read_csv(again, index_col=0).to_numpy(),
                               np.linalg.solve(np.eye(90) - econ.A.toarray(), X), rtol=1e-8)
    # plans that do not match the economy: exit 2, nothing written
    rc, _, err = _run(capsys, "solve", "-e", "bea:15", "-p", tmp_path / "plans.csv", "-o", tmp_path / "bad.csv")
    assert rc == 2 and "plans.csv" in err and not (tmp_path / "bad.csv").exists()


def test_scheduler_solves_on_a_dask_cluster(tmp_path, capsys):
    pytest.importorskip("bigplan.distributed")
    dist = pytest.importorskip("dask.distributed")
    import bigplan.io as bio

    out = tmp_path / "o.csv"
    with dist.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        rc, stdout, err = _run(capsys, "solve", "-e", "bea:15", "-o", out, "--scheduler", cluster.scheduler_address,
                               "--json")
    if rc != 0 and "No clients found" in err:
        pytest.xfail("bigplan.distributed.solve_output(scheduler=...) has no default client (requests/cli.md 4)")
    assert rc == 0, err
    assert json.loads(stdout)["scheduler"] == cluster.scheduler_address
    econ = bio.bea_economy(15)
    fd = bio.bea_final_demand(15)
    base = fd.sum(axis=1).reindex(econ.labels).to_numpy()
    x = np.linalg.solve(np.eye(15) - econ.A.toarray(), base)
    np.testing.assert_allclose(pd.read_csv(out, index_col=0)["baseline"].to_numpy(), x, rtol=1e-8)


def test_inputs_hash_sees_values_names_options_not_memory_layout():
    econ = synthetic_economy(30)
    Y = np.random.default_rng(0).random((30, 4))
    base = batch.inputs_hash(econ, pd.DataFrame(Y, index=econ.labels), {"rtol": 1e-10})
    assert batch.inputs_hash(econ, pd.DataFrame(np.asfortranarray(Y), index=econ.labels), {"rtol": 1e-10}) == base
    Z = Y.copy()
    Z[3, 2] = np.nextafter(Z[3, 2], 2.0)  # one ulp in one plan
    assert batch.inputs_hash(econ, pd.DataFrame(Z, index=econ.labels), {"rtol": 1e-10}) != base
    assert batch.inputs_hash(econ, pd.DataFrame(Y, index=econ.labels, columns=list("abcd")), {"rtol": 1e-10}) != base
    assert batch.inputs_hash(econ, pd.DataFrame(Y, index=econ.labels), {"rtol": 1e-9}) != base
    other = synthetic_economy(30, seed=1)
    assert batch.inputs_hash(other, pd.DataFrame(Y, index=other.labels), {"rtol": 1e-10}) != base
