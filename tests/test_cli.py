"""The ``bigplan`` command line: default job, options, CSV output, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

bigplan = pytest.importorskip("bigplan")
if not hasattr(bigplan, "solve_output") or not hasattr(bigplan, "labour_values"):
    pytest.skip("bigplan.solve_output / labour_values are not available yet (bigplan/static.py)",
                allow_module_level=True)

from bigplan import cli
from bigplan import io as bio

ROOT = Path(__file__).resolve().parents[1]
TOTAL_COMPENSATION = "12,549,143"  # 2021 compensation of employees, 71-product tables (millions of USD)


def _run(capsys, *argv):
    rc = cli.main(list(argv))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_default_job_prints_table_and_summary(capsys):
    rc, out, err = _run(capsys)
    assert rc == 0, err
    assert err == ""
    assert "71 products" in out
    for plan in ("baseline", "consumption+5%", "investment+10%"):
        assert plan in out
    # the largest products by output are shown with codes and names
    assert "HS " in out and "Housing" in out and "5412OP" in out
    assert "Summary" in out and "Labour needed per plan" in out
    # baseline = 2021 final demand, so it needs exactly the published compensation of employees
    baseline_line = next(line for line in out.splitlines() if line.strip().startswith("baseline "))
    assert TOTAL_COMPENSATION in baseline_line
    assert "Output solve:" in out and "converged" in out and "backend" in out and "Time:" in out
    # compact by default: 20 product rows, and a note on how to see the rest
    rows = [line for line in out.splitlines() if line[:7].strip() in set(bio.bea_product_names(71).index)]
    assert len(rows) == cli.DEFAULT_TOP
    assert "--all" in out


def test_more_consumption_needs_more_labour(capsys):
    rc, out, _ = _run(capsys, "--all")
    assert rc == 0
    codes = set(bio.bea_product_names(71).index)
    rows = [line for line in out.splitlines() if line[:7].strip() in codes]
    assert len(rows) == 71 and any(line.startswith("111CA ") for line in rows)
    needed = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in ("baseline", "consumption+5%", "investment+10%") and len(parts) >= 2:
            needed[parts[0]] = float(parts[1].replace(",", ""))
    assert needed["consumption+5%"] > needed["investment+10%"] > needed["baseline"]


def test_csv_output(tmp_path, capsys):
    target = tmp_path / "plans.csv"
    rc, out, err = _run(capsys, "--csv", str(target), "--top", "5")
    assert rc == 0, err
    assert str(target) in out
    table = pd.read_csv(target, index_col=0)
    assert table.shape == (71, 6)
    assert list(table.columns) == [
        "name", "baseline", "consumption+5%", "investment+10%", "labour_coefficient", "labour_value",
    ]
    assert table.loc["111CA", "name"] == "Farms"
    # the baseline plan reproduces the published domestic output of every product
    q = bio.product_output(bio.bea_tables(71))
    np.testing.assert_allclose(table["baseline"].to_numpy(), q.loc[table.index].to_numpy(), rtol=1e-8)
    assert (table["consumption+5%"] >= table["baseline"] - 1e-6).all()
    assert (table["labour_value"] > table["labour_coefficient"]).all()
    assert sorted(os.listdir(tmp_path)) == ["plans.csv"]  # no temporary file left behind


def test_csv_is_written_atomically(tmp_path, capsys, monkeypatch):
    target = tmp_path / "plans.csv"
    target.write_text("old,content\n")

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    rc, out, err = _run(capsys, "--csv", str(target))
    assert rc == 2 and err == "bigplan: error: disk full\n"
    assert target.read_text() == "old,content\n"
    assert sorted(os.listdir(tmp_path)) == ["plans.csv"]


def test_csv_into_missing_folder_exits_2(tmp_path, capsys):
    rc, out, err = _run(capsys, "--csv", str(tmp_path / "no" / "such" / "plans.csv"))
    assert rc == 2
    assert err.startswith("bigplan: error:") and err.count("\n") == 1


def test_user_demand_batch(tmp_path, capsys):
    fd = bio.bea_final_demand(71)
    demand = pd.DataFrame({"now": fd.sum(axis=1), "exports x2": fd.sum(axis=1) + fd["exports"]})
    path = tmp_path / "demand.csv"
    demand.to_csv(path)
    target = tmp_path / "out.csv"
    rc, out, err = _run(capsys, "--demand", str(path), "--csv", str(target), "--method", "bicgstab")
    assert rc == 0, err
    assert "exports x2" in out and "bicgstab" in out
    table = pd.read_csv(target, index_col=0)
    assert list(table.columns[1:3]) == ["now", "exports x2"]
    A = bio.bea_economy(71).A.toarray()
    x = np.linalg.solve(np.eye(71) - A, demand.to_numpy())
    np.testing.assert_allclose(table[["now", "exports x2"]].to_numpy(), x, rtol=1e-8)


def test_user_demand_by_product_name(tmp_path, capsys):
    names = bio.bea_product_names(15)
    fd = bio.bea_final_demand(15).sum(axis=1)
    demand = pd.DataFrame({"plan": fd.to_numpy()}, index=names.loc[fd.index].to_numpy())[::-1]
    path = tmp_path / "named.csv"
    demand.to_csv(path)
    rc, out, err = _run(capsys, "--level", "15", "--demand", str(path), "--all")
    assert rc == 0, err
    assert "15 products" in out and "31G" in out


@pytest.mark.parametrize(
    "content, needle",
    [
        ("product,plan\n111CA,abc\n", "not a finite number"),  # and products missing: checked after labels
        ("", "empty"),
        ("product\n111CA\n", "no plan columns"),
        ("product,plan\nNOPE,1\n", "NOPE"),
        ("product,plan\n111CA,1\n", "missing"),
    ],
    ids=["non-numeric", "empty", "no-plans", "unknown-product", "missing-products"],
)
def test_bad_demand_file_exits_2_with_one_line(tmp_path, capsys, content, needle):
    if needle == "not a finite number":  # a complete file with one bad cell
        codes = bio.bea_product_names(71).index
        content = "product,plan\n" + "".join(f"{c},{'abc' if c == '211' else 1}\n" for c in codes)
    path = tmp_path / "demand.csv"
    path.write_text(content)
    rc, out, err = _run(capsys, "--demand", str(path))
    assert rc == 2
    assert out == ""
    assert err.startswith("bigplan: error:") and err.count("\n") == 1
    assert needle in err and "Traceback" not in err
    if needle == "not a finite number":
        assert "'211'" in err and "'abc'" in err and "demand.csv" in err


def test_missing_demand_file_exits_2(tmp_path, capsys):
    rc, out, err = _run(capsys, "--demand", str(tmp_path / "nothing.csv"))
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "nothing.csv" in err


def test_bad_arguments(capsys):
    rc, _, err = _run(capsys, "--rtol", "-1")
    assert rc == 2 and "--rtol" in err
    rc, _, err = _run(capsys, "--level", "42")
    assert rc == 2
    rc, _, err = _run(capsys, "--top", "5", "--all")
    assert rc == 2


def test_level_15_top(capsys):
    rc, out, err = _run(capsys, "--level", "15", "--top", "4", "--method", "neumann")
    assert rc == 0, err
    codes = set(bio.bea_product_names(15).index)
    rows = [line for line in out.splitlines() if line[:7].strip() in codes]
    assert len(rows) == 4 and rows[0].startswith("FIRE ")
    assert "neumann" in out


def test_python_dash_m():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "bigplan", "--top", "3"], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Summary" in proc.stdout and TOTAL_COMPENSATION in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "bigplan", "--demand", "/no/such/file.csv"], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=120)
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1


# --------------------------------------------------------------------------- issue 14 regressions


@pytest.mark.parametrize("rtol", ["2", "1", "inf", "nan", "0"])
def test_rtol_of_one_or_more_is_refused_never_converged(capsys, rtol):
    rc, out, err = _run(capsys, "--level", "15", "--rtol", rtol)
    assert rc == 2
    assert "converged" not in out and out == ""
    assert "--rtol" in err and "(0, 1)" in err


def test_csv_dash_writes_the_table_to_stdout(capsys):
    rc, out, err = _run(capsys, "--level", "15", "--csv", "-")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("product,name,baseline") and len(lines) == 16
    assert "Summary" in err and "Summary" not in out  # the report moves to standard error


def test_csv_refuses_a_symlink_and_keeps_it(tmp_path, capsys):
    real = tmp_path / "real.csv"
    real.write_text("keep me\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    rc, _, err = _run(capsys, "--level", "15", "--csv", str(link))
    assert rc == 2 and "symbolic link" in err and err.count("\n") == 1
    assert link.is_symlink() and real.read_text() == "keep me\n"


def test_csv_refuses_a_fifo(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    rc, _, err = _run(capsys, "--level", "15", "--csv", str(fifo))
    assert rc == 2 and "not a regular file" in err
    assert not fifo.is_file() and fifo.exists()


def test_write_csv_atomic_refuses_a_device():
    from bigplan.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match="regular file"):
        cli.write_csv_atomic(pd.DataFrame({"x": [1.0]}), "/dev/null")


def test_overwritten_csv_keeps_its_permissions(tmp_path, capsys):
    target = tmp_path / "plans.csv"
    target.write_text("old\n")
    os.chmod(target, 0o644)
    rc, _, err = _run(capsys, "--level", "15", "--csv", str(target))
    assert rc == 0, err
    assert (target.stat().st_mode & 0o777) == 0o644
    assert target.read_text().startswith("product,")


def test_new_csv_gets_umask_permissions(tmp_path, capsys):
    target = tmp_path / "new.csv"
    old = os.umask(0o022)
    try:
        rc, _, err = _run(capsys, "--level", "15", "--csv", str(target))
    finally:
        os.umask(old)
    assert rc == 0, err
    assert (target.stat().st_mode & 0o777) == 0o644


def test_duplicate_plan_names_are_an_error(tmp_path, capsys):
    fd = bio.bea_final_demand(15).sum(axis=1)
    path = tmp_path / "dup.csv"
    rows = ["product,p,p"] + [f"{k},{v},{v}" for k, v in fd.items()]
    path.write_text("\n".join(rows) + "\n")
    rc, _, err = _run(capsys, "--level", "15", "--demand", str(path))
    assert rc == 2 and "duplicated plan names" in err and "p.1" not in err


# --------------------------------------------------------------------------- subcommands (issue 10)

import json

from bigplan._cli.inputs import synthetic_economy


def _json(capsys, *argv):
    rc, out, err = _run(capsys, *[str(a) for a in argv], "--json")
    assert rc == 0, err
    return json.loads(out)


def test_values_subcommand_matches_dense_solve(tmp_path, capsys):
    out = tmp_path / "values.csv"
    summary = _json(capsys, "values", "-e", "bea:15", "-o", out)
    assert summary["converged"] and summary["labour_kinds"] == ["compensation"]
    econ = bio.bea_economy(15)
    v = np.linalg.solve((np.eye(15) - econ.A.toarray()).T, econ.labour.reshape(-1))
    table = pd.read_csv(out, index_col=0)
    assert list(table.index) == list(econ.labels)
    np.testing.assert_allclose(table["compensation"].to_numpy(), v, rtol=1e-9)
    rc, text, _ = _run(capsys, "values", "-e", "bea:15", "--top", "3")
    assert rc == 0 and "the 3 highest" in text
    rc, text, _ = _run(capsys, "values", "-e", "bea:15", "-o", "-")
    assert rc == 0 and text.splitlines()[0] == "product,compensation" and len(text.splitlines()) == 16


def _g_star(n: int) -> float:
    """g* independently: 1 / Perron root of (I - A - B diag(delta))^{-1} B, dense."""
    e = synthetic_economy(n)
    A, B = e.A.toarray(), e.capital.toarray()
    M = np.linalg.solve(np.eye(n) - A - B * 0.05, B)
    return 1.0 / max(np.linalg.eigvals(M).real)


def test_dynamic_growth_frontier_and_compare(tmp_path, capsys):
    g = _g_star(60)
    growth = _json(capsys, "dynamic", "growth", "-e", "synthetic:60", "-o", tmp_path / "p.csv")
    assert growth["lower"] <= g * (1 + 1e-9) and growth["upper"] >= g * (1 - 1e-9)
    np.testing.assert_allclose(growth["rate"], g, rtol=1e-5)
    props = pd.read_csv(tmp_path / "p.csv", index_col=0)["proportion"]
    assert props.min() >= 0 and abs(props.sum() - 1) < 1e-9

    front = _json(capsys, "dynamic", "frontier", "-e", "synthetic:60", "--points", "4", "-o", tmp_path / "f.csv")
    np.testing.assert_allclose(front["max_growth_rate"], g, rtol=1e-5)
    table = pd.read_csv(tmp_path / "f.csv", index_col=0)
    assert len(table) == front["points"] == 4
    assert table["consumption_now"].is_monotonic_decreasing and table["growth_rate"].iloc[-1] < g

    rep = _json(capsys, "dynamic", "compare", "-e", "synthetic:60", "--proposal", "slow:growth=0.01",
                "--proposal", "fast:investment_share=0.3", "--proposal", "public:growth=0.02,public_share=0.1")
    assert list(rep["proposals"]) == ["slow", "fast", "public"]
    asked = {name: {k: m.get(f"balanced_{k}", m[k]) for k in ("growth_rate", "investment_share")}
             for name, m in rep["proposals"].items()}  # what was asked for (a report planned from the present
    assert asked["slow"]["growth_rate"] == pytest.approx(0.01)  # adds the path to it)
    assert asked["fast"]["investment_share"] == pytest.approx(0.3)
    assert rep["proposals"]["public"]["public_share"] == pytest.approx(0.1)
    assert asked["fast"]["growth_rate"] > asked["slow"]["growth_rate"]
    rc, _, err = _run(capsys, "dynamic", "compare", "-e", "synthetic:60", "--proposal", "bad:speed=3")
    assert rc == 2 and "speed" in err


def test_dynamic_plan_balances(tmp_path, capsys):
    e = synthetic_economy(40)
    out, inv = tmp_path / "x.csv", tmp_path / "n.csv"
    s = _json(capsys, "dynamic", "plan", "-e", "synthetic:40", "-T", "4", "--growth", "0.02", "-o", out)
    assert s["horizon"] == 4 and s["feasible"] and s["max_balance_residual"] < 1e-8
    _json(capsys, "dynamic", "plan", "-e", "synthetic:40", "-T", "4", "--growth", "0.02", "--what", "new_capacity",
          "-o", inv)
    X, N = pd.read_csv(out, index_col=0).to_numpy(), pd.read_csv(inv, index_col=0).to_numpy()
    c = np.ones(40) * 1.02 ** np.arange(4)[:, None]  # consumption: ones growing 2 % a period
    A, B = e.A.toarray(), e.capital.toarray()
    balance = X - X @ A.T - N @ B.T - c  # x_t = A x_t + B N_t + c_t
    assert np.abs(balance).max() < 1e-7 * np.abs(X).max()
    rc, _, err = _run(capsys, "dynamic", "growth", "-e", "bea:15")
    assert rc == 2 and "capital" in err


def test_store_subcommands(tmp_path, capsys):
    st = tmp_path / "st"
    assert _json(capsys, "store", "init", st, "-e", "bea:15", "--author", "office", "--reason", "first")["version"] == 1
    changes = tmp_path / "ch.csv"
    changes.write_text("kind,row,col,value\nA,31G,FIRE,0.06\nlabour,FIRE,,0.5\n")
    s = _json(capsys, "store", "commit", st, "--changes", changes, "--author", "council 7", "--reason", "furnace")
    assert s["version"] == 2 and s["changes"] == 2
    diff_csv = tmp_path / "diff.csv"
    _json(capsys, "store", "diff", st, "1", "2", "-o", diff_csv)
    diff = pd.read_csv(diff_csv, index_col=0)
    econ = bio.bea_economy(15)
    row = diff[diff["kind"] == "A"].iloc[0]
    assert (row["row"], row["col"], row["new"]) == ("31G", "FIRE", 0.06)
    i, j = econ.labels.get_loc("31G"), econ.labels.get_loc("FIRE")
    assert row["old"] == pytest.approx(econ.A.toarray()[i, j])
    versions = _json(capsys, "store", "versions", st)
    assert versions["head"] == 2

    plans = tmp_path / "plans.csv"
    fd = bio.bea_final_demand(15).sum(axis=1)
    pd.DataFrame({"base": fd, "more": 1.1 * fd}).to_csv(plans)
    assert _json(capsys, "store", "plans", st, "--plans", plans, "--author", "planner")["added"] == ["base", "more"]
    _json(capsys, "store", "replan", st)  # first solve of the plans
    changes.write_text("row,col,value\n31G,FIRE,0.09\n")  # kind defaults to A
    assert _json(capsys, "store", "commit", st, "--changes", changes, "--author", "c", "--reason", "r")["version"] == 3
    rep = _json(capsys, "store", "replan", st, "--threshold", "1e-6")
    assert rep["converged"] and rep["plans"] == 2 and rep["moved"] >= 0  # (the commit may have re-planned already)
    from bigplan.inventory import open_store

    with open_store(st) as store:
        new = store.economy()
        got = store.outputs()
    x = np.linalg.solve(np.eye(15) - new.A.toarray(), np.column_stack([fd.reindex(new.labels), 1.1 * fd.reindex(new.labels)]))
    np.testing.assert_allclose(got[["base", "more"]].to_numpy(), x, rtol=1e-8)

    # bad change files change nothing
    for content, needle in [("kind,row,col,value\nsteel,31G,FIRE,1\n", "unknown kind"),
                            ("kind,row,col,value\nA,31G,FIRE,abc\n", "not a number"),
                            ("kind,row,col,value\nA,NOPE,FIRE,0.1\n", "NOPE")]:
        changes.write_text(content)
        rc, _, err = _run(capsys, "store", "commit", str(st), "--changes", str(changes), "--author", "a",
                          "--reason", "b")
        assert rc == 2 and needle in err, err
    assert _json(capsys, "store", "versions", st)["head"] == 3
    rc, _, err = _run(capsys, "store", "versions", str(tmp_path / "none"))
    assert rc == 2 and "store init" in err
    rc, _, err = _run(capsys, "store", "init", str(st), "-e", "bea:15", "--author", "a", "--reason", "b")
    assert rc == 2 and "not empty" in err


def test_info(capsys):
    s = _json(capsys, "info")
    from bigplan import __version__
    from bigplan._kernel_sigs import SIGNATURES, kernels_path
    from bigplan.backend import available_backends

    assert s["bigplan"] == __version__ and s["backends"] == available_backends()
    assert s["devices"][0]["backend"] == "numpy" and s["devices"][0]["cores"] >= 1
    assert s["kernels"]["path"] == kernels_path()
    if s["kernels"]["loaded"]:
        assert s["kernels"]["functions"] == sorted(SIGNATURES)
    rc, out, _ = _run(capsys, "info")
    assert rc == 0 and "backends:" in out and "kernels:" in out


def test_choose(tmp_path, capsys, monkeypatch):
    pytest.importorskip("bigplan.activity")
    inputs, procs = tmp_path / "in.csv", tmp_path / "pr.csv"
    inputs.write_text("process,product,amount\nold,corn,0.1\nold,iron,0.2\nnew,corn,0.05\nnew,iron,0.4\n"
                      "forge,corn,0.3\nforge,iron,0.1\n")
    procs.write_text("process,makes,labour\nold,corn,1.0\nnew,corn,0.5\nforge,iron,2.0\n")
    out = tmp_path / "choice.csv"
    s = _json(capsys, "choose", "--inputs", inputs, "--processes", procs, "-o", out)

    def values(corn):  # labour values of the economy using one corn process, dense
        a = {"old": (0.1, 0.2, 1.0), "new": (0.05, 0.4, 0.5)}[corn]
        A = np.array([[a[0], 0.3], [a[1], 0.1]])
        return np.linalg.solve((np.eye(2) - A).T, np.array([a[2], 2.0]))

    best = min(("old", "new"), key=lambda c: values(c).sum())
    assert np.all(values(best) <= values({"old": "new", "new": "old"}[best]) + 1e-12)
    table = pd.read_csv(out, index_col=0)
    assert table.loc["corn", "process"] == best and table.loc["iron", "process"] == "forge"
    np.testing.assert_allclose(table.loc[["corn", "iron"], "cost"].to_numpy(), values(best), rtol=1e-8)
    assert s["converged"] and sorted(s["chosen"]) == sorted([best, "forge"])

    monkeypatch.setitem(sys.modules, "bigplan.activity", None)
    rc, _, err = _run(capsys, "choose", "--inputs", str(inputs), "--processes", str(procs))
    assert rc == 6 and "bigplan.activity" in err


def test_default_job_consumption_plan_carries_its_margins(tmp_path):
    """Issue 10: "consumption +5 %" in the main job raises retail and wholesale output with the goods."""
    import pandas as pd

    from bigplan.cli import main

    out = tmp_path / "job.csv"
    assert main(["--csv", str(out)]) == 0
    table = pd.read_csv(out, dtype={"product": str}).set_index("product")
    growth = table["consumption+5%"] / table["baseline"] - 1.0
    for trade in ("42", "4A0"):  # wholesale trade, other retail
        assert growth[trade] > 0.02, (trade, growth[trade])
    # and the same plan built from the consumption column without margins leaves retail nearly flat
    fd = bigplan.io.bea_final_demand()
    econ = bigplan.io.bea_economy()
    y = fd.sum(axis=1)
    sol = bigplan.solve_output(econ, pd.DataFrame({"b": y, "c": y + 0.05 * fd["consumption"]}))
    flat = sol.to_frame()
    assert flat.loc["4A0", "c"] / flat.loc["4A0", "b"] - 1.0 < 0.005
