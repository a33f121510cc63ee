"""Pictures of plans (matplotlib, the optional ``plot`` extra).

Three figures where people would rather look than read:

* :func:`frontier`: consumption now against the yearly growth of consumption
  (a :func:`bigplan.dynamic.frontier` table), with proposals marked;
* :func:`proposals_by_sector`: what each proposal of a
  :func:`bigplan.dynamic.compare` report means for every sector's output;
* :func:`labour_by_sector`: the labour a plan needs, product by product or
  summed by sector.

Every function returns a :class:`matplotlib.figure.Figure` (save it with
``fig.savefig("plan.png")``; the command line's ``--plot FILE`` writes it
atomically).  matplotlib is imported only when a function is called; without
it they raise :class:`~bigplan.errors.MissingDependencyError` naming
``pip install 'bigplan[plot]'``.  On a machine without a display, select the
``Agg`` backend first (``matplotlib.use("Agg")``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._arrays import to_host
from ._inputs import plan_block
from .economy import Economy
from .errors import InvalidOptionError, MissingDependencyError

__all__ = ["frontier", "labour_by_sector", "proposals_by_sector", "pyplot"]


def pyplot():
    """``matplotlib.pyplot``, or :class:`~bigplan.errors.MissingDependencyError` naming the extra to install."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("pictures need matplotlib: pip install 'bigplan[plot]'") from None
    return plt


def _axes(ax, size=(7, 4.5)):
    plt = pyplot()
    if ax is None:
        ax = plt.subplots(figsize=size)[1]
    return ax.figure, ax


def frontier(frontier_frame: pd.DataFrame | None = None, *, report: Any = None, ax=None, annotate: bool = True):
    """Consumption now against consumption growth per year, with proposals marked.

    Parameters
    ----------
    frontier_frame : pandas.DataFrame, optional
        A result of :func:`bigplan.dynamic.frontier`.
    report : bigplan.dynamic.PlanReport, optional
        Proposals (from :func:`bigplan.dynamic.compare`) to mark.
    ax : matplotlib Axes, optional
    annotate : bool
        Label frontier points with their investment shares.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")  # doctest: +SKIP
    >>> import numpy as np, bigplan
    >>> from bigplan import dynamic, plot
    >>> e = bigplan.Economy(np.array([[0.2, 0.3], [0.1, 0.4]]), labour=[1.0, 1.0],
    ...                     capital=np.array([[0.0, 0.0], [1.0, 1.0]]), labour_supply=100.0)
    >>> fig = plot.frontier(dynamic.frontier(e, [1.0, 1.0], points=4))  # doctest: +SKIP
    >>> fig.axes[0].get_xlabel()  # doctest: +SKIP
    'growth of consumption per year (%)'
    """
    pyplot()
    from .dynamic import plot_frontier

    return plot_frontier(frontier_frame, report=report, ax=ax, annotate=annotate)


def _top(frame: pd.DataFrame, top: int) -> pd.DataFrame:
    if top is not None and len(frame) > top:
        order = frame.abs().max(axis=1).sort_values(ascending=False, kind="stable").index[:top]
        frame = frame.loc[order]
    return frame


def _bars(frame: pd.DataFrame, ax, *, xlabel: str, title: str):
    fig, ax = _axes(ax, (7, max(3.0, 0.3 * len(frame) * (1 + 0.3 * (min(frame.shape[1], 4) - 1)) + 1.2)))
    k = frame.shape[1]
    y = np.arange(len(frame))
    h = 0.8 / max(k, 1)
    for j, col in enumerate(frame.columns):
        ax.barh(y + (j - (k - 1) / 2) * h, frame[col].to_numpy(float), height=h, label=str(col))
    ax.set_yticks(y)
    ax.set_yticklabels([str(i)[:40] for i in frame.index], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    if k:
        ax.legend(fontsize=8)
    ax.axvline(0, color="0.3", lw=0.6)
    fig.tight_layout()
    return fig


def proposals_by_sector(report: Any, *, relative_to: str | None = None, top: int = 15, ax=None):
    """What the proposals of a :func:`bigplan.dynamic.compare` report mean for each sector's output.

    Parameters
    ----------
    report : bigplan.dynamic.PlanReport
        Its ``sector_output`` (when ``compare`` was given ``sectors``), else its
        ``output`` by product.
    relative_to : str, optional
        Show each proposal's change against this one (in %) instead of levels.
    top : int
        Sectors (or products) with the largest values shown.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan import dynamic, plot
    >>> e = bigplan.Economy(np.array([[0.2, 0.3], [0.1, 0.4]]), labour=[1.0, 1.0], labels=["food", "tools"],
    ...                     capital=np.array([[0.0, 0.0], [1.0, 1.0]]), labour_supply=100.0)
    >>> rep = dynamic.compare(e, {"consume": {"investment_share": 0.05}, "grow": {"investment_share": 0.3}},
    ...                       [1.0, 0.5])
    >>> fig = plot.proposals_by_sector(rep, relative_to="consume")  # doctest: +SKIP
    """
    frame = report.sector_output if getattr(report, "sector_output", None) is not None else report.output
    what = "sector" if getattr(report, "sector_output", None) is not None else "product"
    frame = frame.astype(float)
    if relative_to is not None:
        if relative_to not in frame.columns:
            raise InvalidOptionError(f"relative_to={relative_to!r} is not a proposal of the report; "
                                     f"choose one of {list(frame.columns)}")
        base = frame[relative_to].where(frame[relative_to] != 0)
        frame = 100 * (frame.drop(columns=[relative_to]).div(base, axis=0) - 1)
        frame = frame.fillna(0.0)
        xlabel = f"output change against {relative_to!r} (%)"
    else:
        xlabel = "gross output, first period"
    return _bars(_top(frame, top), ax, xlabel=xlabel, title=f"Proposals by {what}")


def labour_by_sector(economy: Economy, output: Any, *, sectors: Any = None, names: Any = None, kind: int = 0,
                     top: int = 15, max_plans: int = 6, ax=None):
    """The labour each plan needs, by product (or summed by sector): ``l_j x_j``.

    Parameters
    ----------
    economy : Economy
        With labour coefficients.
    output : array_like (n,) or (n, k), pandas Series or DataFrame
        Gross outputs of one or more plans (e.g. ``solve_output(...).to_frame()``), aligned by label.
    sectors : array_like (n,) or pandas.Series, optional
        Sector of each product; labour is summed by sector.
    names : pandas.Series, optional
        Display names of the products (indexed by label).
    kind : int
        Which labour kind (row of ``economy.labour``).
    top : int
        Products (or sectors) with the most labour shown.
    max_plans : int
        Plans drawn (the first ones; a bar chart of hundreds of plans shows nothing).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan import plot
    >>> e = bigplan.Economy(np.array([[0.1, 0.2], [0.3, 0.1]]), labour=[1.0, 2.0], labels=["a", "b"])
    >>> sol = bigplan.solve_output(e, np.ones(2))
    >>> fig = plot.labour_by_sector(e, sol.to_frame())  # doctest: +SKIP
    """
    if economy.labour is None:
        raise InvalidOptionError("labour_by_sector needs an economy with labour coefficients")
    lab = np.atleast_2d(np.asarray(to_host(economy.labour), dtype=float))
    if not 0 <= int(kind) < lab.shape[0]:
        raise InvalidOptionError(f"kind={kind} is not a labour kind of this economy (0..{lab.shape[0] - 1})")
    block = plan_block(economy, output, "output", host=True)
    X = np.asarray(to_host(block.values), dtype=float).reshape(economy.n, -1)
    cols = list(block.names) if block.names is not None else [f"plan {j}" for j in range(X.shape[1])]
    labels = economy.labels if economy.labels is not None else pd.RangeIndex(economy.n)
    frame = pd.DataFrame(lab[int(kind)][:, None] * X, index=labels, columns=cols)
    what = "product"
    if sectors is not None:
        sec = sectors.reindex(labels).to_numpy() if isinstance(sectors, pd.Series) else np.asarray(sectors)
        if sec.shape != (economy.n,):
            raise InvalidOptionError(f"sectors must give one sector per product ({economy.n}), got {sec.shape}")
        frame = frame.groupby(sec, sort=True).sum()
        what = "sector"
    elif names is not None:
        frame.index = [f"{lbl} {str(names.get(lbl, ''))[:30]}".strip() for lbl in frame.index]
    kind_name = economy.labour_names[int(kind)] if economy.labour_names is not None else f"labour {kind}"
    units = getattr(economy, "labour_units", None)
    unit = f", {units[int(kind)]}" if units else ""
    title = f"Labour by {what}"
    if frame.shape[1] > max_plans:
        title += f" (the first {max_plans} of {frame.shape[1]} plans)"
        frame = frame.iloc[:, :max_plans]
    return _bars(_top(frame, top), ax, xlabel=f"labour needed ({kind_name}{unit})", title=title)
