"""``bigplan solve``, ``bigplan values`` and ``bigplan merge``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from ..errors import InvalidOptionError
from . import batch
from .inputs import load_economy, load_plans
from .output import (
    check_picture,
    check_target,
    labour_path,
    save_figure,
    table_format,
    write_table,
)
from .progress import bar

__all__ = ["run_merge", "run_solve", "run_values"]


def _solver(loaded, args):
    from ..static import solve_output

    def solve(Y: np.ndarray):
        return solve_output(loaded.economy, Y, backend=args.backend, method=args.method, rtol=args.rtol)

    return solve


def run_solve(args: argparse.Namespace, out: TextIO) -> tuple[int, dict]:
    """Outputs and labour of every plan, written to ``--out`` (parquet, CSV or npy by suffix)."""
    t0 = time.perf_counter()
    target = Path(args.out)
    table_format(target)
    check_target(target, overwrite=args.overwrite)
    check_target(labour_path(target), overwrite=args.overwrite)
    if args.shard is not None:
        check_target(batch.shard_path(target), overwrite=args.overwrite)
    if args.plot:
        check_picture(args.plot, overwrite=args.overwrite)
    loaded = load_economy(args.economy)
    plans = load_plans(args.plans, loaded)
    load_s = time.perf_counter() - t0
    total = plans.shape[1]
    options = {"method": args.method, "rtol": args.rtol}
    key = None
    if args.chunk is not None or args.shard is not None:
        key = batch.inputs_hash(loaded.economy, plans, options)
    if args.shard is not None:
        plans = plans.iloc[:, batch.shard_slice(total, *args.shard)]
    if args.scheduler:
        return _run_distributed(args, loaded, plans, out, target, key, total, load_s)
    with bar(plans.shape[1], "solve", quiet=args.quiet) as pb:
        def progress(done: int, _k: int) -> None:
            pb.update(done - pb.n)

        result = batch.solve_batch(loaded.economy, plans, _solver(loaded, args), out=target, chunk=args.chunk,
                                   key={"inputs": key, "options": options, "shard": args.shard},
                                   progress=progress)
    written = [str(p) for p in batch.write_outputs(result, target, overwrite=args.overwrite)]
    if args.shard is not None:
        written.append(str(batch.write_shard_info(
            target, shard=args.shard, plans=plans.columns, total=total, key=key,
            index_levels=plans.index.nlevels, labour=result.labour is not None, overwrite=args.overwrite)))
    if args.chunk is not None:
        batch.remove_parts(target)
    if args.plot:
        from .. import plot

        fig = plot.labour_by_sector(loaded.economy, result.output, names=loaded.names)
        written.append(str(save_figure(fig, args.plot, overwrite=args.overwrite)))
    summary = _summary(loaded, result, written, load_s, time.perf_counter() - t0)
    summary.update(command="solve", shard=None if args.shard is None else list(args.shard), chunk=args.chunk)
    if not args.json:
        _print_solve(out, summary, result)
    return 0, summary


def _run_distributed(args, loaded, plans, out, target, key, total, load_s):
    """``--scheduler ADDR``: the plans go to a Dask cluster in blocks (``--chunk`` plans each)."""
    import importlib

    try:
        distributed = importlib.import_module("bigplan.distributed")
    except ImportError:
        raise InvalidOptionError("--scheduler needs bigplan.distributed, which this bigplan does not have") from None
    t0 = time.perf_counter()
    sol = distributed.solve_output(loaded.economy, plans, scheduler=args.scheduler, block=args.chunk,
                                   backend=args.backend, method=args.method, rtol=args.rtol)
    m = 0 if sol.labour is None else int(np.atleast_2d(np.asarray(sol.labour)).shape[0])
    output = pd.DataFrame(np.asarray(sol.output, dtype=float).reshape(plans.shape), index=plans.index,
                          columns=plans.columns)
    labour = None
    if sol.labour is not None:
        names = list(loaded.economy.labour_names or [f"labour{i}" for i in range(m)])
        labour = pd.DataFrame(np.asarray(sol.labour, dtype=float).reshape(m, plans.shape[1]),
                              index=pd.Index(names, name="labour"), columns=plans.columns)
    result = batch.BatchResult(output, labour, np.atleast_1d(np.asarray(sol.residual, dtype=float)),
                               int(sol.iterations), [str(sol.method)], f"dask {args.scheduler} ({sol.backend})",
                               time.perf_counter() - t0)
    written = [str(p) for p in batch.write_outputs(result, target, overwrite=args.overwrite)]
    if args.shard is not None:
        written.append(str(batch.write_shard_info(
            target, shard=args.shard, plans=plans.columns, total=total, key=key,
            index_levels=plans.index.nlevels, labour=labour is not None, overwrite=args.overwrite)))
    summary = _summary(loaded, result, written, load_s, load_s + result.seconds)
    summary.update(command="solve", shard=None if args.shard is None else list(args.shard), chunk=args.chunk,
                   scheduler=args.scheduler)
    if not args.json:
        _print_solve(out, summary, result)
    return 0, summary


def _summary(loaded, result: batch.BatchResult, written: list[str], load_s: float, total_s: float) -> dict:
    res = result.residual
    labour = None
    if result.labour is not None and result.labour.shape[1]:
        labour = {str(kind): {"min": float(row.min()), "max": float(row.max()), "total_first_plan": float(row.iloc[0])}
                  for kind, row in result.labour.iterrows()}
    return {
        "economy": loaded.source, "products": int(loaded.economy.n), "plans": int(result.output.shape[1]),
        "converged": True, "max_residual": float(res.max()) if res.size else 0.0,
        "iterations": result.iterations, "method": result.methods, "backend": result.backend,
        "chunks": result.chunks, "resumed_chunks": result.resumed, "labour": labour,
        "labour_units": list(getattr(loaded.economy, "labour_units", None) or []) or None,
        "seconds": {"load": round(load_s, 6), "solve": round(result.seconds, 6), "total": round(total_s, 6)},
        "written": written,
    }


def _print_solve(out: TextIO, s: dict, result: batch.BatchResult) -> None:
    w = lambda text="": print(text, file=out)
    w(f"bigplan solve: {s['plans']} plans on {s['economy']}")
    w(f"  method {', '.join(s['method'])}, backend {s['backend']}, {s['iterations']} iterations, "
      f"max relative residual {s['max_residual']:.2e}, converged")
    if s["chunks"] > 1 or s["resumed_chunks"]:
        w(f"  {s['chunks']} chunks, {s['resumed_chunks']} taken from an earlier run")
    if result.labour is not None and result.labour.shape[1]:
        units = list(s.get("labour_units") or [])
        for i, (kind, row) in enumerate(result.labour.iterrows()):
            unit = f", {units[i]}" if i < len(units) else ""
            w(f"  labour ({kind}{unit}) per plan: min {row.min():,.6g}, max {row.max():,.6g}")
    w(f"  time: load {s['seconds']['load']:.3f} s, solve {s['seconds']['solve']:.3f} s, "
      f"total {s['seconds']['total']:.3f} s")
    for path in s["written"]:
        w(f"  wrote {path}")


def run_values(args: argparse.Namespace, out: TextIO) -> tuple[int, dict]:
    """Labour values of every product (products x labour kinds)."""
    from ..static import labour_values

    t0 = time.perf_counter()
    if args.out and str(args.out) != "-":
        table_format(args.out)
        check_target(args.out, overwrite=args.overwrite)
    loaded = load_economy(args.economy)
    val = labour_values(loaded.economy, backend=args.backend, method=args.method, rtol=args.rtol)
    frame = val.to_frame()
    frame.index.name = "product"
    written = []
    if args.out:
        res = write_table(frame, args.out, overwrite=args.overwrite, stdout=out)
        if res != "-":
            written.append(str(res))
    res = np.atleast_1d(np.asarray(val.residual, dtype=float))
    summary = {"command": "values", "economy": loaded.source, "products": int(loaded.economy.n),
               "labour_kinds": [str(c) for c in frame.columns], "method": str(val.method),
               "backend": str(val.backend), "iterations": int(val.iterations), "converged": bool(val.converged),
               "max_residual": float(res.max()), "seconds": round(time.perf_counter() - t0, 6), "written": written}
    if not args.json and str(args.out) != "-":
        first = frame.columns[0]
        top = frame[first].sort_values(ascending=False).head(args.top)
        print(f"bigplan values: labour values ({first}) on {loaded.source}; the {len(top)} highest:", file=out)
        names = loaded.names.reindex(top.index)
        for label, v in top.items():
            name = str(names.get(label, label))
            name = "" if name == str(label) else name
            print(f"  {label!s:<12} {name[:40]:<40} {v:>14.6g}", file=out)
        print(f"  method {val.method}, backend {val.backend}, {val.iterations} iterations, "
              f"max relative residual {res.max():.2e}", file=out)
        for path in written:
            print(f"  wrote {path}", file=out)
    return 0, summary


def run_merge(args: argparse.Namespace, out: TextIO) -> tuple[int, dict]:
    """Join the outputs of ``bigplan solve --shard i/N`` into one."""
    summary = batch.merge(args.shards, args.out, overwrite=args.overwrite)
    if not args.json:
        print(f"bigplan merge: {summary['shards']} shards, {summary['plans']} plans, {summary['products']} products",
              file=out)
        for path in summary["written"]:
            print(f"  wrote {path}", file=out)
    return 0, summary

