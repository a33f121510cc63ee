"""Measurement helpers of bigplan's benchmarks: timing, memory, bandwidth, machine, output.

The plain scripts beside this file import it as ``_measure`` (``python
benchmarks/<script>.py`` puts this folder first on ``sys.path``); the asv suite
in ``benchmarks/benchmarks/`` reaches the same module through
``common.measure``.  It imports nothing from the benchmarks, only NumPy, SciPy
and bigplan's public names.

* Solves: ``solve`` (waits for the device before returning), ``figures_of`` (a
  solve's evidence as plain numbers), ``measured_solve`` (one solve with its
  extra host memory), ``device_bytes_of_solve``.
* Timing: ``sync`` (CuPy stream, JAX ``block_until_ready``; a no-op for NumPy),
  ``best_per_call`` (launch latency excluded), ``clock`` (wall and CPU seconds).
* Memory: RSS and its high-water mark (reset through ``/proc/self/clear_refs``
  on Linux, so a peak can be taken for one phase of a process), host memory
  available, GPU memory (CuPy's pool, JAX's allocator statistics).
* Bandwidth: a device copy (bytes read + written per second) and one sparse
  mat-vec with its effective bytes.
* SciPy's reference: ``scipy_bicgstab``, ``leontief_csr``, ``relative_residual``.
* Output: ``machine_info``, ``print_machine``, ``table``, ``write_json``
  (atomic, like ``atomic_write``).
"""

from __future__ import annotations

import datetime as _dt
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
from bigplan.backend import array_library, available_backends, get_backend

#: Default tolerance of every benchmark (the issues' figure).
RTOL = 1e-10
#: The repository root (for ``git`` in :func:`machine_info`).
ROOT = Path(__file__).resolve().parent.parent


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` to a temporary file beside ``path``, then rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def csr_bytes(A) -> int:
    """Bytes of a CSR matrix: values, column indices and row pointers."""
    return int(A.data.nbytes + A.indices.nbytes + A.indptr.nbytes)


# ---------------------------------------------------------------------------
# backends: arrays and waiting for the device
# ---------------------------------------------------------------------------
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
    on a CPU, NumPy).
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


def workspace_held(name: str = "numpy") -> int:
    """Bytes of blocks the backend keeps for its next solve (memory a solve uses although RSS does not grow)."""
    return int(getattr(get_backend(name), "workspace_held", 0) or 0) if name == "numpy" else 0


def measured_solve(econ, Y, name: str, rtol: float = RTOL) -> dict:
    """Solve once and return :func:`figures_of`, with the solve's extra host memory.

    Warm the backend first (compilation, upload of ``A``) where it matters: the
    figures, memory above all, are then those of a warm solve.
    """
    kept = workspace_held(name)  # blocks kept from an earlier solve are memory this one uses
    rss0 = rss_bytes()
    reset_peak_rss()
    sol = solve(econ, Y, name, rtol)
    extra = max(0, peak_rss_bytes() - rss0) + kept
    return figures_of(sol, econ, extra)


def device_bytes_of_solve(econ, Y, name: str, rtol: float = RTOL) -> int | None:
    """Device memory of one solve: CuPy's pool after a solve from an emptied pool; JAX's peak bytes in use."""
    gpu_memory_reset(name)
    sol = solve(econ, Y, name, rtol)
    used = gpu_memory_bytes(name)
    del sol
    return used


# ---------------------------------------------------------------------------
# timing and bandwidth
# ---------------------------------------------------------------------------
def clock(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, float, Any]:
    """Best of ``repeat`` calls of ``fn()`` by wall time: ``(wall s, CPU s of that call, its result)``."""
    best = None
    for _ in range(max(1, repeat)):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if best is None or w < best[0]:
            best = (w, c, out)
    return best


def best_per_call(
    call: Callable[[], Any], wait: Callable[[Any], None], *, reps: int = 5, min_time: float = 0.05, max_inner: int = 50
) -> float:
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
        threads = getattr(get_backend("numpy"), "threads", 1) or 1
        src = np.ones(nbytes // 8)
        dst = np.empty_like(src)
        edges = np.linspace(0, src.size, threads + 1).astype(np.int64)
        pool = ThreadPoolExecutor(threads)

        def call():
            list(pool.map(lambda i: np.copyto(dst[edges[i] : edges[i + 1]], src[edges[i] : edges[i + 1]]), range(threads)))

        try:
            sec = best_per_call(call, lambda _: None, reps=reps)
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

        sec = best_per_call(call, lambda _: _sync_cupy(), reps=reps)
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
        sec = best_per_call(lambda: f(src), jax.block_until_ready, reps=reps, max_inner=8)
        del src
    else:
        raise ValueError(f"unknown backend {name!r}")
    return {"bytes": 2 * nbytes, "seconds": sec, "bandwidth": 2 * nbytes / sec, "how": how}


def spmv_bytes(n: int, nnz: int, value_bytes: int, index_bytes: int) -> int:
    """Bytes one CSR mat-vec must move at least: values + column indices, row pointers, x read, y written."""
    return nnz * (value_bytes + index_bytes) + (n + 1) * index_bytes + 2 * n * value_bytes


def _index_bytes(op) -> int:
    """Bytes per stored index of a backend operator (NumPy's CsrOperator, CuPy's row blocks, JAX's row blocks)."""
    if isinstance(op, tuple):  # JAX backend: row blocks of CSR or BCSR
        op = op[0]
    if hasattr(op, "csr"):  # NumPy backend
        return np.dtype(op.csr.indices.dtype).itemsize
    if hasattr(op, "blocks"):  # CuPy backend: cuSPARSE row blocks with int32 indices
        blk = op.blocks[0][2]
        return np.dtype(blk.indices.dtype).itemsize
    return np.dtype(op.indices.dtype).itemsize


def spmv(econ: bigplan.Economy, name: str, path: str = "bigplan", reps: int = 5) -> dict:
    """Time one sparse mat-vec ``A x`` on backend ``name``; return seconds, bytes and bandwidth.

    path="bigplan": the backend's in-place ``i_minus`` (``X - A X``) on an
    ``(n, 1)`` block into a given output, exactly the product the solver does
    once per half-iteration (bytes counted as for ``A x``: what it costs above
    that shows in the bandwidth).
    path="library": the library's own mat-vec of a 1-D vector (SciPy
    ``csr @ x``, cuSPARSE SpMV through ``cupyx``, JAX's CSR or BCSR ``@ x`` under jit).
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
                return bk.i_minus(op, X, out=out)

        else:

            def call():
                return bk.i_minus(op, X)

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
            f = jax.jit(lambda o, v: o[0] @ v if isinstance(o, tuple) else o @ v)

            def call():
                return f(op, x)

    else:
        raise ValueError(f"path must be 'bigplan' or 'library', got {path!r}")
    sec = best_per_call(call, SYNC[name], reps=reps)
    nb = spmv_bytes(n, nnz, 8, index_bytes)
    return {"seconds": sec, "bytes": nb, "bandwidth": nb / sec, "index_bytes": index_bytes, "path": path}


# ---------------------------------------------------------------------------
# SciPy's reference solve
# ---------------------------------------------------------------------------
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
    M = (sp.identity(n, dtype=A.dtype, format="csr") - A).tocsr()
    M.sort_indices()
    return M


# ---------------------------------------------------------------------------
# machine description, tables, JSON
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


_ENV_VARS = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BIGPLAN_NUM_THREADS",
    "BIGPLAN_NO_KERNELS",
    "XLA_PYTHON_CLIENT_PREALLOCATE",
    "XLA_PYTHON_CLIENT_MEM_FRACTION",
)


def _devices_without_runtime(info: dict) -> None:
    """Versions of the GPU libraries and ``nvidia-smi``'s view of the card, without loading CUDA or JAX."""
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
        "env": {v: os.environ[v] for v in _ENV_VARS if v in os.environ},
    }
    if not devices:
        _devices_without_runtime(info)
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
    """Print :func:`machine_info`'s dict, one ``key  value`` line each."""
    file = file or sys.stdout
    width = max(len(k) for k in info)
    for k, v in info.items():
        print(f"  {k:<{width}}  {v}", file=file)


def _cell(v) -> str:
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


def table(rows: list[dict], columns: list[tuple[str, str]], file=None) -> None:
    """Print ``rows`` as an aligned text table; ``columns`` are ``(key, header)`` pairs."""
    file = file or sys.stdout
    cells = [[_cell(r.get(k)) for k, _ in columns] for r in rows]
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
    atomic_write(Path(path), lambda p: p.write_text(json.dumps(payload, indent=1, default=str)))
