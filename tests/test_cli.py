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
