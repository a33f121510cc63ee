"""``bigplan dynamic growth|plan|frontier|compare``: the dynamic model from the command line.

Built on :mod:`bigplan.dynamic` as it is: :func:`~bigplan.dynamic.max_growth_rate`,
:func:`~bigplan.dynamic.plan`, :func:`~bigplan.dynamic.frontier` and
:func:`~bigplan.dynamic.compare`.
"""

from __future__ import annotations

import argparse
import json
from typing import TextIO

import numpy as np
import pandas as pd

from ..errors import InvalidOptionError
from .inputs import load_economy, load_vector
from .output import check_picture, check_target, save_figure, table_format, write_table

__all__ = ["add_parser", "parse_proposal"]


def parse_proposal(text: str) -> tuple[str, dict]:
    """``NAME:key=value,key=value`` (keys ``investment_share``, ``growth``, ``public_share``) as ``(name, spec)``.

    Examples
    --------
    >>> from bigplan._cli.dynamic import parse_proposal
    >>> parse_proposal("grow:investment_share=0.3,public_share=0.1")
    ('grow', {'investment_share': 0.3, 'public_share': 0.1})
    """
    name, sep, body = str(text).partition(":")
    if not sep or not name.strip() or not body.strip():
        raise InvalidOptionError(f"--proposal {text!r}: write NAME:investment_share=0.2 or NAME:growth=0.03 "
                                 "(optionally ,public_share=0.1)")
    spec = {}
    for item in body.split(","):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in ("investment_share", "growth", "public_share"):
            raise InvalidOptionError(f"--proposal {text!r}: {item!r} is not investment_share=, growth= or "
                                     "public_share=")
        try:
            spec[key] = float(value)
        except ValueError:
            raise InvalidOptionError(f"--proposal {text!r}: {value!r} is not a number") from None
    return name.strip(), spec


def add_parser(sub, kw: dict, economy, out, real, positive_int) -> None:
    """Register ``bigplan dynamic`` and its actions."""
    d = sub.add_parser("dynamic", help="growth rate, multi-period plans, the frontier and the proposals report",
                       description="The dynamic Leontief model (the economy needs capital coefficients).", **kw)
    acts = d.add_subparsers(dest="action", metavar="ACTION", required=True)

    def base(name: str, help_: str, what: str | None):
        a = acts.add_parser(name, help=help_, **kw)
        economy(a)
        a.add_argument("--backend", choices=("auto", "numpy", "cupy", "jax"), default="auto")
        if what:
            out(a, False, what)
        a.set_defaults(func=run_dynamic)
        return a

    g = base("growth", "maximal balanced growth rate g* with certified bounds", "balanced output proportions")
    g.add_argument("--no-depreciation", action="store_true", help="leave replacement out of g*")

    p = base("plan", "a multi-period plan: output, investment, capacity, labour, bottlenecks",
             "output per period (periods x products)")
    p.add_argument("--consumption", "-c", metavar="P",
                   help="consumption level (first column of a plans file), or default (BEA consumption); "
                        "default: ones")
    p.add_argument("--horizon", "-T", type=positive_int, required=True, help="number of periods")
    p.add_argument("--growth", type=real, default=0.0, help="growth of consumption per period (default 0)")
    p.add_argument("--method", choices=("auto", "capacity", "exact", "lp"), default="auto")
    p.add_argument("--what", choices=("output", "investment", "new_capacity", "capacity", "consumption"),
                   default="output", help="which table --out writes (default output)")

    f = base("frontier", "consumption now against consumption growth", "the frontier table")
    f.add_argument("--consumption", "-c", metavar="P", help="composition of consumption (as for plan)")
    f.add_argument("--points", type=positive_int, default=11, help="growth rates from 0 to 95 %% of g*")
    f.add_argument("--horizon", "-T", type=positive_int, default=10)
    f.add_argument("--plot", metavar="FILE", help="draw the frontier (e.g. frontier.png)")

    c = base("compare", "proposals side by side (the plan report)", "the summary (metrics x proposals)")
    c.add_argument("--proposal", action="append", required=True, metavar="NAME:key=value,...",
                   help="a proposal, e.g. grow:investment_share=0.3,public_share=0.1 (repeat for each)")
    c.add_argument("--consumption", "-c", metavar="P", help="composition of consumption (as for plan)")
    c.add_argument("--horizon", "-T", type=positive_int, default=10)
    c.add_argument("--plot", metavar="FILE", help="draw each proposal's output by product against the first")


def _consumption(args, loaded) -> np.ndarray:
    c = load_vector(args.consumption, loaded, "--consumption")
    return np.ones(loaded.economy.n) if c is None else c


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def run_dynamic(args: argparse.Namespace, out: TextIO) -> tuple[int, dict]:
    """Run one ``bigplan dynamic`` action."""
    from .. import dynamic

    if args.out and str(args.out) != "-":
        table_format(args.out)
        check_target(args.out, overwrite=args.overwrite)
    if getattr(args, "plot", None):
        check_picture(args.plot, overwrite=args.overwrite)
    loaded = load_economy(args.economy)
    econ = loaded.economy
    w = lambda text="": None if args.json else print(text, file=out)
    summary: dict = {"command": f"dynamic {args.action}", "economy": loaded.source, "products": int(econ.n)}
    table = None
    fig = None
    if args.action == "growth":
        g = dynamic.max_growth_rate(econ, depreciation=not args.no_depreciation, backend=args.backend)
        summary.update(rate=g.rate, lower=g.lower, upper=g.upper, converged=bool(g.converged),
                       iterations=int(g.iterations))
        table = g.to_series().to_frame()
        w(f"bigplan dynamic growth on {loaded.source}")
        w(f"  maximal balanced growth rate g* = {g.rate:.6g} per period (certified {g.lower:.6g} <= g* <= "
          f"{g.upper:.6g}){'' if g.depreciation else ', without replacement'}")
    elif args.action == "plan":
        p = dynamic.plan(econ, _consumption(args, loaded), horizon=args.horizon, growth=args.growth,
                         method=args.method, backend=args.backend)
        res = np.asarray(p.residual(), dtype=float)
        summary.update(horizon=int(p.horizon), method=str(p.method), feasible=bool(p.feasible),
                       bottlenecks=len(p.bottlenecks), max_balance_residual=float(res.max()),
                       converged=bool(p.converged))
        table = p.to_frame(args.what)
        w(f"bigplan dynamic plan on {loaded.source}: {p.horizon} periods, method {p.method}")
        w(p.summary().to_string())
        w(p.explain())
    elif args.action == "frontier":
        table = dynamic.frontier(econ, _consumption(args, loaded), points=args.points, horizon=args.horizon,
                                 backend=args.backend)
        summary.update(points=len(table), **{k: _jsonable(v) for k, v in table.attrs.items()})
        w(f"bigplan dynamic frontier on {loaded.source}")
        w(table[["growth_rate", "investment_share", "consumption_now", "consumption_end"]].to_string())
        if args.plot:
            from .. import plot

            fig = plot.frontier(table)
    else:
        proposals = dict(parse_proposal(t) for t in args.proposal)
        if len(proposals) != len(args.proposal):
            raise InvalidOptionError("--proposal: two proposals have the same name")
        rep = dynamic.compare(econ, proposals, _consumption(args, loaded), horizon=args.horizon,
                              backend=args.backend)
        table = rep.summary
        summary.update(proposals={c: {k: _jsonable(v) for k, v in rep.summary[c].items()}
                                  for c in rep.summary.columns})
        w(f"bigplan dynamic compare on {loaded.source}")
        w(rep.summary.to_string())
        if args.plot:
            from .. import plot

            first = next(iter(proposals))
            fig = plot.proposals_by_sector(rep, relative_to=first if len(proposals) > 1 else None)
    written = []
    if args.out and table is not None:
        res = write_table(table if isinstance(table, pd.DataFrame) else pd.DataFrame(table), args.out,
                          overwrite=args.overwrite, stdout=out)
        if res != "-":
            written.append(str(res))
    if fig is not None:
        written.append(str(save_figure(fig, args.plot, overwrite=args.overwrite)))
    summary["written"] = written
    for path in written:
        w(f"  wrote {path}")
    json.dumps(summary, default=str)  # fail here, not after printing, if something is not serialisable
    return 0, summary

