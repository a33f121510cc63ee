#!/usr/bin/env python
"""The GPU run of issue 3, in one command (about 8 minutes on one H100).

    python benchmarks/gpu_scale.py            # writes $OUT/gpu_scale.json when OUT is set

First the realistic 10^6 and 10^7 matrices are generated once into the disk
cache (``.asv/cache``, npz).  Then, per GPU backend, each in a child process of
its own (so one library's memory pool never hides the card from another, and a
crash loses only that backend's remaining rows; every child saves its JSON after
each step), one per real code path of a product: ``cupy`` (cuSPARSE through
cupyx); ``jax-csr``, JAX with ``jax.experimental.sparse.CSR`` (bigplan's default on
a GPU: lowered straight to cuSPARSE); ``jax-bcsr``, JAX with ``BCSR`` and
``jax_bcoo_cusparse_lowering`` on (cuSPARSE after a pass that rewrites the index
buffers).  The JAX format is chosen through ``BIGPLAN_JAX_SPARSE`` in the child's
environment (``JaxBackend(sparse_format="auto")`` reads it):

1. device copy bandwidth (a 1 GiB device-to-device copy; bytes read + written per second);
2. at 10^6 and 10^7 products x 30 inputs: the effective bandwidth of one sparse
   mat-vec, ``nnz * (8 + index bytes) + (n + 1) * index bytes + 16 n`` bytes over
   its best time, and its fraction of the copy bandwidth, for bigplan's product
   (the in-place ``i_minus``, ``X - A X`` on an ``(n, 1)`` block, what the solver
   does) and the library's 1-D
   mat-vec; one plan at spectral radius 0.7 and 0.95, ``rtol=1e-10`` (first call,
   then the best of ``--repeat``), with iterations, residual and device memory;
3. a batch of ``--k`` (256) plans at the ``--batch-sizes`` (10^6);
4. the largest economy that solves: n = 10^7 x 2, x 4, ... (30 inputs) until
   out of device memory, host memory, ``--max-n`` or the time budget.  These
   matrices come from a fast generator of uniform structure (see
   ``uniform_matrix``: exactly 30 distinct inputs per product, row sums equal to
   the radius, so the spectral radius is exactly 0.7); the realistic generator
   would need minutes per size.

Then, on the host, the NumPy backend and SciPy's ``bicgstab`` at 10^6 for
comparison.  Plans live on the device and every timing waits for the device.
Backends that are not installed, and JAX without a GPU (unless
``--allow-jax-cpu``), are printed as skipped.  The time budget is shared: the
children split what the setup leaves, less 90 s kept for the CPU rows.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time

INT32_MAX = 2**31 - 1

#: GPU rows: label -> (bigplan backend, extra environment of its child process), one per code path of
#: a product.  "jax-csr" is JAX as bigplan uses it on a GPU (``jax.experimental.sparse.CSR``, lowered
#: straight to cuSPARSE); "jax-bcsr" holds the matrix as BCSR, which the backend sends to cuSPARSE with
#: ``jax_bcoo_cusparse_lowering`` on, after JAX's pass over the index buffers.
GPU_VARIANTS = {
    "cupy": ("cupy", {}),
    "jax-csr": ("jax", {"BIGPLAN_JAX_SPARSE": "csr"}),
    "jax-bcsr": ("jax", {"BIGPLAN_JAX_SPARSE": "bcsr"}),
}


def _num(s: str) -> int:
    return int(float(s))


def _parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1e6,1e7", help="products for the bandwidth and one-plan rows (default 1e6,1e7)")
    p.add_argument("--radii", default="0.7,0.95", help="spectral radii (default 0.7,0.95)")
    p.add_argument("--inputs", type=float, default=30, help="inputs per product (default 30)")
    p.add_argument("--k", type=int, default=256, help="plans in the batch (default 256)")
    p.add_argument(
        "--batch-sizes",
        default="1e6",
        help="products for the batch rows (default 1e6; 1e7 x 256 plans is 20 GB of plans alone)",
    )
    p.add_argument("--rtol", type=float, default=1e-10)
    p.add_argument("--repeat", type=int, default=3, help="timed solves per row after the first call; best shown")
    p.add_argument(
        "--backends",
        default="cupy,jax-csr,jax-bcsr,numpy,scipy",
        help="comma-separated (default all; jax-csr / jax-bcsr = JAX holding the matrix as CSR / BCSR)",
    )
    p.add_argument("--cpu-max-n", type=_num, default=10**6, help="largest n for the NumPy/SciPy rows (default 1e6)")
    p.add_argument("--search-from", type=_num, default=10**7, help="first n of the largest-economy search")
    p.add_argument("--max-n", type=_num, default=10**9, help="stop the search above this n")
    p.add_argument("--no-search", action="store_true", help="skip the largest-economy search")
    p.add_argument("--time-budget", type=float, default=450, help="seconds for the whole run (default 450)")
    p.add_argument("--allow-jax-cpu", action="store_true", help="run the JAX rows on a CPU (to test this script)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="JSON output (default $OUT/gpu_scale.json when OUT is set)")
    # internal: one backend in a child process
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--label", default=None, help=argparse.SUPPRESS)
    p.add_argument("--deadline", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--child-out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.sizes = [_num(s) for s in args.sizes.split(",") if s.strip()]
    args.batch_sizes = [_num(s) for s in args.batch_sizes.split(",") if s.strip()]
    args.radii = [float(s) for s in args.radii.split(",") if s.strip()]
    args.backends = [s.strip() for s in args.backends.split(",") if s.strip()]
    return args


def _say(tag: str, msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] [{tag}] {msg}", flush=True)


# ---------------------------------------------------------------------------
# fast matrices for the size search
# ---------------------------------------------------------------------------
def uniform_matrix(n: int, inputs: int = 30, radius: float = 0.7, seed: int = 0):
    """CSR ``A`` with exactly ``inputs`` distinct entries per row, every row summing to ``radius``.

    Entry ``s`` of row ``i`` lies in the ``s``-th of ``inputs`` equal column
    ranges (uniform inside it), so a row's columns are sorted and distinct by
    construction; values are uniform in [0.5, 1.5), then scaled so that the row
    sums to ``radius``.  ``A 1 = radius 1`` with ``A >= 0``: the spectral radius is
    exactly ``radius``.  Unlike ``bigplan.synthetic.technical_matrix`` there is
    no sector structure (mat-vecs gather ``x`` at random: a pessimistic layout),
    but it costs seconds per 10^8 non-zeros.  Index type: int32 while
    ``nnz < 2**31``, else int64.
    """
    import numpy as np
    import scipy.sparse as sp

    m = int(inputs)
    if n < m:
        raise ValueError(f"n={n} must be >= inputs={m}")
    nnz = n * m
    itype = np.int32 if nnz <= INT32_MAX else np.int64
    indptr = np.arange(0, nnz + 1, m, dtype=itype)
    indices = np.empty(nnz, dtype=itype)
    data = np.empty(nnz, dtype=np.float64)
    edges = (np.arange(m + 1, dtype=np.int64) * n) // m
    lo, width = edges[:-1], np.diff(edges)
    rng = np.random.default_rng(seed)
    rows = max(1, (1 << 22) // m)
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        u = rng.random((r1 - r0, m))
        cols = lo + (u * width).astype(np.int64)
        indices[r0 * m : r1 * m] = cols.ravel()
        v = rng.random((r1 - r0, m))
        v += 0.5
        v *= radius / v.sum(axis=1, keepdims=True)
        data[r0 * m : r1 * m] = v.ravel()
    A = sp.csr_matrix((data, indices, indptr), shape=(n, n))
    A.has_sorted_indices = True
    return A


# ---------------------------------------------------------------------------
# one backend
# ---------------------------------------------------------------------------
def run_backend(name: str, args, deadline: float, out: dict, save, label: str | None = None) -> None:
    """Measure backend ``name`` (cupy, jax or numpy) into ``out`` (rows named ``label``), saving after each step."""
    import _measure as measure

    # benchmarks/benchmarks/common.py: the asv suite's cached economies
    from benchmarks import common

    label = label or name

    def say(msg):
        _say(label, msg)

    def left():
        return deadline - time.time()

    out.setdefault("copy", None)
    for key in ("spmv", "solves", "search", "skipped"):
        out.setdefault(key, [])

    def skip(what: str, why: str) -> None:
        say(f"{what}: skipped: {why}")
        out["skipped"].append({"backend": label, "what": what, "reason": why})
        save()

    why = common.unavailable(name, gpu=(name != "numpy" and not args.allow_jax_cpu))
    if why:
        skip("all", why)
        return
    device = name != "numpy"
    if device:
        out["device"] = measure.machine_info(devices=name)
        save()

    # 1. copy bandwidth
    try:
        cb = measure.copy_bandwidth(name)
        out["copy"] = cb
        say(f"copy bandwidth {cb['bandwidth'] / 1e9:.1f} GB/s ({cb['how']}, {cb['bytes'] / 2**30:.2f} GiB moved)")
        save()
    except Exception as exc:  # noqa: BLE001 - reported, the rest goes on
        skip("copy bandwidth", f"{type(exc).__name__}: {exc}")

    sizes = [n for n in args.sizes if device or n <= args.cpu_max_n]
    gen_rate = None  # seconds per non-zero of the realistic generator, once measured
    if not sizes:
        skip("sizes", f"none of {args.sizes} is <= --cpu-max-n={args.cpu_max_n:,}")

    def solve_row(econ, n, radius, k, Y) -> dict:
        row = {"backend": label, "n": n, "nnz": econ.nnz, "radius": radius, "k": k, "matrix": "technical_matrix"}
        try:
            t0 = time.perf_counter()
            measure.solve(econ, Y, name, args.rtol)
            row["first_s"] = time.perf_counter() - t0
            best = None
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                sol = measure.solve(econ, Y, name, args.rtol)
                dt = time.perf_counter() - t0
                if best is None or dt < best:
                    best = dt
                    row.update(measure.figures_of(sol))
                del sol
            row["seconds"] = best
            if device:  # one more, untimed: from an emptied CuPy pool (its refill would cost time above)
                row["device_bytes"] = measure.device_bytes_of_solve(econ, Y, name, args.rtol)
        except Exception as exc:  # noqa: BLE001
            row["note"] = f"{'out of memory' if measure.is_out_of_memory(exc) else 'failed'}: {type(exc).__name__}: {exc}"
        measure.gpu_memory_reset(name)
        return row

    for n in sizes:
        nnz_est = n * args.inputs
        path = common.npz_path(n, args.inputs, args.seed)
        cached = path is not None and path.exists()
        if not cached and gen_rate is not None and gen_rate * nnz_est + 30 > left():
            skip(f"n={n:,}", f"time budget (generating it takes about {gen_rate * nnz_est:.0f} s, {left():.0f} s left)")
            continue
        t0 = time.perf_counter()
        common.matrix(n, args.inputs, 0.7, args.seed, progress=say)  # the base, kept for the scaled radii
        if not cached:
            gen_rate = (time.perf_counter() - t0) / nnz_est
        for radius in args.radii:
            econ = common.economy(n, args.inputs, radius, args.seed, progress=say)
            if radius == args.radii[0]:
                for path_kind in ("bigplan", "library"):
                    try:
                        r = measure.spmv(econ, name, path_kind)
                        r.update(backend=label, n=n, nnz=econ.nnz)
                        if out["copy"]:
                            r["fraction"] = r["bandwidth"] / out["copy"]["bandwidth"]
                        out["spmv"].append(r)
                        say(
                            f"n={n:,} SpMV ({path_kind}): {r['seconds'] * 1e3:.3f} ms, {r['bandwidth'] / 1e9:.1f} GB/s"
                            + (f", {r['fraction']:.0%} of copy" if "fraction" in r else "")
                        )
                    except Exception as exc:  # noqa: BLE001
                        skip(f"SpMV n={n:,} {path_kind}", f"{type(exc).__name__}: {exc}")
                    save()
            if left() < 10:
                skip(f"solve n={n:,} radius={radius}", "time budget")
                continue
            y = measure.to_backend(common.demand(n, 1, seed=args.seed + 1), name)
            row = solve_row(econ, n, radius, 1, y)
            del y
            out["solves"].append(row)
            say(_row_text(row))
            save()
            if n in args.batch_sizes and (device or args.k <= 64):
                if left() < 30:
                    skip(f"batch n={n:,} radius={radius}", "time budget")
                else:
                    Y = measure.to_backend(common.demand(n, args.k, seed=args.seed + 2), name)
                    row = solve_row(econ, n, radius, args.k, Y)
                    del Y
                    out["solves"].append(row)
                    say(_row_text(row))
                    save()
            elif n in args.batch_sizes:
                skip(f"batch n={n:,} k={args.k}", "NumPy rows keep to k <= 64 (CPU time)")
            del econ
        common.forget(n)
        measure.gpu_memory_reset(name)
        gc.collect()

    if device and not args.no_search:
        search(name, label, args, deadline, out, save)


def _row_text(row: dict) -> str:
    head = f"n={row['n']:,} radius={row['radius']} k={row['k']}"
    if "seconds" not in row:
        return f"{head}: {row.get('note')}"
    mem = row.get("device_bytes")
    first = f" (first call {row['first_s']:.3g} s)" if row.get("first_s") is not None else ""
    return (
        f"{head}: {row['seconds']:.4g} s{first}, {row['iterations']} iterations, "
        f"residual {row['residual']:.2e}{'' if row['converged'] else ' NOT CONVERGED'}"
        + (f", device memory {mem / 2**30:.2f} GiB" if mem else "")
    )


def search(name: str, label: str, args, deadline: float, out: dict, save) -> None:
    """Double n from --search-from until the solve no longer fits (or host memory, --max-n, time)."""
    import _measure as measure

    import bigplan
    from benchmarks import common

    def say(msg):
        _say(label, msg)

    done = {r["n"] for r in out["solves"] if r.get("k") == 1 and r.get("converged")}
    n = args.search_from * (2 if args.search_from in done else 1)
    rate = None  # seconds per non-zero for generate + build + solve, from the last step
    while n <= args.max_n:
        nnz = n * int(args.inputs)
        ib = 4 if nnz <= INT32_MAX else 8
        csr = nnz * (8 + ib) + (n + 1) * ib
        row = {"backend": label, "n": n, "nnz": nnz, "radius": 0.7, "k": 1, "matrix": "uniform", "csr_bytes": csr}
        avail = measure.host_memory_available()
        if avail is not None and 2.2 * csr + 16 * n + 2**30 > avail:
            row["note"] = f"stop: host memory ({2.2 * csr / 2**30:.0f} GiB needed to build it, {avail / 2**30:.0f} available)"
        elif rate is not None and rate * nnz * 1.2 > deadline - time.time():
            row["note"] = f"stop: time budget (about {rate * nnz:.0f} s needed, {deadline - time.time():.0f} s left)"
        if "note" in row:
            out["search"].append(row)
            say(f"search n={n:,}: {row['note']}")
            save()
            return
        t0 = time.perf_counter()
        econ = y = sol = None
        try:
            say(f"search n={n:,}: generating ({csr / 2**30:.1f} GiB of CSR) ...")
            A = uniform_matrix(n, int(args.inputs), 0.7, seed=args.seed)
            row["generate_s"] = time.perf_counter() - t0
            econ = bigplan.Economy(A)
            del A
            row["build_s"] = time.perf_counter() - t0 - row["generate_s"]
            y = measure.to_backend(common.demand(n, 1, seed=args.seed + 1), name)
            measure.gpu_memory_reset(name)
            say(f"search n={n:,}: solving ...")
            t1 = time.perf_counter()
            sol = measure.solve(econ, y, name, args.rtol)
            row["seconds"] = time.perf_counter() - t1
            row.update(measure.figures_of(sol))
            row["device_bytes"] = measure.gpu_memory_bytes(name)
            if not sol.converged:
                row["note"] = "did not converge"
        except Exception as exc:  # noqa: BLE001 - the point of the search
            kind = "out of memory" if measure.is_out_of_memory(exc) else "failed"
            row["note"] = f"{kind}: {type(exc).__name__}: {str(exc)[:300]}"
        finally:
            del econ, y, sol
            gc.collect()
            measure.gpu_memory_reset(name)
        rate = (time.perf_counter() - t0) / nnz
        out["search"].append(row)
        say(f"search {_row_text(row)}")
        save()
        if "note" in row:
            return
        n *= 2
    out["search"].append({"backend": label, "n": n, "note": f"stop: --max-n={args.max_n:,}"})
    save()


def scipy_rows(args, deadline: float, out: dict, save) -> None:
    """SciPy's bicgstab, one plan, at the sizes <= --cpu-max-n and every radius."""
    import _measure as measure

    import bigplan

    # benchmarks/benchmarks/common.py: the asv suite's cached economies
    from benchmarks import common

    warm = bigplan.synthetic.technical_matrix(5000, inputs_per_product=args.inputs)
    measure.scipy_bicgstab(measure.leontief_csr(warm), bigplan.synthetic.final_demand(5000), args.rtol)
    for n in [n for n in args.sizes if n <= args.cpu_max_n]:
        for radius in args.radii:
            if deadline - time.time() < 20:
                out["skipped"].append({"backend": "scipy", "what": f"n={n:,} radius={radius}", "reason": "time budget"})
                continue
            M = measure.leontief_csr(common.matrix(n, args.inputs, radius, args.seed, progress=lambda m: _say("scipy", m)))
            y = common.demand(n, 1, seed=args.seed + 1)
            t0 = time.perf_counter()
            x, info, its = measure.scipy_bicgstab(M, y, args.rtol)
            dt = time.perf_counter() - t0
            row = {
                "backend": "scipy",
                "n": n,
                "nnz": M.nnz - n,
                "radius": radius,
                "k": 1,
                "matrix": "technical_matrix",
                "seconds": dt,
                "iterations": its,
                "matvecs": 2 * its,
                "residual": measure.relative_residual(M, y, x),
                "converged": info == 0,
            }
            out["solves"].append(row)
            _say("scipy", f"n={n:,} radius={radius}: {dt:.3g} s, {its} iterations, residual {row['residual']:.2e}")
            save()
        common.forget(n)


# ---------------------------------------------------------------------------
# orchestration
# ---------------------------------------------------------------------------
def _child(args) -> int:
    out: dict = {}

    def save():
        with open(args.child_out + ".tmp", "w") as f:
            json.dump(out, f, default=str)
        os.replace(args.child_out + ".tmp", args.child_out)

    run_backend(args.child, args, args.deadline, out, save, label=args.label)
    save()
    return 0


def _child_argv(args, name: str, label: str, deadline: float, path: str) -> list[str]:
    argv = [
        sys.executable,
        os.path.abspath(__file__),
        "--child", name, "--label", label, "--deadline", repr(deadline), "--child-out", path,
        "--sizes", ",".join(map(str, args.sizes)),
        "--batch-sizes", ",".join(map(str, args.batch_sizes)) or "0",
        "--radii", ",".join(map(str, args.radii)),
        "--inputs", repr(args.inputs), "--k", str(args.k), "--rtol", repr(args.rtol),
        "--repeat", str(args.repeat), "--cpu-max-n", str(args.cpu_max_n),
        "--search-from", str(args.search_from), "--max-n", str(args.max_n), "--seed", str(args.seed),
    ]  # fmt: skip
    if args.no_search:
        argv.append("--no-search")
    if args.allow_jax_cpu:
        argv.append("--allow-jax-cpu")
    return argv


def main(argv=None) -> int:
    args = _parse(argv)
    # before JAX loads anywhere (children inherit): grow JAX's pool on demand, up to most of the card
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    os.environ.setdefault("XLA_PYTHON_CLIENT_MEM_FRACTION", "0.92")
    if args.child:
        return _child(args)

    start = time.time()
    end = start + args.time_budget
    import _measure as measure

    # benchmarks/benchmarks/common.py: the asv suite's cached economies
    from benchmarks import common
    from bigplan.backend import available_backends

    result: dict = {"args": {k: v for k, v in vars(args).items() if k not in ("child", "deadline", "child_out")}}
    result["machine"] = measure.machine_info(devices=False)
    print("bigplan GPU scale run (issue 3)")
    measure.print_machine(result["machine"])
    json_path = args.json or (os.path.join(os.environ["OUT"], "gpu_scale.json") if os.environ.get("OUT") else None)
    merged: dict = {"backends": {}, "spmv": [], "solves": [], "search": [], "skipped": []}
    result.update(merged)

    def save():
        if json_path:
            measure.write_json(json_path, result)

    installed = available_backends()
    gpu = [b for b in args.backends if b in GPU_VARIANTS]
    unknown = [b for b in args.backends if b not in GPU_VARIANTS and b not in ("numpy", "scipy")]
    for b in unknown:
        result["skipped"].append({"backend": b, "what": "all", "reason": "unknown backend"})

    # the realistic matrices, generated once into the disk cache (children and the CPU rows load them)
    if common.cache_dir() is not None and (gpu or "numpy" in args.backends or "scipy" in args.backends):
        for n in args.sizes:
            if time.time() > end - 60:
                break
            common.matrix(n, args.inputs, 0.7, args.seed, keep=False, progress=lambda m: _say("setup", m))
    cpu_reserve = 90.0 if any(b in args.backends for b in ("numpy", "scipy")) else 0.0
    tmp = tempfile.mkdtemp(prefix="gpu_scale_")
    for i, label in enumerate(gpu):
        name, env = GPU_VARIANTS[label]
        if name not in installed:
            why = f"{name} is not installed" + (" or sees no CUDA device" if name == "cupy" else "")
            _say(label, f"skipped: {why}")
            result["skipped"].append({"backend": label, "what": "all", "reason": why})
            continue
        share = (end - cpu_reserve - time.time()) / (len(gpu) - i)
        if share < 30:
            result["skipped"].append({"backend": label, "what": "all", "reason": "time budget"})
            continue
        deadline = time.time() + share
        path = os.path.join(tmp, f"{label}.json")
        _say(label, f"child process, {share:.0f} s budget" + (f", environment {env}" if env else ""))
        try:
            rc = subprocess.run(
                _child_argv(args, name, label, deadline, path), timeout=share + 120, env={**os.environ, **env}
            ).returncode
        except subprocess.TimeoutExpired:
            rc = "killed after its time budget"
        part = {}
        if os.path.exists(path):
            with open(path) as f:
                part = json.load(f)
        if rc != 0:
            result["skipped"].append({"backend": label, "what": "rest", "reason": f"child exited: {rc}"})
        result["backends"][label] = {"copy": part.get("copy"), "device": part.get("device"), "environment": env}
        for key in ("spmv", "solves", "search", "skipped"):
            result[key].extend(part.get(key, []))
        save()

    # the CPU reference, in this process
    if "numpy" in args.backends:
        part: dict = {}
        run_backend("numpy", args, end, part, lambda: None)
        result["backends"]["numpy"] = {"copy": part.get("copy")}
        for key in ("spmv", "solves", "skipped"):
            result[key].extend(part.get(key, []))
        save()
    if "scipy" in args.backends:
        scipy_rows(args, end, result, save)

    report(result, args)
    save()
    if json_path:
        print(f"\nwrote {json_path}")
    return 0


def report(result: dict, args) -> None:
    """Print the run's tables and the issue-3 goals."""
    import _measure as measure

    print("\n== copy bandwidth (read + write bytes / s) ==")
    for name, b in result["backends"].items():
        c = b.get("copy")
        if c:
            print(f"  {name:<14} {c['bandwidth'] / 1e9:8.1f} GB/s  ({c['how']})")
    print("\n== one sparse mat-vec, 30 inputs per product ==")
    rows = [dict(r, gbs=r["bandwidth"] / 1e9, ms=r["seconds"] * 1e3, mib=r["bytes"] / 2**20) for r in result["spmv"]]
    measure.table(
        rows,
        [("backend", "backend"), ("n", "n"), ("nnz", "nnz"), ("path", "path"), ("ms", "ms"), ("mib", "MiB moved"),
         ("gbs", "GB/s"), ("fraction", "of copy"), ("index_bytes", "index B")],
    )  # fmt: skip
    print(f"\n== solves, rtol={args.rtol:g} (plans on the device; best of {args.repeat} after a first call) ==")
    rows = [dict(r, dev_gib=(r.get("device_bytes") or 0) / 2**30 or None) for r in result["solves"]]
    measure.table(
        rows,
        [("backend", "backend"), ("n", "n"), ("radius", "radius"), ("k", "plans"), ("seconds", "time s"),
         ("first_s", "first s"), ("iterations", "iters"), ("matvecs", "matvecs"), ("residual", "max residual"),
         ("converged", "ok"), ("dev_gib", "device GiB"), ("note", "note")],
    )  # fmt: skip
    if result["search"]:
        print("\n== largest economy that solves (uniform structure, 30 inputs, radius 0.7, one plan) ==")
        rows = [dict(r, dev_gib=(r.get("device_bytes") or 0) / 2**30 or None) for r in result["search"]]
        measure.table(
            rows,
            [("backend", "backend"), ("n", "n"), ("nnz", "nnz"), ("generate_s", "generate s"), ("seconds", "solve s"),
             ("iterations", "iters"), ("residual", "max residual"), ("dev_gib", "device GiB"), ("note", "note")],
        )  # fmt: skip
    for s in result["skipped"]:
        print(f"skipped: {s['backend']} {s['what']}: {s['reason']}")
    print("\n== issue 3 goals ==")
    for name in GPU_VARIANTS:
        one = [r for r in result["solves"] if r["backend"] == name and r["k"] == 1 and r["n"] == 10**7 and "seconds" in r]
        for r in one:
            print(f"  {name}: 10^7 x {args.inputs:g}, radius {r['radius']}, one plan: {r['seconds']:.4f} s (goal < 0.1 s)")
        sp_ = [r for r in result["spmv"] if r["backend"] == name and r.get("fraction") is not None]
        for r in sp_:
            print(f"  {name}: SpMV n={r['n']:,} ({r['path']}): {r['fraction']:.0%} of copy bandwidth (goal >= 70%)")
        batch = [r for r in result["solves"] if r["backend"] == name and r["k"] == args.k and r["n"] == 10**6]
        for r in batch:
            t = r.get("seconds")
            print(f"  {name}: 10^6 x {args.k} plans, radius {r['radius']}: " + (f"{t:.3f} s (goal < 1 s)" if t else r.get("note", "")))
        ok = [r["n"] for r in result["solves"] + result["search"] if r["backend"] == name and r.get("converged")]
        if ok:
            print(f"  {name}: largest economy solved here: n={max(ok):,} (10^8 x 30 is the H200 goal)")
    cpu = {(r["backend"], r["radius"]): r for r in result["solves"] if r["n"] == 10**6 and r["k"] == 1 and "seconds" in r}
    for radius in args.radii:
        a, b = cpu.get(("numpy", radius)), cpu.get(("scipy", radius))
        if a and b:
            print(f"  CPU, 10^6, radius {radius}: bigplan-numpy / SciPy = {a['seconds'] / b['seconds']:.2f} (goal <= 1)")


if __name__ == "__main__":
    sys.exit(main())
