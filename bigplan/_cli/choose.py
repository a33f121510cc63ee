"""``bigplan choose``: the choice of technique (:mod:`bigplan.activity`, imported only when asked for).

The technology comes in two long CSV/parquet tables, as
:meth:`bigplan.activity.Technology.from_frame` reads them: ``--inputs``
(columns ``process, product, amount``) and ``--processes`` (columns
``process, makes``, one column per labour kind, optional ``capacity``).
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from ..errors import DataFileError, InvalidOptionError, MissingDependencyError
from .output import check_target, table_format, write_table

__all__ = ["add_parser", "run_choose"]


def add_parser(sub, kw: dict, out) -> None:
    """Register ``bigplan choose``."""
    c = sub.add_parser("choose", help="choice of technique: the cheapest process per product", **kw,
                       description=__doc__.split("\n\n", 1)[1])
    c.add_argument("--inputs", required=True, metavar="FILE", help="process, product, amount (CSV or parquet)")
    c.add_argument("--processes", required=True, metavar="FILE",
                   help="process, makes, one column per labour kind, optional capacity (CSV or parquet)")
    c.add_argument("--weights", metavar="W1,W2,...", help="weights of the labour kinds (needed when more than one)")
    c.add_argument("--backend", choices=("auto", "numpy", "cupy", "jax"), default="auto")
    out(c, False, "the choice: one row per product")
    c.set_defaults(func=run_choose)


def _read(path: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        if p.suffix.lower() == ".parquet":
            return pd.read_parquet(p)
        return pd.read_csv(p)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DataFileError(f"{path}: cannot read the table ({str(exc).strip()[:200]})", path=p) from None


def run_choose(args: argparse.Namespace, out: TextIO) -> tuple[int, dict]:
    """Choose the cheapest process per product and write the choice."""
    try:
        activity = importlib.import_module("bigplan.activity")
    except ModuleNotFoundError:
        raise MissingDependencyError("bigplan choose needs bigplan.activity (the choice of technique), which "
                                     "this bigplan does not have; update bigplan") from None
    if args.out and str(args.out) != "-":
        table_format(args.out)
        check_target(args.out, overwrite=args.overwrite)
    weights = None
    if args.weights:
        try:
            weights = np.array([float(x) for x in args.weights.split(",")])
        except ValueError:
            raise InvalidOptionError(f"--weights {args.weights!r}: give numbers separated by commas") from None
    tech = activity.Technology.from_frame(_read(args.inputs), _read(args.processes))
    res = activity.choose_technique(tech, weights=weights, backend=args.backend)
    table = res.to_frame()
    summary = {"command": "choose", "products": int(tech.n), "processes": int(tech.n_processes),
               "converged": bool(res.converged), "iterations": int(res.iterations),
               "certificate": float(res.certificate), "chosen": [str(p) for p in res.process_labels]}
    written = []
    if args.out:
        r = write_table(table, args.out, overwrite=args.overwrite, stdout=out)
        if r != "-":
            written.append(str(r))
    summary["written"] = written
    if not args.json and str(args.out) != "-":
        print(f"bigplan choose: {tech.n} products, {tech.n_processes} processes, {res.iterations} policy "
              f"iteration(s), smallest reduced cost {res.certificate:.3g}", file=out)
        print(table.to_string(), file=out)
        for p in written:
            print(f"  wrote {p}", file=out)
    return 0, summary
