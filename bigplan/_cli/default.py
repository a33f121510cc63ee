"""The default job: alternative plans for the embedded BEA 2021 US economy (``bigplan`` without a subcommand).

It loads the packaged BEA economy, builds three plans from this year's final
demand (or reads ``--demand``), solves them as one batch, computes labour
values, and prints the table and a summary.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from ..errors import InvalidDemandError, LabelError
from .output import write_csv_atomic

__all__ = ["DEFAULT_TOP", "default_plans", "plan_table", "read_demand", "run_default"]

#: Rows shown unless ``--top``/``--all`` say otherwise.
DEFAULT_TOP = 20
_NAME_WIDTH = 30


# --------------------------------------------------------------------------- plans


def default_plans(final_demand: pd.DataFrame) -> pd.DataFrame:
    """The built-in alternative plans from final demand by category.

    Parameters
    ----------
    final_demand : pandas.DataFrame
        Products x categories, as :func:`bigplan.io.bea_final_demand`; the command passes
        ``margins="distribute"``, so that "consumption +5 %" also buys the trade and transport
        that deliver the goods.

    Returns
    -------
    pandas.DataFrame
        Products x plans: ``baseline`` (total final demand), ``consumption+5%``
        and ``investment+10%``.
    """
    base = final_demand.sum(axis=1)
    return pd.DataFrame(
        {
            "baseline": base,
            "consumption+5%": base + 0.05 * final_demand["consumption"],
            "investment+10%": base + 0.10 * final_demand["investment"],
        },
        index=final_demand.index,
    )


def header_names(path: Path) -> list[str] | None:
    """The plan names of a CSV file's header as written (None when it cannot be read)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            row = next(csv.reader(fh), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None if row is None else [str(c).strip() for c in row]


def read_demand(path: str | os.PathLike, labels: pd.Index, names: pd.Series) -> pd.DataFrame:
    """Read a user's final-demand table (products x plans) and align it to the economy.

    Parameters
    ----------
    path : str or os.PathLike
        CSV file: first column product codes (or full product names), a header
        row naming the plans, numbers in millions of US dollars.
    labels : pandas.Index
        The economy's product codes.
    names : pandas.Series
        Product names indexed by code.

    Returns
    -------
    pandas.DataFrame
        Products (in the economy's order) x plans, float.

    Raises
    ------
    FileNotFoundError
    InvalidDemandError
        Not a readable CSV, no plan columns, non-numeric or non-finite cells.
    LabelError
        Duplicated, unknown or missing products.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"demand file not found: {p}")
    header = header_names(p)
    try:
        raw = pd.read_csv(p, index_col=0, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InvalidDemandError(f"{p}: the demand file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidDemandError(f"{p}: cannot read the demand file as CSV ({str(exc).strip()})") from None
    if raw.shape[1] == 0:
        raise InvalidDemandError(f"{p}: no plan columns (expected: product, then one column per plan)")
    if raw.shape[0] == 0:
        raise InvalidDemandError(f"{p}: no product rows")
    index = pd.Index([str(s).strip() for s in raw.index])
    by_name = {str(v).strip().lower(): k for k, v in names.items()}
    if not index.isin(labels).all() and all(s.lower() in by_name for s in index):
        index = pd.Index([by_name[s.lower()] for s in index])  # the file names products by their full names
    if not index.is_unique:
        raise LabelError(f"{p}: product(s) listed twice: {list(index[index.duplicated()][:5])}")
    unknown = index.difference(labels)
    if len(unknown):
        raise LabelError(
            f"{p}: {len(unknown)} product(s) the economy does not have, e.g. {list(unknown[:5])} "
            f"(use codes like {list(labels[:3])})"
        )
    missing = labels.difference(index)
    if len(missing):
        raise LabelError(f"{p}: {len(missing)} product(s) missing, e.g. {list(missing[:5])}; give 0 for none")
    raw.index = index
    cols = [str(c).strip() for c in raw.columns]
    if header is not None and len(header) == len(cols) + 1:
        cols = header[1:]  # pandas renames duplicated names ("p", "p.1"): check the names as written
    if len(set(cols)) != len(cols):
        raise InvalidDemandError(f"{p}: duplicated plan names in the header: {cols}")
    stripped = raw.apply(lambda c: c.astype(str).str.strip())
    values = stripped.apply(pd.to_numeric, errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.to_numpy().any():
        r, c = np.argwhere(bad.to_numpy())[0]
        raise InvalidDemandError(
            f"{p}: not a finite number in row {index[r]!r}, column {cols[c]!r}: {stripped.iat[r, c]!r}"
        )
    values.columns = pd.Index(cols, name="plan")
    return values.astype(float).reindex(labels)


# --------------------------------------------------------------------------- output


def plan_table(output: pd.DataFrame, values: np.ndarray, labour: np.ndarray, names: pd.Series) -> pd.DataFrame:
    """The full result table: name, output per plan, labour coefficient and labour value per product."""
    table = pd.DataFrame({"name": names.reindex(output.index).to_numpy()}, index=output.index)
    for plan in output.columns:
        table[str(plan)] = output[plan].to_numpy()
    table["labour_coefficient"] = labour
    table["labour_value"] = values
    table.index.name = "product"
    return table


def _short(name: str, width: int = _NAME_WIDTH) -> str:
    name = " ".join(str(name).split())
    return name if len(name) <= width else name[: width - 3].rstrip() + "..."


def _fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _print_report(out: TextIO, *, title: str, table: pd.DataFrame, plans: list[str], shown: int,
                  labour_needed: np.ndarray, sol, val, timings: dict[str, float], csv_path: Path | None) -> None:
    w = lambda s="": print(s, file=out)
    n = len(table)
    w(title)
    w()
    first = plans[0]
    order = table[first].abs().sort_values(ascending=False, kind="stable").index
    rows = table.loc[order[:shown]] if shown < n else table.loc[order]
    pw = [max(14, len(p)) for p in plans]
    head = f"{'code':<7} {'product':<{_NAME_WIDTH}} " + " ".join(f"{p:>{k}}" for p, k in zip(plans, pw))
    head += f" {'labour value':>12}"
    w(head)
    w("-" * len(head))
    for code, r in rows.iterrows():
        cells = " ".join(f"{r[p]:>{k},.0f}" for p, k in zip(plans, pw))
        w(f"{code!s:<7} {_short(r['name']):<{_NAME_WIDTH}} {cells} {r['labour_value']:>12.4f}")
    w("-" * len(head))
    totals = " ".join(f"{table[p].sum():>{k},.0f}" for p, k in zip(plans, pw))
    w(f"{'':<7} {'total, all ' + str(n) + ' products':<{_NAME_WIDTH}} {totals}")
    if shown < n:
        w(f"(the {shown} of {n} products with the largest output in plan '{first}'; --all shows every one, "
          "--csv writes them)")
    w("Gross output in millions of US dollars; labour value = compensation of employees embodied per dollar,")
    w("directly and through all inputs.")
    w()
    w("Summary")
    w("-------")
    w("Labour needed per plan (compensation of employees, millions of US dollars):")
    lw = max(len(p) for p in plans)
    base = labour_needed[0]
    for i, p in enumerate(plans):
        change = "" if i == 0 else f"  ({(labour_needed[i] / base - 1) * 100:+.2f} % vs {first})"
        w(f"  {p:<{lw}}  {labour_needed[i]:>16,.0f}{change}")
    res = np.atleast_1d(np.asarray(sol.residual, dtype=float))
    state = "converged" if sol.converged else "NOT converged"
    w(f"Output solve:   {len(plans)} plans in one batch, method {sol.method}, backend {sol.backend}, "
      f"{sol.iterations} iterations, max relative residual {res.max():.2e}, {state}")
    if getattr(sol, "reason", ""):
        w(f"                ({sol.reason})")
    vres = float(np.max(np.atleast_1d(np.asarray(val.residual, dtype=float))))
    vstate = "converged" if val.converged else "NOT converged"
    w(f"Labour values:  method {val.method}, backend {val.backend}, {val.iterations} iterations, "
      f"relative residual {vres:.2e}, {vstate}")
    w("Time:           " + ", ".join(f"{k} {_fmt_ms(v)}" for k, v in timings.items()))
    if csv_path is not None:
        w(f"Full table written to {csv_path}")




def run_default(args: argparse.Namespace, out: TextIO) -> int:
    """Run the default job with the parsed top-level options; print to ``out``."""
    from .. import io as bio
    from ..static import labour_values, solve_output

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    economy = bio.bea_economy(args.level)
    names = bio.bea_product_names(args.level)
    if args.demand is None:
        demand = default_plans(bio.bea_final_demand(args.level, margins="distribute"))
        source = "2021 final demand: baseline, personal consumption +5 %, private investment +10 %"
    else:
        demand = read_demand(args.demand, economy.labels, names)
        source = f"final demand from {args.demand}"
    demand = demand.reindex(economy.labels)
    timings["load"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sol = solve_output(economy, demand, backend=args.backend, method=args.method, rtol=args.rtol)
    timings["output solve"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    val = labour_values(economy, backend=args.backend, method=args.method, rtol=args.rtol)
    timings["labour values"] = time.perf_counter() - t0

    plans = [str(c) for c in demand.columns]
    output = np.asarray(sol.output, dtype=float).reshape(economy.n, len(plans))
    values = np.asarray(val.values, dtype=float).reshape(-1, economy.n)[0]
    labour_coef = np.asarray(economy.labour, dtype=float).reshape(-1, economy.n)[0]
    labour_needed = np.asarray(sol.labour, dtype=float).reshape(-1, len(plans))[0]
    table = plan_table(pd.DataFrame(output, index=economy.labels, columns=plans), values, labour_coef, names)

    csv_path = None
    if args.csv:
        t0 = time.perf_counter()
        csv_path = write_csv_atomic(table, args.csv, stdout=out)
        timings["csv"] = time.perf_counter() - t0
        if csv_path == "-":  # standard output carries the table; the report goes to standard error
            out, csv_path = sys.stderr, None

    shown = economy.n if args.all else min(args.top, economy.n)
    title = f"bigplan: BEA 2021 US economy, {economy.n} products; {len(plans)} plans ({source})"
    _print_report(out, title=title, table=table, plans=plans, shown=shown, labour_needed=labour_needed,
                  sol=sol, val=val, timings=timings, csv_path=csv_path)
    return 0
