#!/usr/bin/env python
"""Reading a big economy from parquet triplets: time and peak memory, against the solve of one plan.

Builds ``technical_matrix(n, inputs_per_product=20)`` (bigplan.synthetic), writes it as parquet triplets
with a labels file (:func:`bigplan.io.write_triplets`), then, in the same process:

* ``read_triplets``: the CSR arrays alone (batches into preallocated arrays);
* ``read_economy``: the whole economy, labels and productivity certificate included
  (``Economy.adopt``: the reader's CSR is taken over, not copied);
* ``Economy.save`` / ``bigplan.io.load`` of the one-file format (``.npz``);
* ``solve_output`` of one plan (``synthetic.final_demand``) on the economy just read, default method.

Memory is the high-water mark of the resident set size above the RSS before each step (Linux
``clear_refs`` reset; pyarrow's own pool included), and its ratio to the CSR's bytes.  ``--matrix-market``
adds the same read from a ``.mtx`` file (SciPy's fast_matrix_market).

Examples::

    python benchmarks/read_economy.py                 # 10^6 products x 20 inputs
    python benchmarks/read_economy.py --n 10000000    # the issue's 10^7 x 20 = 2 x 10^8 non-zeros
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import time

import _measure as measure
import numpy as np
import pandas as pd

import bigplan
from bigplan import io as bio
from bigplan.synthetic import final_demand, technical_matrix


def _step(fn):
    """(seconds, peak extra RSS bytes, result) of ``fn()``."""
    gc.collect()
    base = measure.rss_bytes()
    ok = measure.reset_peak_rss()
    t0 = time.perf_counter()
    out = fn()
    sec = time.perf_counter() - t0
    peak = measure.peak_rss_bytes() - base if ok else None
    return sec, peak, out


class _Rows(list):
    """The result rows, each also printed as it comes (a long run killed midway keeps its figures)."""

    def append(self, row):
        super().append(row)
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="products (default 10^6)")
    ap.add_argument("--inputs", type=float, default=20, help="inputs per product (default 20)")
    ap.add_argument("--dir", default=None, help="folder for the files (default: a temporary one, removed)")
    ap.add_argument("--matrix-market", action="store_true", help="also time a Matrix Market read")
    ap.add_argument("--no-labels", action="store_true", help="positions only (no labels file)")
    ap.add_argument("--no-npz", action="store_true", help="skip Economy.save / bigplan.io.load")
    args = ap.parse_args(argv)
    measure.print_machine(measure.machine_info(devices=False))
    folder = args.dir or tempfile.mkdtemp(prefix="bigplan-read-")
    os.makedirs(folder, exist_ok=True)
    rows = _Rows()
    try:
        t, _, A = _step(lambda: technical_matrix(args.n, inputs_per_product=args.inputs, seed=0))
        csr = measure.csr_bytes(A)
        print(f"built technical_matrix(n={args.n:,}): nnz={A.nnz:,}, CSR {csr / 2**30:.2f} GiB, {t:.1f} s")
        labels = None if args.no_labels else pd.Index([f"p{i:08d}" for i in range(args.n)], name="product")
        shell = type("Shell", (), {"A": A, "labels": labels})()
        path = os.path.join(folder, "A.parquet")
        t, peak, _ = _step(lambda: bio.write_triplets(shell, path, overwrite=True))
        side = os.path.join(folder, "A.labels.parquet")
        size = os.path.getsize(path) + (os.path.getsize(side) if os.path.exists(side) else 0)
        rows.append(dict(step="write_triplets (+ labels)", s=t, peak=peak, ratio=None, note=f"{size / 2**30:.2f} GiB"))
        if args.matrix_market:
            mtx = os.path.join(folder, "A.mtx")
            t, peak, _ = _step(lambda: bio.write_matrix_market(A, mtx, overwrite=True))
            rows.append(dict(step="write_matrix_market", s=t, peak=peak, note=f"{os.path.getsize(mtx) / 2**30:.2f} GiB"))
        del A, shell
        gc.collect()

        t, peak, M = _step(lambda: bio.read_triplets(path, n=args.n))
        rows.append(dict(step="read_triplets (CSR arrays)", s=t, peak=peak, ratio=peak / csr if peak else None,
                         note=f"nnz {M.nnz:,}"))
        del M
        if args.matrix_market:
            t, peak, M = _step(lambda: bio.read_matrix_market(mtx))
            rows.append(dict(step="read_matrix_market", s=t, peak=peak, ratio=peak / csr if peak else None, note=""))
            del M
        t, peak, e = _step(lambda: bio.read_economy(path))
        rows.append(dict(step="read_economy (" + ("positions" if args.no_labels else "labels") + ", certificate)",
                         s=t, peak=peak,
                         ratio=peak / csr if peak else None, note=f"{e.productivity.method}"))
        npz = os.path.join(folder, "e.npz")
        t, peak, _ = (None, None, None) if args.no_npz else _step(lambda: e.save(npz))
        if not args.no_npz:
            rows.append(dict(step="Economy.save (.npz)", s=t, peak=peak,
                             note=f"{os.path.getsize(npz) / 2**30:.2f} GiB"))
            del e
            t, peak, e = _step(lambda: bio.load(npz))
            rows.append(dict(step="bigplan.io.load (.npz)", s=t, peak=peak, ratio=peak / csr if peak else None,
                             note="labels, certificate"))
        y = final_demand(args.n, seed=1)
        t, peak, sol = _step(lambda: bigplan.solve_output(e, y))
        rows.append(dict(step="solve_output, one plan", s=t, peak=peak, ratio=peak / csr if peak else None,
                         note=f"{sol.evidence.method}, {sol.evidence.iterations} it, res {float(np.max(sol.residual)):.1e}"))
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    for r in rows:
        r["peak"] = None if r.get("peak") is None else r["peak"] / 2**30
    measure.table(rows, [("step", "step"), ("s", "seconds"), ("peak", "peak extra RSS GiB"),
                         ("ratio", "peak / CSR"), ("note", "note")])


if __name__ == "__main__":
    main()
