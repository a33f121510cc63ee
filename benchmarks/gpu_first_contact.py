#!/usr/bin/env python
"""First contact with a GPU: what issue 15 could only reason about, measured in one short run.

    python benchmarks/gpu_first_contact.py            # one GPU, under 5 minutes
    python benchmarks/gpu_first_contact.py --small    # n = 10^5 products: a smoke test on the CPU

Each block below runs on its own and prints as it goes; one that fails prints
its error and the others still run:

1. devices and library versions;
2. the restart case (``technical_matrix(20000, column_sum=0.999)``, 16 plans of
   signed demand, ``rtol=1e-13``) on NumPy, CuPy and JAX: restarts, and the
   largest difference from NumPy's answer;
3. products at ``--n`` (10^7) products x 30 inputs, 1 and 64 plans: the solver's
   in-place ``i_minus`` against ``matmat`` and the library's own ``csr @ X``,
   with the bandwidth of each (bytes the product must move at least over its
   best time) and its fraction of the device copy bandwidth;
4. JAX's two sparse formats: BCSR against CSR, same products, same answers;
5. column dots: ``einsum`` against a reduction (CuPy's ``ReductionKernel`` in
   ``coldot``, ``(X * Y).sum(0)``), and JAX's ``einsum`` against ``sum``;
6. JAX compilations over three solves of different demand (one block shape);
7. ``Backend.synchronize`` against ``block_until_ready`` after queued products.

JAX's memory is left to grow on demand (``XLA_PYTHON_CLIENT_PREALLOCATE=false``,
set before JAX loads): otherwise JAX takes 75 % of the card from CuPy in this
process.  On a machine without a GPU, ``--small`` runs everything on the CPU
(JAX on the CPU, CuPy reported as unavailable).
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import argparse
import platform
import sys
import time
import traceback
from functools import partial

import _measure as measure
import numpy as np
import scipy.sparse as sp

import bigplan
from bigplan.backend import available_backends, get_backend
from bigplan.solvers import solve_block
from bigplan.synthetic import technical_matrix

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
INPUTS = 30


def _parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--small", action="store_true", help="n = 10^5 products (a smoke test, CPU is fine)")
    p.add_argument("--n", type=float, default=None, help="products for blocks 3-5 (default 10^7, --small 10^5)")
    p.add_argument("--plans", default="1,64", help="block widths for the products (default 1,64)")
    p.add_argument("--reps", type=int, default=3, help="timing batches per figure (best kept)")
    args = p.parse_args(argv)
    args.n = int(args.n or (10**5 if args.small else 10**7))
    args.plans = [int(k) for k in args.plans.split(",")]
    return args


def block(title: str):
    """Run the decorated function now, as one block: its failure is printed, never raised."""

    def run(fn):
        print(f"\n== {title} ==", flush=True)
        t0 = time.perf_counter()
        try:
            fn()
        except Exception:  # noqa: BLE001 - every block reports and the next one runs
            traceback.print_exc(file=sys.stdout)
            print(f"  [{title}: FAILED after {time.perf_counter() - t0:.1f} s; the other blocks go on]")
        else:
            print(f"  [{time.perf_counter() - t0:.1f} s]", flush=True)
        return fn

    return run


def gpu_backends() -> list[tuple[str, object]]:
    """The device backends present: (label, backend); JAX in both sparse formats."""
    out = []
    names = available_backends()
    if "cupy" in names:
        out.append(("cupy", get_backend("cupy")))
    if "jax" in names:
        from bigplan.gpu import JaxBackend

        out.append(("jax-csr", JaxBackend(sparse_format="csr")))
        out.append(("jax-bcsr", JaxBackend(sparse_format="bcsr")))
    return out


def library(label: str) -> str:
    return "cupy" if label == "cupy" else "jax"


def uniform_matrix(n: int, inputs: int = INPUTS, radius: float = 0.7, seed: int = 0) -> sp.csr_matrix:
    """Every product uses ``inputs`` distinct inputs at cyclic offsets; every row and column sums to ``radius``."""
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.choice(np.arange(1, n), size=inputs, replace=False)).astype(np.int64)
    cols = (np.arange(n, dtype=np.int64)[:, None] + offsets[None, :]) % n
    cols.sort(axis=1)
    indptr = np.arange(0, n * inputs + 1, inputs, dtype=np.int64)
    data = np.full(n * inputs, radius / inputs)
    return sp.csr_matrix((data, cols.ravel().astype(np.int32), indptr), shape=(n, n))


def main(argv=None) -> int:
    args = _parse(argv)
    t_start = time.perf_counter()
    print(f"bigplan GPU first contact (issue 15): n={args.n:,} for the products, plans {args.plans}")
    state: dict = {}

    @block("1. devices and library versions")
    def _versions():
        print(f"  python {platform.python_version()}, numpy {np.__version__}, bigplan {bigplan.__version__}")
        import scipy

        print(f"  scipy {scipy.__version__}; bigplan backends here: {available_backends()}")
        try:
            import cupy

            props = cupy.cuda.runtime.getDeviceProperties(0)
            print(
                f"  cupy {cupy.__version__}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}, "
                f"driver {cupy.cuda.runtime.driverGetVersion()}, device 0: {props['name'].decode()} "
                f"({props['totalGlobalMem'] / 2**30:.0f} GiB)"
            )
        except Exception as exc:  # noqa: BLE001
            print(f"  cupy: unavailable ({type(exc).__name__}: {exc})")
        try:
            import jax
            import jaxlib

            print(f"  jax {jax.__version__}, jaxlib {jaxlib.__version__}, devices {jax.devices()}")
            print(f"  XLA_PYTHON_CLIENT_PREALLOCATE={os.environ.get('XLA_PYTHON_CLIENT_PREALLOCATE')}")
        except Exception as exc:  # noqa: BLE001
            print(f"  jax: unavailable ({type(exc).__name__}: {exc})")
        state["backends"] = gpu_backends()
        print(f"  device backends measured below: {[label for label, _ in state['backends']]}")

    backends = state.get("backends") or []

    @block("2. the restart case: technical_matrix(20000, column_sum=0.999), 16 signed plans, rtol=1e-13")
    def _restart():
        n = 20000
        e = bigplan.Economy(technical_matrix(n, inputs_per_product=INPUTS, column_sum=0.999, seed=0))
        y = np.random.default_rng(0).standard_normal((n, 16))
        state["restart"] = (e, y)
        t0 = time.perf_counter()
        ref = solve_block(get_backend("numpy"), e, y, method="bicgstab", rtol=1e-13)
        print(f"  numpy: {time.perf_counter() - t0:.2f} s, restarts {ref.restarts}, converged {ref.converged.all()}")
        W = ref.X
        for label, bk in backends:
            try:
                t0 = time.perf_counter()
                got = solve_block(bk, e, y, method="bicgstab", rtol=1e-13)
                bk.synchronize()
                dt = time.perf_counter() - t0
                X = bk.to_numpy(got.X)
                diff = float(np.abs(X - W).max() / np.abs(W).max())
                print(
                    f"  {label}: {dt:.2f} s (first call), restarts {got.restarts}, converged {got.converged.all()}, "
                    f"max |x - x_numpy| / max |x_numpy| = {diff:.2e}"
                )
            except Exception as exc:  # noqa: BLE001
                print(f"  {label}: FAILED: {type(exc).__name__}: {exc}")

    @block(f"3. products at n={args.n:,} x {INPUTS} inputs: i_minus vs matmat vs the library's csr @ X")
    def _products():
        t0 = time.perf_counter()
        A = uniform_matrix(args.n)
        state["A"] = A
        print(f"  matrix: nnz={A.nnz:,}, generated in {time.perf_counter() - t0:.1f} s")
        rows = []
        for label, bk in backends:
            lib = library(label)
            try:
                copy = measure.copy_bandwidth(lib)["bandwidth"]
                print(f"  {label}: copy bandwidth {copy / 1e9:.0f} GB/s")
            except Exception as exc:  # noqa: BLE001
                copy = None
                print(f"  {label}: copy bandwidth FAILED: {type(exc).__name__}: {exc}")
            rows += _product_rows(label, bk, A, args, copy)
            measure.gpu_memory_reset(lib)
        if not backends:  # the CPU smoke test still exercises the code
            rows += _product_rows("numpy", get_backend("numpy"), A, args, None)
        measure.table(
            rows,
            [("backend", "backend"), ("k", "plans"), ("path", "path"), ("ms", "ms"), ("gbs", "GB/s"),
             ("fraction", "of copy")],
        )  # fmt: skip

    @block("4. JAX: BCSR against CSR (same matrix, same blocks)")
    def _formats():
        from bigplan.gpu import JaxBackend

        A = state.get("A")
        if A is None:
            A = uniform_matrix(args.n)
        rows, outs = [], {}
        for fmt in ("bcsr", "csr"):
            bk = JaxBackend(sparse_format=fmt)
            op = bk.operator(A, np.float64)
            for k in args.plans[:1] + [8]:
                X = bk.block(np.random.default_rng(k).random((A.shape[0], k)), np.float64)
                sec = measure.best_per_call(partial(bk.i_minus, op, X), measure.SYNC["jax"], reps=args.reps)
                outs[(fmt, k)] = bk.to_numpy(bk.i_minus(op, X))
                rows.append({"format": fmt, "k": k, "ms": sec * 1e3, "gbs": _bytes(A, k, 4) / sec / 1e9})
            del op
        measure.table(rows, [("format", "format"), ("k", "plans"), ("ms", "ms i_minus"), ("gbs", "GB/s")])
        for k in args.plans[:1] + [8]:
            a, b = outs[("bcsr", k)], outs[("csr", k)]
            print(f"  k={k}: max |BCSR - CSR| = {float(np.abs(a - b).max()):.2e}")

    @block("5. column dots: einsum against a reduction")
    def _dots():
        n = args.n
        rows = []
        seen = {}  # one backend per library: the dots do not depend on the sparse format
        for label, bk in backends:
            seen.setdefault(library(label), (label, bk))
        for label, bk in list(seen.values()) or [("numpy", get_backend("numpy"))]:
            lib = library(label) if label != "numpy" else "numpy"
            xp = bk.xp
            for k in args.plans:
                rng = np.random.default_rng(k)
                X, Y = bk.block(rng.random((n, k)), np.float64), bk.block(rng.random((n, k)), np.float64)
                ways = {
                    "einsum": partial(xp.einsum, "ij,ij->j", X, Y),
                    "coldot": partial(bk.coldot, X, Y),
                    "(X*Y).sum(0)": partial(_mul_sum, X, Y),
                }
                ref = np.asarray(bk.to_numpy(ways["einsum"]()))
                for way, fn in ways.items():
                    sec = measure.best_per_call(fn, measure.SYNC[lib], reps=args.reps)
                    err = float(np.abs(np.asarray(bk.to_numpy(fn())) - ref).max() / np.abs(ref).max())
                    rows.append({"backend": label, "k": k, "way": way, "ms": sec * 1e3,
                                 "gbs": 16 * n * k / sec / 1e9, "err": err})  # fmt: skip
            measure.gpu_memory_reset(lib)
        measure.table(
            rows, [("backend", "backend"), ("k", "plans"), ("way", "way"), ("ms", "ms"), ("gbs", "GB/s read"),
                   ("err", "rel. diff")]
        )  # fmt: skip

    @block("6. JAX compilations over three solves of different demand (one block shape)")
    def _compiles():
        import jax.monitoring

        if "jax" not in available_backends():
            print("  JAX is not installed")
            return
        if "restart" not in state:
            n = 20000
            e = bigplan.Economy(technical_matrix(n, inputs_per_product=INPUTS, column_sum=0.999, seed=0))
        else:
            e = state["restart"][0]
        n = e.n
        count = [0]

        def listener(name, _secs, **_kw):
            if name == COMPILE_EVENT:
                count[0] += 1

        jax.monitoring.register_event_duration_secs_listener(listener)
        try:
            bk = get_backend("jax")
            for i in range(3):
                y = np.random.default_rng(50 + i).standard_normal((n, 24))  # a width no block above used
                before, t0 = count[0], time.perf_counter()
                bs = solve_block(bk, e, y, method="bicgstab", rtol=1e-13)
                bk.synchronize()
                print(
                    f"  solve {i + 1}: {count[0] - before} compilations, {time.perf_counter() - t0:.2f} s, "
                    f"restarts {bs.restarts}, converged {bs.converged.all()}"
                )
        finally:
            jax.monitoring.unregister_event_duration_listener(listener)

    @block("7. synchronize against block_until_ready after queued products")
    def _sync():
        A = state.get("A")
        if A is None:
            A = uniform_matrix(args.n)
        for label, bk in backends or [("numpy", get_backend("numpy"))]:
            op = bk.operator(A, np.float64)
            X = bk.block(np.ones((A.shape[0], 8)), np.float64)
            bk.i_minus(op, X)
            bk.synchronize()
            for how in ("synchronize", "block_until_ready" if label.startswith("jax") else "stream"):
                t0 = time.perf_counter()
                Y = X
                for _ in range(10):
                    Y = bk.i_minus(op, Y)
                queued = time.perf_counter() - t0
                if how == "synchronize":
                    bk.synchronize()
                elif how == "block_until_ready":
                    Y.block_until_ready()
                else:
                    measure.sync(Y, library(label) if label != "numpy" else "numpy")
                print(f"  {label}: 10 products queued in {queued * 1e3:.1f} ms, done after {how}: "
                      f"{(time.perf_counter() - t0) * 1e3:.1f} ms")  # fmt: skip
            del op, X, Y
            measure.gpu_memory_reset(library(label) if label != "numpy" else "numpy")

    print(f"\nfirst contact done in {time.perf_counter() - t_start:.0f} s")
    return 0


def _bytes(A, k: int, index_bytes: int) -> int:
    """Bytes a product of ``A`` with ``k`` plans must move at least: the matrix once, X read and Y written."""
    n = A.shape[0]
    return measure.spmv_bytes(n, A.nnz, 8, index_bytes) + 2 * n * 8 * (k - 1)


def _product_rows(label: str, bk, A, args, copy) -> list[dict]:
    """``i_minus`` (in place where the backend can), ``matmat`` and the library's own product, per width."""
    lib = library(label) if label != "numpy" else "numpy"
    op = bk.operator(A, np.float64)
    rows = []
    for k in args.plans:
        X = bk.block(np.random.default_rng(k).random((A.shape[0], k)), np.float64)
        out = bk.zeros(X.shape, np.float64) if bk.mutable else None
        paths = {"i_minus": partial(bk.i_minus, op, X, out=out), "matmat": partial(bk.matmat, op, X, out=out)}
        if lib == "cupy":
            if len(op.blocks) == 1:
                paths["csr @ X"] = partial(op.blocks[0][2].__matmul__, X)
        elif lib == "jax":
            import jax

            paths["csr @ X"] = partial(jax.jit(_first_block_product), op, X)
        else:
            paths["csr @ X"] = partial(A.__matmul__, X)
        for path, fn in paths.items():
            try:
                sec = measure.best_per_call(fn, measure.SYNC[lib], reps=args.reps)
                gbs = _bytes(A, k, 4) / sec
                rows.append({"backend": label, "k": k, "path": path, "ms": sec * 1e3, "gbs": gbs / 1e9,
                             "fraction": (gbs / copy) if copy else None})  # fmt: skip
            except Exception as exc:  # noqa: BLE001
                rows.append({"backend": label, "k": k, "path": f"{path}: {type(exc).__name__}: {exc}"[:60]})
    return rows


def _mul_sum(X, Y):
    return (X * Y).sum(axis=0)


def _first_block_product(op, X):
    return op[0] @ X


if __name__ == "__main__":
    sys.exit(main())
