#!/usr/bin/env python
"""What the command line costs over the library call: ``bigplan solve`` vs :func:`bigplan.solve_output`.

The same economy (``synthetic_economy(n)``: the CLI's ``synthetic:N``, saved as a one-file ``.npz``) and the
same ``k`` plans (``synthetic.final_demand(n, k)``, saved as parquet) are solved

* ``library``: ``bigplan.solve_output(econ, Y)`` on arrays already in memory;
* ``cli``: ``bigplan.cli.main(["solve", "-e", econ.npz, "-p", plans.parquet, "-o", out.npy])`` in this
  process: reading both files, the solve, writing outputs and labour (atomically, fsync-ed);
* ``cli --chunk``: the same, resumable, in chunks of ``k / 10`` plans (input hash, chunk files, assembly);
* ``subprocess``: ``python -m bigplan solve ...`` (adds the interpreter start and the imports).

Overhead = time / library time - 1 (the goal: under 10 % at n = 10^5, k = 1,000).  Each figure is the best
of ``--repeat`` runs.  The defaults are small (a short run); ``--full`` is the issue's size.

Examples::

    python benchmarks/cli_overhead.py                      # n = 20,000, k = 200
    python benchmarks/cli_overhead.py --full --repeat 2    # n = 100,000, k = 1,000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _measure as measure
import numpy as np
import pandas as pd

import bigplan
from bigplan import cli, synthetic
from bigplan._cli.inputs import synthetic_economy

ROOT = Path(__file__).resolve().parent.parent


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--full", action="store_true", help="n = 100,000 and k = 1,000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--method", default="auto")
    ap.add_argument("--no-subprocess", action="store_true")
    args = ap.parse_args(argv)
    n, k = (100_000, 1_000) if args.full else (args.n, args.k)
    measure.print_machine(measure.machine_info())
    with tempfile.TemporaryDirectory(prefix="bigplan-cli-bench-", dir=os.environ.get("TMPDIR")) as tmp:
        tmp = Path(tmp)
        econ = synthetic_economy(n)
        Y = np.asarray(synthetic.final_demand(n, k, seed=0), dtype=float).reshape(n, k)
        econ.save(tmp / "econ.npz")
        plans = pd.DataFrame(Y, index=econ.labels, columns=[f"plan{j}" for j in range(k)])
        plans.reset_index().to_parquet(tmp / "plans.parquet", index=False)  # labels as the first column
        size = sum(f.stat().st_size for f in tmp.iterdir()) / 2**20
        print(f"n = {n:,} products, k = {k:,} plans, method {args.method}; inputs on disk {size:,.0f} MiB\n")

        def library() -> float:
            # a fresh economy object, as the command has in every run (its first solve builds the operator and
            # workspace); reading it is not timed here
            fresh = bigplan.io.load(tmp / "econ.npz")
            t0 = time.perf_counter()
            bigplan.solve_output(fresh, Y, method=args.method)
            return time.perf_counter() - t0

        lib = min(library() for _ in range(args.repeat))
        warm = best(lambda: bigplan.solve_output(econ, Y, method=args.method), args.repeat)
        base = ["solve", "-e", str(tmp / "econ.npz"), "-p", str(tmp / "plans.parquet"), "--method", args.method,
                "--overwrite", "-q"]
        last = {}

        def run_cli(extra):
            import contextlib
            import io

            buf = io.StringIO()
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
                rc = cli.main([*base, "-o", str(tmp / "out.npy"), "--json", *extra])
            assert rc == 0, buf.getvalue()
            last.update(json.loads(buf.getvalue()))

        rows = [("library: solve_output(econ, Y), first solve on the economy", lib, None),
                ("library: a later solve on the same economy (for reference)", warm, None)]
        t = best(lambda: run_cli([]), args.repeat)
        rows.append(("cli in-process: files in, solve, files out", t, dict(last["seconds"])))
        chunk = max(1, k // 10)
        t = best(lambda: run_cli(["--chunk", str(chunk)]), args.repeat)
        rows.append((f"cli in-process --chunk {chunk}", t, dict(last["seconds"])))
        if not args.no_subprocess:
            env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
            cmd = [sys.executable, "-m", "bigplan", *base, "-o", str(tmp / "out.npy")]
            t = best(lambda: subprocess.run(cmd, check=True, env=env, cwd=tmp, capture_output=True), args.repeat)
            rows.append(("subprocess: python -m bigplan solve", t, None))
        print("| run | seconds | overhead vs library | CLI's own split (load / solve / total) |")
        print("| --- | ---: | ---: | --- |")
        for name, t, split in rows:
            over = f"{(t / lib - 1) * 100:+.1f} %" if t is not lib else ""
            parts = "" if split is None else f"{split['load']:.2f} / {split['solve']:.2f} / {split['total']:.2f}"
            print(f"| {name} | {t:.3f} | {over} | {parts} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
