#!/usr/bin/env python
"""Robustness campaign: bad and odd-but-valid inputs at every public entry point, each outcome classified.

About 780 bad inputs (NaN, inf, complex, wrong length or ndim, ragged, strings, None, empty, negative, labels
unknown / missing / duplicated, options out of range) and about 200 odd-but-valid ones (shuffled labels, int and
bool data, float32, magnitudes 1e+-200, one product, empty rows, spectral radius 0.999, int / tuple / MultiIndex
labels), plus ``--random N`` seeded random static problems, run one by one in worker processes with a
per-probe timeout.  A bad input ends as

* ``typed``: a :class:`bigplan.errors.BigplanError` (for the CLI: an exit status other than 0 and 1 with a
  one-line ``error:`` message and no traceback),
* ``plain``: a ``ValueError``/``TypeError`` (or ``OSError``) raised by a ``raise`` statement in bigplan's
  own code, but not a ``BigplanError``,
* ``raw``: any other exception (NumPy, SciPy, pandas, SQLite, json, ``AttributeError``, ``KeyError``, a
  ``ValueError`` NumPy raised inside bigplan's call to it...),
* ``silent``: returned normally (the data was accepted),
* ``hang``: still running after ``--timeout`` seconds (the worker is killed);

an odd-but-valid input as ``ok`` (the answer agrees with an independent dense NumPy computation made in the
probe: ``np.linalg.solve`` on the dense ``I - A``, the relative residual recomputed in long double on scaled
data, labels aligned by value), ``wrong`` (returned, fails the check; the line says whether it was marked
converged), ``refused`` (a typed refusal of a valid input), ``raw`` or ``hang``.  ``n/a``: the probe uses an
option or module the library under test does not have (an older tree).  A typed refusal is also checked for
naming the argument it refuses (where the probe passes it by keyword): the report lists those that do not.

Every probe is one line of Python over a few named fixtures (printed at the top of the report), so each
finding comes with its reproduction.  Seeded and deterministic: the same tree gives the same table.

Examples::

    python benchmarks/probe_campaign.py --json /tmp/probes.json          # the whole campaign (~1 min, 2 cores)
    python benchmarks/probe_campaign.py --random 1500 --only random_static   # 1,500 random static problems
    python benchmarks/probe_campaign.py --quick                          # a smoke subset
    python benchmarks/probe_campaign.py --only solve_output --workers 1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the kit and the probes sit beside this script
from probe_kit import (  # noqa: E402
    FIXTURES,
    CliResult,
    Probe,
    chk_cli_plan,
    chk_growth,
    chk_out,
    chk_res,
    chk_true,
    chk_val,
    chk_vec,
    cli,
    fixture_code,
    rand_A,
    rand_y,
    random_probes,
    repro,
    write,
)
from probe_list import all_probes  # noqa: E402

def _raised_by_bigplan(tb) -> bool:
    """The innermost frame is bigplan code and its line is a ``raise`` statement (a deliberate refusal)."""
    import linecache

    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None or _origin_frame(last) != "bigplan":
        return False
    line = linecache.getline(last.tb_frame.f_code.co_filename, last.tb_lineno).strip()
    return line.startswith("raise ")


def _origin_frame(tb) -> str:
    fname = tb.tb_frame.f_code.co_filename.replace("\\", "/")
    return "bigplan" if "/bigplan/" in fname and "/benchmarks/" not in fname else "other"


def _origin(tb) -> str:
    """'bigplan' when the innermost frame of the traceback lies in the bigplan package, else 'other'."""
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return "other"
    fname = last.tb_frame.f_code.co_filename.replace("\\", "/")
    return "bigplan" if "/bigplan/" in fname and "/benchmarks/" not in fname else "other"


_PLAIN_ARGS = {"demand": ("demand",), "consumption": ("consumption",), "output": ("output",),
               "final_use": ("final_use", "final use"), "planned": ("planned",), "actual": ("actual",)}


def argument_of(p: Probe) -> str | None:
    """The argument a bad probe gets wrong, from its id (``entry:arg-family``) when the code passes it by name."""
    if p.kind != "bad" or ":" not in p.id:
        return None
    word = p.id.split(":", 1)[1].split("-", 1)[0]
    if word in _PLAIN_ARGS or re.search(rf"\b{re.escape(word)}=", p.code):
        return word
    return None


def _spellings(arg: str) -> tuple[str, ...]:
    a = arg.lower()
    return _PLAIN_ARGS.get(arg, (a, a.replace("_", " "), a.rstrip("s")))


def run_probe(p: Probe, tmpdir: str) -> dict:
    """Run one probe in this process (in a fresh folder under ``tmpdir``, the working directory restored after);
    returns {'outcome', 'message', 'seconds'}."""
    cwd = os.getcwd()
    try:
        return _run_probe(p, tmpdir)
    finally:
        os.chdir(cwd)


def _run_probe(p: Probe, tmpdir: str) -> dict:
    import tempfile
    import warnings

    import pandas as pd
    import scipy.sparse as sp

    import bigplan
    from bigplan.errors import BigplanError

    T = tempfile.mkdtemp(dir=tmpdir)
    os.chdir(T)  # a probe that writes a relative path ('-') writes it here
    ns = {"np": np, "pd": pd, "sp": sp, "bigplan": bigplan, "os": os, "T": T, "write": write, "cli": cli,
          "chk_out": chk_out, "chk_val": chk_val, "chk_vec": chk_vec, "chk_growth": chk_growth, "chk_true": chk_true,
          "chk_cli_plan": chk_cli_plan, "chk_res": chk_res, "rand_A": rand_A, "rand_y": rand_y}
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for line in fixture_code(p.code + " " + (p.check or "")):
                exec(line, ns)
        except Exception as exc:  # noqa: BLE001
            na = isinstance(exc, AttributeError) and "module 'bigplan' has no attribute" in str(exc)
            return {"outcome": "n/a" if na else "setup-error", "message": f"{type(exc).__name__}: {exc}"[:300],
                    "seconds": time.perf_counter() - t0}
        try:
            exec(p.code, ns)
            exc = None
        except AssertionError as err:  # a probe's own post-condition (CLI rc, finite plan): the input was accepted
            exc, silent_msg = None, f"accepted: {err}"[:300]
        except BaseException as err:  # noqa: BLE001
            exc, tb = err, err.__traceback__
        else:
            silent_msg = None
    warn = "; ".join(str(w.message) for w in caught[:2])
    dt = time.perf_counter() - t0
    if exc is not None:
        name = type(exc).__name__
        msg = " ".join(f"{name}: {exc}".split())[:300]
        if isinstance(exc, TypeError) and "unexpected keyword argument" in str(exc) and _origin(tb) == "other":
            return {"outcome": "n/a", "message": msg, "seconds": dt}
        if isinstance(exc, AttributeError) and "module 'bigplan' has no attribute" in str(exc):
            return {"outcome": "n/a", "message": msg, "seconds": dt}  # an older bigplan without this module
        if isinstance(exc, KeyboardInterrupt):
            raise exc
        typed = isinstance(exc, BigplanError)
        if p.kind == "bad":
            outcome = "typed" if typed else ("plain" if isinstance(exc, (ValueError, TypeError, OSError))
                                            and _raised_by_bigplan(tb) else "raw")
        else:
            outcome = "refused" if typed else "raw"
        arg = argument_of(p)
        named = arg is None or any(v in str(exc).lower() for v in _spellings(arg))
        return {"outcome": outcome, "message": msg, "seconds": dt, "argument": arg, "names_argument": named}
    if p.kind == "bad":
        res = ns.get("_")
        if isinstance(res, CliResult):
            if res.rc not in (0, 1) and "error:" in res.stderr and "Traceback" not in res.stderr:
                return {"outcome": "typed", "message": " ".join(res.stderr.split())[:300], "seconds": dt}
            if res.rc != 0:
                return {"outcome": "raw", "message": f"rc {res.rc}: " + " ".join(res.stderr.split())[:250], "seconds": dt}
        msg = silent_msg or f"returned {type(res).__name__}: {' '.join(repr(res).split())[:200]}"
        return {"outcome": "silent", "message": msg + (f" (warning: {warn[:120]})" if warn else ""), "seconds": dt}
    try:
        ok, msg = eval(p.check, ns)
    except Exception as err:  # noqa: BLE001
        ok, msg = False, f"check raised {type(err).__name__}: {err}"
    if silent_msg:
        ok, msg = False, silent_msg
    return {"outcome": "ok" if ok else "wrong", "message": " ".join(str(msg).split())[:300], "seconds": dt}


# -- the pool ------------------------------------------------------------------------------------------------
def _worker(conn, tmpdir):
    while True:
        job = conn.recv()
        if job is None:
            return
        p = Probe(**job)
        try:
            res = run_probe(p, tmpdir)
        except BaseException as err:  # noqa: BLE001
            res = {"outcome": "raw", "message": f"worker: {type(err).__name__}: {err}"[:300], "seconds": 0.0}
        conn.send(res)


def run_all(probes: list[Probe], *, workers: int = 2, timeout: float = 20.0, progress: bool = True) -> list[dict]:
    """Run probes in ``workers`` processes; a probe past ``timeout`` s is a hang and its worker is killed."""
    import multiprocessing as mp
    import shutil
    import tempfile
    from multiprocessing.connection import wait

    ctx = mp.get_context("fork")
    tmpdir = tempfile.mkdtemp(prefix="bigplan-probes-")
    results: list[dict | None] = [None] * len(probes)
    todo = list(range(len(probes)))[::-1]
    slots: list[dict] = []

    def start():
        a, b = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(b, tmpdir), daemon=True)
        proc.start()
        return {"proc": proc, "conn": a, "job": None, "t0": 0.0}

    slots = [start() for _ in range(max(1, workers))]
    done = 0
    t_start = time.perf_counter()
    try:
        while done < len(probes):
            for s in slots:
                if s["job"] is None and todo:
                    i = todo.pop()
                    s["job"], s["t0"] = i, time.perf_counter()
                    s["conn"].send(asdict(probes[i]))
            busy = [s for s in slots if s["job"] is not None]
            ready = wait([s["conn"] for s in busy], timeout=0.25)
            now = time.perf_counter()
            for k, s in enumerate(slots):
                if s["job"] is None:
                    continue
                i = s["job"]
                res = None
                if s["conn"] in ready:
                    try:
                        res = s["conn"].recv()
                    except (EOFError, OSError):
                        res = {"outcome": "raw", "message": "worker died (crash)", "seconds": now - s["t0"]}
                elif now - s["t0"] > timeout:
                    res = {"outcome": "hang", "message": f"still running after {timeout:g} s (killed)",
                           "seconds": now - s["t0"]}
                elif not s["proc"].is_alive():
                    res = {"outcome": "raw", "message": f"worker died (exit {s['proc'].exitcode})",
                           "seconds": now - s["t0"]}
                if res is None:
                    continue
                if res["outcome"] == "hang" or "worker died" in res["message"]:
                    s["proc"].kill()
                    s["proc"].join()
                    slots[k] = start()
                else:
                    s["job"] = None
                results[i] = {**asdict(probes[i]), **res, "repro": repro(probes[i])}
                done += 1
                if progress and (sys.stderr.isatty() or done % 100 == 0 or done == len(probes)):
                    print(f"\r{done}/{len(probes)} probes, {time.perf_counter() - t_start:.0f} s", end="",
                          file=sys.stderr, flush=True)
    finally:
        for s in slots:
            try:
                s["conn"].send(None)
            except (OSError, BrokenPipeError):
                pass
            s["proc"].join(timeout=2)
            if s["proc"].is_alive():
                s["proc"].kill()
        shutil.rmtree(tmpdir, ignore_errors=True)
        if progress:
            print(file=sys.stderr)
    return [r for r in results if r is not None]


# -- report --------------------------------------------------------------------------------------------------
BAD_CLASSES = ["typed", "plain", "raw", "silent", "hang", "n/a", "setup-error"]
VALID_CLASSES = ["ok", "wrong", "refused", "raw", "hang", "n/a", "setup-error"]


def counts(results: list[dict]) -> dict:
    out = {"bad": Counter(), "valid": Counter(), "by_entry": defaultdict(Counter)}
    for r in results:
        out[r["kind"]][r["outcome"]] += 1
        out["by_entry"][r["entry"]][f"{r['kind']}:{r['outcome']}"] += 1
    return out


def report(results: list[dict], file=sys.stdout) -> None:
    c = counts(results)
    w = lambda s="": print(s, file=file)  # noqa: E731
    w("fixtures:")
    for line in FIXTURES.values():
        w(f"  {line}")
    w()
    nb, nv = sum(c["bad"].values()), sum(c["valid"].values())
    w(f"bad inputs ({nb}): " + ", ".join(f"{k} {c['bad'][k]}" for k in BAD_CLASSES if c["bad"][k]))
    w(f"odd-but-valid inputs ({nv}): " + ", ".join(f"{k} {c['valid'][k]}" for k in VALID_CLASSES if c["valid"][k]))
    w()
    w("| entry point | bad | typed | plain | raw | silent | hang | n/a | valid | ok | wrong | refused | raw | hang | n/a |")
    w("| --- | " + " | ".join(["---:"] * 15) + " |")
    for entry in sorted(c["by_entry"]):
        e = c["by_entry"][entry]
        b = [e[f"bad:{k}"] for k in ("typed", "plain", "raw", "silent", "hang", "n/a")]
        v = [e[f"valid:{k}"] for k in ("ok", "wrong", "refused", "raw", "hang", "n/a")]
        w(f"| {entry} | {sum(b)} | " + " | ".join(map(str, b)) + f" | {sum(v)} | " + " | ".join(map(str, v)) + " |")
    w()
    unnamed = [r for r in results if r["outcome"] == "typed" and r.get("names_argument") is False]
    named_of = sum(1 for r in results if r["outcome"] == "typed" and r.get("argument"))
    w(f"typed refusals whose message does not name the argument: {len(unnamed)} of {named_of} checked")
    for r in sorted(unnamed, key=lambda r: r["id"]):
        w(f"- [unnamed {r['argument']}] {r['id']}: `{r['code']}` -> {r['message']}")
    w()
    findings = [r for r in results if r["outcome"] not in ("typed", "ok", "n/a")]
    w(f"findings ({len(findings)}: every probe that is not typed / ok):")
    for r in sorted(findings, key=lambda r: (r["outcome"], r["entry"], r["id"])):
        w(f"- [{r['outcome']}] {r['id']}: `{r['code']}` -> {r['message']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", help="write every result (and the counts) to this JSON file")
    ap.add_argument("--quick", action="store_true", help="a smoke subset (every 6th probe)")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds before a probe counts as a hang (default 20)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--only", action="append", help="entry point (e.g. solve_output, store, dynamic.plan); repeatable; "
                                                    "a prefix matches (dynamic)")
    ap.add_argument("--random", type=int, default=0, metavar="N",
                    help="also solve N random static problems (seeded; magnitudes 1e+-250, every method), each "
                         "checked by its residual recomputed in long double (entry point random_static)")
    ap.add_argument("--list", action="store_true", help="list the probes and exit")
    args = ap.parse_args(argv)
    probes = all_probes() + random_probes(args.random)
    if args.only:
        probes = [p for p in probes if any(p.entry == o or p.entry.startswith(o + ".") for o in args.only)]
    if args.quick:
        probes = probes[::6]
    if args.list:
        for p in probes:
            print(p.kind, p.id, p.code)
        return 0
    import bigplan

    t0 = time.perf_counter()
    results = run_all(probes, workers=args.workers, timeout=args.timeout)
    wall = time.perf_counter() - t0
    report(results)
    print(f"\n{len(results)} probes in {wall:.0f} s ({args.workers} workers, timeout {args.timeout:g} s); "
          f"bigplan from {os.path.dirname(bigplan.__file__)}")
    if args.json:
        c = counts(results)
        payload = {"bigplan": os.path.dirname(bigplan.__file__), "seconds": wall, "workers": args.workers,
                   "timeout": args.timeout, "bad": dict(c["bad"]), "valid": dict(c["valid"]),
                   "by_entry": {k: dict(v) for k, v in c["by_entry"].items()}, "fixtures": FIXTURES,
                   "results": results}
        tmp = args.json + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(payload, fh, indent=1, default=str)
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
