"""What the asv suite and the plain benchmark scripts share.

* Synthetic economies, built once: the CSR matrix is kept in a module-level
  dict and, unless switched off, on disk under ``.asv/cache`` as ``.npz``
  (``scipy.sparse.save_npz`` / ``load_npz``; no pickles).  The file name carries
  a hash of ``bigplan/synthetic.py``, so a changed generator never serves a stale
  matrix.  Only the radius-0.7 matrix is generated; other spectral radii are
  that matrix scaled (every column of ``technical_matrix`` sums to
  ``column_sum``, so scaling gives the same economy as generating with another
  ``column_sum``, to rounding: same structure, values within 1 ulp).
* Backend checks that turn "not here" into ``NotImplementedError`` (asv's skip).
* ``sync(x)``: wait for the device work behind ``x`` (CuPy stream, JAX
  ``block_until_ready``; a no-op for NumPy), for timing inside the timed call.
* Memory: RSS and its high-water mark (reset through ``/proc/self/clear_refs``
  on Linux, so a peak can be taken for one phase of a process), and GPU memory
  (CuPy's pool, JAX's allocator statistics).
* Bandwidth: a device copy (bytes read + written per second) and one sparse
  mat-vec with its effective bytes.
* ``memo``: figures of a solve (iterations, residual, mat-vecs) kept on disk and
  keyed by a hash of bigplan's source, so several asv ``track_`` benchmarks of
  one parameter set pay for one solve.
* Machine description and a plain-text table printer for the scripts.

Environment variables
---------------------
BIGPLAN_BENCH_CACHE
    Cache directory (default ``<repo>/.asv/cache``); ``0`` or ``off`` keeps
    matrices and figures in memory only.
BIGPLAN_BENCH_CACHE_MAX_GB
    Largest matrix written to the disk cache, in GiB of CSR (default 8).
BIGPLAN_BENCH_MAX_N
    asv benchmarks with more products than this are skipped (default: none);
    e.g. ``BIGPLAN_BENCH_MAX_N=100000 asv run --python=same --quick`` for a
    smoke run in a few minutes.

None of the names here match asv's benchmark prefixes (``time_``, ``track_``,
``peakmem_``, ``mem_``, ``timeraw_``): asv imports this module when it
discovers the suite.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

import bigplan
from bigplan import synthetic
from bigplan.backend import array_library, available_backends, get_backend

ROOT = Path(__file__).resolve().parent.parent

#: Spectral radius the matrices are generated with; others are scaled from it.
BASE_RADIUS = 0.7
#: Default tolerance of every benchmark (the issues' figure).
RTOL = 1e-10

_CSR: dict = {}  # (n, inputs, radius, seed) -> scipy.sparse.csr_matrix
_ECON: dict = {}  # (n, inputs, radius, seed) -> bigplan.Economy


# ---------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------
def cache_dir() -> Path | None:
    """The disk cache directory, or None when disk caching is off."""
    val = os.environ.get("BIGPLAN_BENCH_CACHE", "")
    if val.lower() in ("0", "off", "no", "false"):
        return None
    return Path(val) if val else ROOT / ".asv" / "cache"


def max_n() -> int | None:
    val = os.environ.get("BIGPLAN_BENCH_MAX_N", "")
    return int(float(val)) if val else None


def skip_if_too_large(n: int) -> None:
    """Raise NotImplementedError (asv: skipped) when n exceeds BIGPLAN_BENCH_MAX_N."""
    cap = max_n()
    if cap is not None and n > cap:
        raise NotImplementedError(f"n={n} > BIGPLAN_BENCH_MAX_N={cap}")


def generator_tag() -> str:
    """Hash of bigplan/synthetic.py: part of every cached matrix's file name."""
    return hashlib.sha1(Path(synthetic.__file__).read_bytes()).hexdigest()[:12]


def code_fingerprint() -> str:
    """Hash of bigplan's sources, library versions and the settings that change a solve."""
    h = hashlib.sha1()
    pkg = Path(bigplan.__file__).resolve().parent
    for p in sorted(list(pkg.rglob("*.py")) + list(pkg.rglob("*.c"))):
        if "__pycache__" not in p.parts:
            h.update(p.relative_to(pkg).as_posix().encode())
            h.update(p.read_bytes())
    from bigplan.cpu import kernels_available

    h.update(repr(kernels_available()).encode())
    for mod in ("numpy", "scipy", "jax", "jaxlib", "cupy"):
        m = sys.modules.get(mod)
        h.update(f"{mod}={getattr(m, '__version__', None)}".encode())
    for var in ("BIGPLAN_NUM_THREADS", "BIGPLAN_NO_KERNELS"):
        h.update(f"{var}={os.environ.get(var)}".encode())
    return h.hexdigest()[:16]


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ---------------------------------------------------------------------------
# synthetic economies
# ---------------------------------------------------------------------------
def csr_bytes(A) -> int:
    """Bytes of a CSR matrix: values, column indices and row pointers."""
    return int(A.data.nbytes + A.indices.nbytes + A.indptr.nbytes)


def npz_path(n: int, inputs: float, seed: int) -> Path | None:
    """Where the disk cache keeps the radius-0.7 matrix (None when disk caching is off)."""
    d = cache_dir()
    if d is None:
        return None
    return d / f"technical_n{n}_m{inputs:g}_r{BASE_RADIUS:g}_s{seed}_{generator_tag()}.npz"


def _base_matrix(n: int, inputs: float, seed: int, progress: Callable[[str], None] | None) -> sp.csr_matrix:
    path = npz_path(n, inputs, seed)
    if path is not None and path.exists():
        t0 = time.perf_counter()
        A = sp.load_npz(path).tocsr()  # load_npz never unpickles (allow_pickle=False)
        if progress:
            progress(f"loaded {path.name} ({csr_bytes(A) / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s")
        return A
    if progress:
        progress(f"generating technical_matrix(n={n:,}, inputs_per_product={inputs:g}, column_sum={BASE_RADIUS}) ...")
    t0 = time.perf_counter()
    A = synthetic.technical_matrix(n, inputs_per_product=inputs, column_sum=BASE_RADIUS, seed=seed)
    if progress:
        progress(f"generated nnz={A.nnz:,} ({csr_bytes(A) / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s")
    cap = float(os.environ.get("BIGPLAN_BENCH_CACHE_MAX_GB", "8")) * 2**30
    if path is not None and csr_bytes(A) <= cap:
        try:
            for old in path.parent.glob(f"technical_n{n}_m{inputs:g}_r{BASE_RADIUS:g}_s{seed}_*.npz"):
                old.unlink()  # made by another version of the generator: never read again
            _atomic_write(path, lambda p: sp.save_npz(p, A, compressed=False))
        except OSError as exc:  # a full or read-only disk costs a regeneration, nothing more
            if progress:
                progress(f"could not cache {path}: {exc}")
    return A


def matrix(
    n: int,
    inputs: float = 20,
    radius: float = BASE_RADIUS,
    seed: int = 0,
    *,
    keep: bool = True,
    progress: Callable[[str], None] | None = None,
) -> sp.csr_matrix:
    """Synthetic technical coefficients ``A`` (CSR), spectral radius ``radius``.

    ``technical_matrix(n, inputs_per_product=inputs, column_sum=0.7, seed=seed)``,
    scaled by ``radius / 0.7`` for another radius.  ``keep=False`` returns it
    without holding it in the module-level dict (the caller owns the memory).
    """
    key = (int(n), float(inputs), float(radius), int(seed))
    if key in _CSR:
        return _CSR[key]
    base_key = (int(n), float(inputs), BASE_RADIUS, int(seed))
    A = _CSR.get(base_key)
    if A is None:
        A = _base_matrix(int(n), float(inputs), int(seed), progress)
        if keep:
            _CSR[base_key] = A
    if float(radius) != BASE_RADIUS:
        A = sp.csr_matrix((A.data * (float(radius) / BASE_RADIUS), A.indices, A.indptr), shape=A.shape)
        if keep:
            _CSR[key] = A
    return A


def economy(
    n: int,
    inputs: float = 20,
    radius: float = BASE_RADIUS,
    seed: int = 0,
    *,
    progress: Callable[[str], None] | None = None,
) -> bigplan.Economy:
    """A cached ``bigplan.Economy`` on :func:`matrix` with one row of labour.

    ``Economy`` copies ``A``; the raw matrix is not kept unless it was already
    in memory, so the process holds the coefficients once.
    """
    key = (int(n), float(inputs), float(radius), int(seed))
    if key not in _ECON:
        A = matrix(n, inputs, radius, seed, keep=False, progress=progress)
        t0 = time.perf_counter()
        _ECON[key] = bigplan.Economy(A, labour=synthetic.labour_coefficients(n, seed=seed))
        del A
        if progress:
            progress(f"Economy built in {time.perf_counter() - t0:.1f} s: {_ECON[key]!r}")
    return _ECON[key]


def forget(n: int | None = None) -> None:
    """Drop cached matrices and economies (of ``n`` products, or all)."""
    for d in (_CSR, _ECON):
        for key in [k for k in d if n is None or k[0] == n]:
            del d[key]


def demand(n: int, k: int, seed: int = 1) -> np.ndarray:
    """Final demand: shape ``(n,)`` for one plan (k == 1), else ``(n, k)``."""
    return synthetic.final_demand(n, None if k == 1 else k, seed=seed)


# ---------------------------------------------------------------------------
# backends
# ---------------------------------------------------------------------------
def jax_platform() -> str | None:
    """'gpu', 'cpu', ... for JAX's default device (creating bigplan's JAX backend), or None."""
    if "jax" not in available_backends():
        return None
    return get_backend("jax").platform


def unavailable(name: str, *, gpu: bool = False) -> str | None:
    """Why backend ``name`` cannot run here (None when it can).

    ``gpu=True`` also refuses JAX on a CPU (and NumPy), for benchmarks that only
    make sense on a device.
    """
    if name == "numpy":
        return "needs a GPU backend" if gpu else None
    if name not in ("cupy", "jax"):
        return f"unknown backend {name!r}"
    if name not in available_backends():
        return f"{name} is not installed or sees no CUDA device"
    if name == "jax" and gpu:
        plat = jax_platform()
        if plat != "gpu":
            return f"JAX runs on {plat}, not a GPU"
    return None


def require(name: str, *, gpu: bool = False) -> None:
    """Raise NotImplementedError (asv: skipped) when backend ``name`` is not usable here.

    For JAX it also turns on JAX's persistent compilation cache (under the cache
    dir): asv runs every benchmark in a fresh process, and each would otherwise
    compile the solver's kernels again in its setup.
    """
    if name == "jax":
        enable_jax_cache()
    why = unavailable(name, gpu=gpu)
    if why:
        raise NotImplementedError(why)


def enable_jax_cache() -> None:
    """Keep JAX's compiled executables under ``<cache dir>/jax`` (no-op without JAX or a cache dir)."""
    d = cache_dir()
    if d is None or "jax" not in available_backends():
        return
    import jax

    jax.config.update("jax_compilation_cache_dir", str(d / "jax"))
    for opt, val in (("jax_persistent_cache_min_compile_time_secs", 0), ("jax_persistent_cache_min_entry_size_bytes", 0)):
        try:
            jax.config.update(opt, val)
        except AttributeError:  # an older JAX without this knob: its default applies
            pass


def warm_up(econ, Y, name: str, rtol: float = RTOL) -> None:
    """One untimed solve (compilation, upload of A); a solve that does not fit the device is a skip."""
    try:
        solve(econ, Y, name, rtol)
    except Exception as exc:  # noqa: BLE001 - classified just below
        if is_out_of_memory(exc):
            gpu_memory_reset(name)
            raise NotImplementedError(f"does not fit: {type(exc).__name__}: {exc}") from exc
        raise


def is_device(name: str) -> bool:
    """Whether the backend keeps its arrays on a GPU."""
    return name == "cupy" or (name == "jax" and jax_platform() == "gpu")


def to_backend(x, name: str):
    """``x`` as the backend's own array (float64; JAX's x64 is on once its backend exists)."""
    if name == "numpy":
        return np.asarray(x, dtype=np.float64)
    return get_backend(name).asarray(x, dtype=np.float64)


def _sync_cupy(x=None) -> None:
    import cupy

    cupy.cuda.get_current_stream().synchronize()


def _sync_jax(x=None) -> None:
    import jax

    if x is None:
        get_backend("jax").synchronize()
    else:
        jax.block_until_ready(x)


#: How to wait for each backend's queued work.
SYNC: dict[str, Callable[[Any], None]] = {"numpy": lambda x=None: None, "cupy": _sync_cupy, "jax": _sync_jax}


def sync(x=None, backend: str | None = None) -> None:
    """Wait until the device work that produces ``x`` is done (no-op for host arrays)."""
    lib = backend or array_library(x) or "numpy"
    SYNC[lib](x)


# ---------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------
def rss_bytes() -> int:
    """Current resident set size of this process."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """High-water mark of the resident set size (since start, or since :func:`reset_peak_rss`)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r if sys.platform == "darwin" else r * 1024)


def reset_peak_rss() -> bool:
    """Reset the RSS high-water mark to the current RSS (Linux ``clear_refs``); False if unsupported.

    ``getrusage``'s ``ru_maxrss`` (what asv's ``peakmem_`` reports) follows the
    reset, so a peak taken afterwards belongs to what runs afterwards.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def host_memory_available() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes (None where unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def gpu_memory_reset(name: str) -> None:
    """Give cached-but-free device memory back (CuPy's pool); JAX has nothing to reset."""
    if name == "cupy":
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()


def gpu_memory_bytes(name: str) -> int | None:
    """Device memory held by a backend's allocator, after a solve.

    CuPy: bytes the default memory pool holds (``total_bytes``: in use plus
    cached), which after :func:`gpu_memory_reset` and one solve is the solve's
    high-water mark.  JAX: ``peak_bytes_in_use`` of the default device, the
    process-wide high-water mark.  None where the allocator says nothing (JAX
    on a CPU).
    """
    if name == "cupy":
        import cupy

        return int(cupy.get_default_memory_pool().total_bytes())
    if name == "jax":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        peak = stats.get("peak_bytes_in_use")
        return None if peak is None else int(peak)
    return None


# ---------------------------------------------------------------------------
# bandwidth
# ---------------------------------------------------------------------------
def _best_per_call(
    call: Callable[[], Any], wait: Callable[[Any], None], *, reps: int = 5, min_time: float = 0.05, max_inner: int = 50
):
    """Best (over ``reps`` batches) mean seconds per call; a batch lasts about ``min_time``.

    A batch queues up to ``max_inner`` calls and waits once, so launch latency
    does not count; the cap bounds the outputs alive at once on a device whose
    library frees them only after the queued work ran.
    """
    wait(call())  # warm-up (compilation, allocation)
    t0 = time.perf_counter()
    wait(call())
    one = max(time.perf_counter() - t0, 1e-7)
    inner = int(min(max_inner, max(1, min_time / one)))
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        out = None
        for _ in range(inner):
            out = call()
        wait(out)
        best = min(best, (time.perf_counter() - t0) / inner)
    return best


def copy_bandwidth(name: str, nbytes: int | None = None, reps: int = 5) -> dict:
    """Device copy bandwidth: ``2 * nbytes`` (read + write) over the best copy time.

    NumPy: ``np.copyto`` over row slices in the NumPy backend's threads (the
    threads bigplan's kernels use).  CuPy: ``cudaMemcpyAsync`` device to device.
    JAX: a jitted ``jnp.copy`` (checked to give a new buffer; else ``2 * a``).
    """
    if name == "numpy":
        nbytes = nbytes or 512 * 2**20
        threads = getattr(get_backend("numpy"), "threads", 1)
        src = np.ones(nbytes // 8)
        dst = np.empty_like(src)
        edges = np.linspace(0, src.size, threads + 1).astype(np.int64)
        pool = ThreadPoolExecutor(threads)

        def call():
            list(pool.map(lambda i: np.copyto(dst[edges[i] : edges[i + 1]], src[edges[i] : edges[i + 1]]), range(threads)))

        try:
            sec = _best_per_call(call, lambda _: None, reps=reps)
        finally:
            pool.shutdown()
        how = f"np.copyto in {threads} threads"
    elif name == "cupy":
        import cupy

        free, _total = cupy.cuda.runtime.memGetInfo()
        nbytes = nbytes or int(min(2**30, free // 4))
        src = cupy.ones(nbytes // 8)
        dst = cupy.empty_like(src)

        def call():
            dst.data.copy_from_device_async(src.data, src.nbytes)

        sec = _best_per_call(call, lambda _: _sync_cupy(), reps=reps)
        del src, dst
        how = "cudaMemcpyAsync device-to-device"
    elif name == "jax":
        import jax
        import jax.numpy as jnp

        get_backend("jax")  # x64 on
        stats = jax.devices()[0].memory_stats() or {}
        room = stats.get("bytes_limit", 0) - stats.get("bytes_in_use", 0)
        nbytes = nbytes or (int(min(2**30, room // 4)) if room > 0 else 512 * 2**20)
        src = jnp.ones(nbytes // 8)
        f = jax.jit(jnp.copy)
        how = "jitted jnp.copy"
        try:
            out = f(src)
            if out.unsafe_buffer_pointer() == src.unsafe_buffer_pointer():
                raise ValueError("no copy")
        except Exception:  # noqa: BLE001 - forwarded buffer or no pointer API: use a kernel that must write
            f = jax.jit(lambda a: 2.0 * a)
            how = "jitted 2 * a (read + write)"
        sec = _best_per_call(lambda: f(src), jax.block_until_ready, reps=reps, max_inner=8)
        del src
    else:
        raise ValueError(f"unknown backend {name!r}")
    return {"bytes": 2 * nbytes, "seconds": sec, "bandwidth": 2 * nbytes / sec, "how": how}


def spmv_bytes(n: int, nnz: int, value_bytes: int, index_bytes: int) -> int:
    """Bytes one CSR mat-vec must move at least: values + column indices, row pointers, x read, y written."""
    return nnz * (value_bytes + index_bytes) + (n + 1) * index_bytes + 2 * n * value_bytes


def _index_bytes(op) -> int:
    """Bytes per stored index of a backend operator (NumPy's CsrOperator, CuPy's row blocks, JAX's BCSR)."""
    if hasattr(op, "csr"):  # NumPy backend
        return np.dtype(op.csr.indices.dtype).itemsize
    if hasattr(op, "blocks"):  # CuPy backend: cuSPARSE row blocks with int32 indices
        blk = op.blocks[0][2]
        return np.dtype(blk.indices.dtype).itemsize
    return np.dtype(op.indices.dtype).itemsize


def spmv(econ: bigplan.Economy, name: str, path: str = "bigplan", reps: int = 5) -> dict:
    """Time one sparse mat-vec ``A x`` on backend ``name``; return seconds, bytes and bandwidth.

    path="bigplan": the backend's ``matmat`` on an ``(n, 1)`` block into a given
    output, exactly the product the solver does once per half-iteration.
    path="library": the library's own mat-vec of a 1-D vector (SciPy
    ``csr @ x``, cuSPARSE SpMV through ``cupyx``, JAX ``BCSR @ x`` under jit).
    """
    bk = get_backend(name)
    A = econ.A
    n, nnz = A.shape[0], A.nnz
    op = bk.operator(A, np.float64)
    index_bytes = _index_bytes(op)
    ones = np.ones(n)
    if path == "bigplan":
        X = bk.block(ones[:, None], np.float64)
        if bk.mutable:
            out = bk.zeros(X.shape, np.float64)

            def call():
                return bk.matmat(op, X, out=out)

        else:

            def call():
                return bk.matmat(op, X)

    elif path == "library":
        if name == "numpy":
            x = ones

            def call():
                return A @ x

        elif name == "cupy":
            import cupy
            import cupyx.scipy.sparse as csp

            if nnz > 2**31 - 1:
                raise ValueError("cupyx's own CSR mat-vec needs int32 indices (nnz < 2**31)")
            lib = csp.csr_matrix(
                (cupy.asarray(A.data), cupy.asarray(A.indices, dtype=np.int32), cupy.asarray(A.indptr, dtype=np.int32)),
                shape=A.shape,
            )
            index_bytes = 4
            x = cupy.asarray(ones)

            def call():
                return lib @ x

        else:
            import jax
            import jax.numpy as jnp

            x = jnp.asarray(ones)
            f = jax.jit(lambda o, v: o @ v)

            def call():
                return f(op, x)

    else:
        raise ValueError(f"path must be 'bigplan' or 'library', got {path!r}")
    sec = _best_per_call(call, SYNC[name], reps=reps)
    nb = spmv_bytes(n, nnz, 8, index_bytes)
    return {"seconds": sec, "bytes": nb, "bandwidth": nb / sec, "index_bytes": index_bytes, "path": path}


# ---------------------------------------------------------------------------
# solves and their figures
# ---------------------------------------------------------------------------
def solve(econ, Y, name: str, rtol: float = RTOL, **kw):
    """``bigplan.solve_output`` on backend ``name``, waiting for the device before returning."""
    sol = bigplan.solve_output(econ, Y, backend=name, rtol=rtol, **kw)
    sync(sol.output, name)
    return sol


def figures_of(sol, econ=None, extra_rss: int | None = None) -> dict:
    """The evidence of a solve as plain numbers (for ``track_`` benchmarks and tables)."""
    fig = {
        "iterations": int(sol.iterations),
        "residual": float(np.max(np.atleast_1d(sol.residual))),
        "matvecs": int(sol.matvecs),
        "seconds": float(sol.seconds),
        "converged": bool(sol.converged),
        "method": sol.method,
    }
    if econ is not None and extra_rss is not None:
        fig["memory_over_csr"] = (csr_bytes(econ.A) + extra_rss) / csr_bytes(econ.A)
    return fig


def measured_solve(econ, Y, name: str, rtol: float = RTOL) -> dict:
    """Solve once and return :func:`figures_of`, with the solve's extra host memory.

    Device backends solve once untimed first, so the figures (memory above all)
    are those of a warm solve, without compilation.
    """
    if name != "numpy":
        warm_up(econ, Y, name, rtol)
    # blocks the NumPy backend kept from an earlier solve are memory this one uses
    kept = getattr(bigplan.get_backend("numpy"), "workspace_held", 0) if name == "numpy" else 0
    rss0 = rss_bytes()
    reset_peak_rss()
    sol = solve(econ, Y, name, rtol)
    extra = max(0, peak_rss_bytes() - rss0) + kept
    return figures_of(sol, econ, extra)


def memo(key: dict, compute: Callable[[], dict]) -> dict:
    """``compute()`` once per key and version of bigplan's code; kept as JSON under the cache dir."""
    d = cache_dir()
    if d is None:
        return compute()
    full = dict(key, code=code_fingerprint())
    h = hashlib.sha1(json.dumps(full, sort_keys=True, default=str).encode()).hexdigest()[:20]
    path = d / "figures" / f"{h}.json"
    if path.exists():
        try:
            return json.loads(path.read_text())["figures"]
        except (OSError, ValueError, KeyError):
            pass
    val = compute()
    try:
        _atomic_write(path, lambda p: p.write_text(json.dumps({"key": full, "figures": val}, indent=1)))
    except OSError:
        pass
    return val


def scipy_bicgstab(M, y, rtol: float = RTOL) -> tuple[np.ndarray, int, int]:
    """SciPy's ``bicgstab`` on ``M x = y`` with ``rtol`` and ``atol=0``; returns ``(x, info, iterations)``."""
    import inspect

    import scipy.sparse.linalg as spla

    its = [0]

    def count(_xk):
        its[0] += 1

    tol = "rtol" if "rtol" in inspect.signature(spla.bicgstab).parameters else "tol"  # SciPy < 1.12: tol
    x, info = spla.bicgstab(M, y, atol=0.0, callback=count, **{tol: rtol})
    return x, int(info), its[0]


def relative_residual(M, Y, X) -> float:
    """Largest ``||y - M x|| / ||y||`` over the columns, computed on the host with SciPy."""
    Y2 = np.asarray(Y, dtype=np.float64).reshape(Y.shape[0], -1)
    X2 = np.asarray(X, dtype=np.float64).reshape(X.shape[0], -1)
    r = np.linalg.norm(Y2 - M @ X2, axis=0)
    y = np.linalg.norm(Y2, axis=0)
    return float(np.max(np.where(y > 0, r / np.where(y > 0, y, 1.0), r)))


def leontief_csr(A) -> sp.csr_matrix:
    """``I - A`` as a CSR matrix (the reference solvers' operator), built once."""
    n = A.shape[0]
    M = sp.identity(n, dtype=A.dtype, format="csr") - A
    M = M.tocsr()
    M.sort_indices()
    return M


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says a device (or the host) ran out of memory."""
    if isinstance(exc, (MemoryError, bigplan.InsufficientMemoryError)):
        return True
    text = f"{type(exc).__name__}: {exc}"
    return any(
        s in text
        for s in ("OutOfMemoryError", "RESOURCE_EXHAUSTED", "out of memory", "ALLOC_FAILED", "INSUFFICIENT_RESOURCES")
    )


# ---------------------------------------------------------------------------
# machine description and tables (scripts)
# ---------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if out.returncode == 0:
            return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def _blas() -> str:
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 - old NumPy: not worth failing a benchmark over
        return "unknown"


def machine_info(devices: bool | str = True) -> dict:
    """CPU, cores, memory, load, date, versions, thread settings and, with ``devices``, JAX's devices and the GPU.

    ``devices=False`` leaves CUDA and JAX's runtime untouched (a parent process
    that hands the GPU to child processes): the GPU is then described by
    ``nvidia-smi`` where it exists.  ``devices="cupy"`` (or ``"jax"``) asks only
    that library, so a process measuring one library keeps the other's runtime
    off the card.
    """
    from bigplan.cpu import kernels_available

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    info: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "memory_gib": None if mem is None else round(mem / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": __import__("scipy").__version__,
        "blas": _blas(),
        "bigplan": getattr(bigplan, "__version__", "?"),
        "bigplan_commit": _git_commit(),
        "bigplan_kernels": kernels_available(),
        "bigplan_threads": getattr(get_backend("numpy"), "threads", None),
        "env": {
            v: os.environ[v]
            for v in (
                "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS",
                "MKL_NUM_THREADS",
                "BIGPLAN_NUM_THREADS",
                "BIGPLAN_NO_KERNELS",
                "XLA_PYTHON_CLIENT_PREALLOCATE",
                "XLA_PYTHON_CLIENT_MEM_FRACTION",
            )
            if v in os.environ
        },
    }
    if not devices:
        from importlib import metadata

        for dist in ("jax", "jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin", "cupy-cuda12x", "cupy-cuda13x"):
            try:
                info[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                pass
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=20,
            )
            if out.returncode == 0 and out.stdout.strip():
                info["gpu"] = out.stdout.strip().replace("\n", "; ")
        except (OSError, subprocess.SubprocessError):
            pass
        return info
    if devices in (True, "jax") and "jax" in available_backends():
        import jax

        info["jax"] = jax.__version__
        info["jax_devices"] = [f"{d.platform}:{getattr(d, 'device_kind', '?')}" for d in jax.devices()]
    if devices in (True, "cupy") and "cupy" in available_backends():
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props.get("name", b"?")
        info["cupy"] = cupy.__version__
        info["gpu"] = name.decode() if isinstance(name, bytes) else str(name)
        info["gpu_memory_gib"] = round(props.get("totalGlobalMem", 0) / 2**30, 1)
        info["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
        info["cuda_driver"] = cupy.cuda.runtime.driverGetVersion()
    return info


def print_machine(info: dict, file=None) -> None:
    file = file or sys.stdout
    width = max(len(k) for k in info)
    for k, v in info.items():
        print(f"  {k:<{width}}  {v}", file=file)


def table(rows: list[dict], columns: list[tuple[str, str]], file=None) -> None:
    """Print ``rows`` as an aligned text table; ``columns`` are ``(key, header)`` pairs."""
    file = file or sys.stdout

    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, bool):
            return "yes" if v else "NO"
        if isinstance(v, float):
            if v != v:
                return "nan"
            if v == 0:
                return "0"
            a = abs(v)
            return f"{v:.3g}" if (a < 1e-3 or a >= 1e5) else f"{v:.4g}"
        return str(v)

    cells = [[cell(r.get(k)) for k, _ in columns] for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, (_, h) in enumerate(columns)]
    last = len(columns) - 1

    def fmt(items):  # first and last column (names, notes) to the left, figures to the right
        return "  ".join(x.ljust(w) if i in (0, last) else x.rjust(w) for i, (x, w) in enumerate(zip(items, widths)))

    line = fmt([h for _, h in columns])
    print(line.rstrip(), file=file)
    print("-" * len(line.rstrip()), file=file)
    for c in cells:
        print(fmt(c).rstrip(), file=file)


def write_json(path: str | os.PathLike, payload: dict) -> None:
    """Write ``payload`` as JSON (atomically), for the scripts' machine-readable output."""
    _atomic_write(Path(path), lambda p: p.write_text(json.dumps(payload, indent=1, default=str)))
