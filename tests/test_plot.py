"""Pictures (bigplan.plot) and the CLI's --plot, on matplotlib's Agg backend."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import bigplan
from bigplan import cli, dynamic, plot
from bigplan.errors import InvalidOptionError, MissingDependencyError

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def small():
    return bigplan.Economy(np.array([[0.2, 0.3, 0.0], [0.1, 0.4, 0.1], [0.0, 0.1, 0.2]]), labour=[1.0, 2.0, 0.5],
                           labels=["food", "tools", "homes"], capital=np.array([[0, 0, 0], [1.0, 1.0, 0.5],
                                                                                  [0, 0, 0.2]]),
                           labour_supply=100.0)


def _bar_widths(ax) -> dict:
    """Bar lengths by (label, legend entry) from the drawn rectangles."""
    labels = [t.get_text() for t in ax.get_yticklabels()]
    out = {}
    for container in ax.containers:
        for label, patch in zip(labels, container.patches):
            out[(label, container.get_label())] = patch.get_width()
    return out


def test_labour_by_product_equals_labour_times_output(small):
    X = np.linalg.solve(np.eye(3) - small.A.toarray(), np.array([[1.0, 2.0], [1.0, 0.0], [3.0, 1.0]]))
    frame = pd.DataFrame(X, index=small.labels, columns=["a", "b"])
    fig = plot.labour_by_sector(small, frame)
    widths = _bar_widths(fig.axes[0])
    lab = np.array([1.0, 2.0, 0.5])
    for i, p in enumerate(small.labels):
        for j, c in enumerate(["a", "b"]):
            assert widths[(p, c)] == pytest.approx(lab[i] * X[i, j])
    # by sector: sums over the products of each sector
    fig = plot.labour_by_sector(small, frame, sectors=pd.Series({"food": "farm", "tools": "industry",
                                                                 "homes": "industry"}))
    widths = _bar_widths(fig.axes[0])
    assert widths[("industry", "a")] == pytest.approx(lab[1] * X[1, 0] + lab[2] * X[2, 0])
    assert widths[("farm", "b")] == pytest.approx(lab[0] * X[0, 1])


def test_labour_by_sector_top_and_bad_input(small):
    fig = plot.labour_by_sector(small, np.ones(3), top=2)
    assert len(fig.axes[0].get_yticklabels()) == 2
    with pytest.raises(InvalidOptionError, match="kind"):
        plot.labour_by_sector(small, np.ones(3), kind=3)
    with pytest.raises(bigplan.LabelError):
        plot.labour_by_sector(small, pd.Series({"food": 1.0, "tools": 1.0}))
    with pytest.raises(InvalidOptionError, match="labour"):
        plot.labour_by_sector(bigplan.Economy(small.A), np.ones(3))


def test_frontier_and_proposals_by_sector(small):
    front = dynamic.frontier(small, [1.0, 1.0, 1.0], points=4)
    fig = plot.frontier(front)
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), 100 * front.sort_values("growth_rate")["growth_rate"])
    np.testing.assert_allclose(line.get_ydata(), front.sort_values("growth_rate")["consumption_now"])
    rep = dynamic.compare(small, {"consume": {"investment_share": 0.05}, "grow": {"investment_share": 0.3}},
                          [1.0, 1.0, 1.0], sectors=pd.Series({"food": "farm", "tools": "industry",
                                                              "homes": "building"}))
    fig = plot.proposals_by_sector(rep)
    widths = _bar_widths(fig.axes[0])
    for sector in rep.sector_output.index:
        assert widths[(sector, "grow")] == pytest.approx(rep.sector_output.loc[sector, "grow"])
    fig = plot.proposals_by_sector(rep, relative_to="consume")
    widths = _bar_widths(fig.axes[0])
    so = rep.sector_output
    assert widths[("industry", "grow")] == pytest.approx(100 * (so.loc["industry", "grow"] /
                                                                so.loc["industry", "consume"] - 1))
    with pytest.raises(InvalidOptionError, match="relative_to"):
        plot.proposals_by_sector(rep, relative_to="nope")


def test_missing_matplotlib_is_a_typed_error(monkeypatch, small):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'bigplan\[plot\]'"):
        plot.labour_by_sector(small, np.ones(3))
    with pytest.raises(ImportError):  # still an ImportError for callers that catch that
        plot.frontier(pd.DataFrame())


def test_cli_plot_files(tmp_path, capsys):
    target = tmp_path / "labour.png"
    rc = cli.main(["solve", "-e", "bea:15", "-o", str(tmp_path / "o.csv"), "--plot", str(target), "-q"])
    assert rc == 0, capsys.readouterr().err
    assert target.read_bytes()[:8] == PNG
    rc = cli.main(["dynamic", "frontier", "-e", "synthetic:30", "--points", "3", "--plot", str(tmp_path / "f.svg")])
    assert rc == 0 and (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    rc = cli.main(["dynamic", "compare", "-e", "synthetic:30", "--proposal", "a:growth=0.01", "--proposal",
                   "b:growth=0.03", "--plot", str(tmp_path / "c.png")])
    assert rc == 0 and (tmp_path / "c.png").read_bytes()[:8] == PNG
    # an existing picture needs --overwrite; a picture format matplotlib lacks is bad input
    capsys.readouterr()
    rc = cli.main(["solve", "-e", "bea:15", "-o", str(tmp_path / "o2.csv"), "--plot", str(target)])
    assert rc == 2 and "--overwrite" in capsys.readouterr().err and not (tmp_path / "o2.csv").exists()
    rc = cli.main(["dynamic", "frontier", "-e", "synthetic:30", "--points", "3", "--plot", str(tmp_path / "f.xyz")])
    assert rc == 2 and "xyz" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary files left
