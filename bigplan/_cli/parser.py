"""The ``bigplan`` argument parser: the default job's options and one sub-parser per subcommand."""

from __future__ import annotations

import argparse
import math

from .._options import check_rtol
from ..backend import BACKENDS
from ..errors import InvalidOptionError
from .batch import parse_shard
from .default import DEFAULT_TOP
from .exitcodes import epilog

__all__ = ["build_parser"]

METHODS = ("auto", "direct", "bicgstab", "neumann", "refined")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _real(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _rtol(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    try:
        return check_rtol(value, "--rtol")
    except InvalidOptionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def _shard(text: str) -> tuple[int, int]:
    try:
        return parse_shard(text)
    except InvalidOptionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _common(json: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    if json:
        p.add_argument("--json", action="store_true", help="print a machine-readable summary (JSON) on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar (it is off anyway when stderr "
                                                              "is not a terminal)")
    return p


def _solver_options(p: argparse.ArgumentParser, methods=METHODS) -> None:
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="array backend (default auto: a CUDA device if there is one, else NumPy)")
    p.add_argument("--method", choices=methods, default="auto", help="solver method (default auto)")
    p.add_argument("--rtol", type=_rtol, default=1e-10, help="relative residual per plan, in (0, 1) (default 1e-10)")


def _economy(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--economy", "-e", required=required, metavar="E",
                   help="economy: a file or folder (.npz, pymrio folder, .mtx, .parquet, .csv), or bea, bea:15, "
                        "synthetic:N[:SEED]")


def _out(p: argparse.ArgumentParser, required: bool, what: str) -> None:
    p.add_argument("--out", "-o", required=required, metavar="O", help=f"{what} (.parquet, .csv or .npy)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")


def _default_job(p: argparse.ArgumentParser) -> None:
    p.add_argument("--level", type=int, choices=(15, 71), default=71, help="products in the economy (default 71)")
    p.add_argument(
        "--demand", metavar="CSV",
        help="final demand to plan: products x plans (first column product codes or names, one column per plan)",
    )
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="array backend (default auto: a CUDA device if there is one, else NumPy)")
    p.add_argument("--method", choices=METHODS, default="auto",
                   help="solver method (default auto, which says why it chose)")
    p.add_argument("--rtol", type=_rtol, default=1e-10,
                   help="relative residual per plan, in (0, 1) (default 1e-10)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--top", type=_positive_int, default=DEFAULT_TOP, metavar="N",
                       help=f"show the N products with the largest output in the first plan (default {DEFAULT_TOP})")
    shown.add_argument("--all", action="store_true", help="show every product")
    p.add_argument("--csv", metavar="PATH",
                   help="write the full table (every product) to this CSV file ('-': standard output, the "
                        "report then goes to standard error)")


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser of ``bigplan``."""
    from . import choose, dynamic, info, solve, store  # the subcommands' handlers

    p = argparse.ArgumentParser(
        prog="bigplan",
        description=(
            "Leontief plans from the command line.  Without a subcommand: solve alternative plans for the BEA "
            "2021 US economy (71 or 15 products, millions of US dollars): gross output per product and plan, "
            "labour values, and the labour (compensation of employees) each plan needs."
        ),
        epilog="Without --demand the plans are: baseline (2021 final demand), consumption+5%, investment+10%.\n\n"
               + epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _default_job(p)
    sub = p.add_subparsers(dest="command", metavar="COMMAND",
                           title="subcommands (bigplan COMMAND --help for each)")
    common = _common()
    kw = {"parents": [common], "formatter_class": argparse.RawDescriptionHelpFormatter, "epilog": epilog()}

    s = sub.add_parser("solve", help="outputs and labour of every plan, written to a file", **kw,
                       description="Gross output of every product for every plan, and the labour each plan "
                                   "needs (OUT and OUT's stem + .labour + suffix).  --chunk makes the job "
                                   "resumable, --shard splits it for job arrays (join with bigplan merge).")
    _economy(s)
    s.add_argument("--plans", "-p", metavar="P",
                   help="plans: products x plans file (.csv, .parquet), or synthetic:K[:SEED], or default (BEA)")
    _solver_options(s)
    s.add_argument("--chunk", type=_positive_int, metavar="N",
                   help="solve N plans at a time and keep each finished chunk in OUT.parts/: a killed job rerun "
                        "with the same command continues from the last finished chunk")
    s.add_argument("--shard", type=_shard, metavar="i/N", help="solve only the i-th (from 0) of N slices of the plans")
    s.add_argument("--scheduler", metavar="ADDR", help="solve on a Dask cluster (tcp://host:8786)")
    s.add_argument("--plot", metavar="FILE", help="also draw the labour each plan needs by product (e.g. plan.png)")
    _out(s, True, "outputs: products x plans")
    s.set_defaults(func=solve.run_solve)

    v = sub.add_parser("values", help="labour values of every product", **kw,
                       description="Labour values v solving v (I - A) = l, one column per labour kind.")
    _economy(v)
    _solver_options(v)
    v.add_argument("--top", type=_positive_int, default=10, metavar="N", help="products shown (default 10)")
    _out(v, False, "labour values: products x labour kinds ('-': CSV on stdout)")
    v.set_defaults(func=solve.run_values)

    dynamic.add_parser(sub, kw, _economy, _out, _real, _positive_int)
    choose.add_parser(sub, kw, _out)
    store.add_parser(sub, kw, _economy, _solver_options)

    i = sub.add_parser("info", help="version, backends, devices and their memory, compiled kernels", **kw)
    i.set_defaults(func=info.run_info)

    m = sub.add_parser("merge", help="join the outputs of solve --shard i/N", **kw,
                       description="Join shard outputs (each with its OUT.shard.json) into one file, checking "
                                   "that no shard is missing or given twice.")
    m.add_argument("shards", nargs="+", metavar="SHARD",
                   help="the shards' outputs, or their OUT.shard.json files (e.g. results/out-*.shard.json)")
    _out(m, True, "the merged outputs")
    m.set_defaults(func=solve.run_merge)
    return p
