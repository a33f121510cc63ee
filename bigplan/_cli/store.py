"""``bigplan store init|commit|versions|diff|plans|replan``: the plan store from the command line.

Built on :func:`bigplan.inventory.open_store` as it is.  A change file is a CSV
with columns ``kind`` (optional, default ``A``), ``row``, ``col`` and ``value``,
read the way the ledger shows changes (:meth:`~bigplan.inventory.Store.changes`):

* ``A``, ``capital``: ``row`` the input product, ``col`` the product using it;
* ``labour``: ``row`` the labour kind and ``col`` the product (or ``row`` the
  product and ``col`` empty, for an economy with one kind);
* ``depreciation``: ``row`` the product; ``labour_supply``: ``row`` the kind;
* ``stocks``, ``capacity``: ``row`` the product, ``col`` the reporting unit
  (empty: the default unit).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from ..errors import InvalidDemandError, InvalidOptionError
from .inputs import Loaded, load_economy, load_plans
from .output import table_format, write_table

__all__ = ["add_parser", "read_changes"]

_KINDS = ("A", "capital", "labour", "depreciation", "labour_supply", "stocks", "capacity")


def add_parser(sub, kw: dict, economy, solver_options) -> None:
    """Register ``bigplan store`` and its actions."""
    s = sub.add_parser("store", help="the versioned plan store: init, commit, versions, diff, plans, replan",
                       description=__doc__.split("\n\n", 1)[1], **kw)
    acts = s.add_subparsers(dest="action", metavar="ACTION", required=True)

    def act(name: str, help_: str):
        a = acts.add_parser(name, help=help_, **kw)
        a.add_argument("store", metavar="STORE", help="the store's folder")
        a.set_defaults(func=run_store)
        return a

    i = act("init", "create a store holding an economy as version 1")
    economy(i)
    i.add_argument("--author", required=True)
    i.add_argument("--reason", required=True)
    c = act("commit", "commit a CSV of changes (kind,row,col,value) as a new version")
    c.add_argument("--changes", required=True, metavar="CSV")
    c.add_argument("--author", required=True)
    c.add_argument("--reason", required=True)
    act("versions", "the versions: who, when, why, how many changes")
    d = act("diff", "what differs between two versions")
    d.add_argument("a", type=int)
    d.add_argument("b", type=int)
    d.add_argument("--out", "-o", metavar="O", help="write the table (.csv, .parquet; '-' for stdout)")
    d.add_argument("--overwrite", action="store_true")
    p = act("plans", "add plans to the store (with --plans), or list them")
    p.add_argument("--plans", metavar="P", help="products x plans file (or synthetic:K, default)")
    p.add_argument("--author", default=None)
    p.add_argument("--replace", action="store_true", help="replace plans of the same name")
    r = act("replan", "re-solve the stored plans on the latest version, warm-started")
    solver_options(r)
    r.add_argument("--threshold", type=float, default=0.01, help="relative move reported (default 0.01)")
    r.add_argument("--out", "-o", metavar="O", help="write the moved products (.csv, .parquet; '-' for stdout)")
    r.add_argument("--overwrite", action="store_true")


def _label_map(labels) -> dict:
    return {} if labels is None else {str(v): v for v in labels}


def _label(text, mapping: dict, path: Path, line: int, what: str):
    text = str(text).strip()
    if text in mapping:
        return mapping[text]
    if not mapping:  # an unlabelled economy: products by position
        try:
            return int(text)
        except ValueError:
            pass
    return text  # the store names unknown products in its UnknownProductError


def read_changes(path: str | Path, economy) -> dict:
    """A change CSV as the ``{kind: changes}`` mapping :meth:`Store.commit` takes."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--changes {str(path)!r}: no such file")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidDemandError(f"{path}: cannot read the changes as CSV ({str(exc).strip()})") from None
    cols = [c.strip() for c in raw.columns]
    raw.columns = cols
    missing = {"row", "value"} - set(cols)
    if missing:
        raise InvalidDemandError(f"{path}: columns {sorted(missing)} missing; the header must be kind,row,col,value")
    products = _label_map(economy.labels)
    kinds = _label_map(economy.labour_names)
    out: dict = {}
    for i, r in enumerate(raw.itertuples(index=False), start=2):
        rec = r._asdict()
        kind = str(rec.get("kind", "") or "A").strip()
        if kind not in _KINDS:
            raise InvalidDemandError(f"{path}, line {i}: unknown kind {kind!r}; use one of {list(_KINDS)}")
        try:
            value = float(str(rec["value"]).strip())
        except ValueError:
            raise InvalidDemandError(f"{path}, line {i}: value {rec['value']!r} is not a number") from None
        if not np.isfinite(value):
            raise InvalidDemandError(f"{path}, line {i}: value {rec['value']!r} is not finite")
        row, col = str(rec["row"]).strip(), str(rec.get("col", "") or "").strip()
        if kind in ("A", "capital"):
            if not col:
                raise InvalidDemandError(f"{path}, line {i}: kind {kind} needs row (input) and col (user)")
            key = (_label(row, products, path, i, "row"), _label(col, products, path, i, "col"))
        elif kind == "labour":
            key = (_label(row, kinds, path, i, "row"), _label(col, products, path, i, "col")) if col \
                else _label(row, products, path, i, "row")
        elif kind == "labour_supply":
            key = _label(row, kinds, path, i, "row")
        elif kind == "depreciation":
            key = _label(row, products, path, i, "row")
        else:
            p = _label(row, products, path, i, "row")
            key = (col, p) if col else p
        bucket = out.setdefault(kind, {})
        if key in bucket:
            raise InvalidDemandError(f"{path}, line {i}: a second change of {kind} {key!r}")
        bucket[key] = value
    if not out:
        raise InvalidDemandError(f"{path}: no changes in the file")
    return out


def run_store(args: argparse.Namespace, out: TextIO) -> tuple[int, dict]:
    """Run one ``bigplan store`` action."""
    from ..inventory import open_store

    w = lambda text="": None if args.json else print(text, file=out)
    target = getattr(args, "out", None)
    if target and str(target) != "-":
        table_format(target)
        from .output import check_target

        check_target(target, overwrite=args.overwrite)
    summary: dict = {"command": f"store {args.action}", "store": str(args.store)}
    table = None
    if args.action == "init":
        loaded = load_economy(args.economy)
        if Path(args.store).exists() and any(Path(args.store).iterdir()):
            raise InvalidOptionError(f"store init: {args.store} exists and is not empty; give a new folder")
        with open_store(args.store) as store:
            v = store.commit(loaded.economy, author=args.author, reason=args.reason)
        summary.update(version=int(v), products=int(loaded.economy.n))
        w(f"bigplan store init: {args.store} version {v} ({loaded.source})")
        return 0, summary
    store_path = Path(args.store)
    if not store_path.is_dir():
        raise FileNotFoundError(f"no store at {args.store} (create one with bigplan store init)")
    with open_store(args.store) as store:
        if args.action == "commit":
            changes = read_changes(args.changes, store.economy())
            v = store.commit(changes, author=args.author, reason=args.reason)
            n = sum(len(c) for c in changes.values())
            summary.update(version=int(v), changes=int(n))
            w(f"bigplan store commit: version {v}, {n} change(s) by {args.author}: {args.reason}")
        elif args.action == "versions":
            table = store.versions()
            summary.update(head=int(store.head), versions=len(table))
            w(table.to_string())
        elif args.action == "diff":
            table = store.diff(args.a, args.b)
            summary.update(a=args.a, b=args.b, changes=len(table))
            if str(target) != "-":
                w(table.to_string() if len(table) else f"versions {args.a} and {args.b} do not differ")
        elif args.action == "plans":
            if args.plans:
                econ = store.economy()
                loaded = Loaded(econ, str(args.store), pd.Series(econ.labels, index=econ.labels)
                                if econ.labels is not None else pd.Series(dtype=object))
                plans = load_plans(args.plans, loaded)
                if not args.author:
                    raise InvalidOptionError("store plans --plans needs --author")
                names = store.add_plans(plans, author=args.author, replace=args.replace)
                summary.update(added=list(map(str, names)))
                w(f"bigplan store plans: added {len(names)} plan(s)")
            table = store.plans()
            summary.update(plans=len(table))
            w(table.to_string())
        else:  # replan
            rep = store.replan(threshold=args.threshold, backend=args.backend, method=args.method, rtol=args.rtol)
            table = rep.moved
            res = np.atleast_1d(np.asarray(rep.residual, dtype=float))
            summary.update(version=None if rep.version is None else int(rep.version), plans=len(rep.plans),
                           moved=len(rep.moved), method=str(rep.method), converged=bool(rep.converged),
                           max_residual=float(res.max()) if res.size else 0.0)
            w(f"bigplan store replan: {len(rep.plans)} plan(s) re-solved ({rep.method}, {rep.correction}), "
              f"{len(rep.moved)} product-plan output(s) moved by more than {args.threshold:.3g}")
            if str(target) != "-" and len(rep.moved):
                w(rep.moved.head(30).to_string())
    written = []
    if target and table is not None:
        res = write_table(table, target, overwrite=args.overwrite, stdout=out)
        if res != "-":
            written.append(str(res))
            w(f"  wrote {res}")
    summary["written"] = written
    return 0, summary
