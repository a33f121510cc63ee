"""What the asv classes share: sizes, the size cap, cached economies, skips, memoised figures.

* ``SIZES``, ``RTOL``; ``skip_if_too_large(n)`` turns ``n > BIGPLAN_BENCH_MAX_N``
  into ``NotImplementedError`` (asv's skip).
* Synthetic economies, built once: the CSR matrix is kept in a module-level
  dict and, unless switched off, on disk under ``.asv/cache`` as ``.npz``
  (``scipy.sparse.save_npz`` / ``load_npz``; no pickles).  The file name carries
  a hash of ``bigplan/synthetic.py``, so a changed generator never serves a
  stale matrix.  Only the radius-0.7 matrix is generated; other spectral radii
  are that matrix scaled (every column of ``technical_matrix`` sums to
  ``column_sum``, so scaling gives the same economy as generating with another
  ``column_sum``, to rounding: same structure, values within 1 ulp).
* ``require(backend)``: a backend that cannot run here is a skip.
* ``memo``: figures of a solve kept on disk, keyed by a hash of bigplan's
  source, so several ``track_`` benchmarks of one parameter set pay for one solve.
* ``safe_import``: a name bigplan lacks skips its benchmarks instead of
  breaking the discovery of the whole suite (SciPy's helper of that name).
* ``measure``: ``benchmarks/_measure.py``, the measurement helpers the plain
  scripts use too (timing, memory, bandwidth), loaded from beside this folder.

Environment variables
---------------------
BIGPLAN_BENCH_CACHE
    Cache directory (default ``<repo>/.asv/cache``); ``0`` or ``off`` keeps
    matrices and figures in memory only.
BIGPLAN_BENCH_CACHE_MAX_GB
    Largest matrix written to the disk cache, in GiB of CSR (default 8).
BIGPLAN_BENCH_MAX_N
    Benchmarks with more products than this are skipped (default: none);
    e.g. ``BIGPLAN_BENCH_MAX_N=100000 asv run --python=same --quick``.
BIGPLAN_BENCH_IMPORT_ERRORS
    ``raise`` makes ``safe_import`` re-raise (to see what is missing).

None of the names here match asv's benchmark prefixes (``time_``, ``track_``,
``peakmem_``, ``mem_``, ``timeraw_``): asv imports this module when it
discovers the suite.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp

import bigplan
from bigplan import synthetic
from bigplan.backend import available_backends, get_backend


def _load_measure():
    """``benchmarks/_measure.py`` as module ``_measure`` (the one the scripts import, when a script runs)."""
    path = Path(__file__).resolve().parent.parent / "_measure.py"
    mod = sys.modules.get("_measure")
    if mod is not None and Path(getattr(mod, "__file__", "")).resolve() == path:
        return mod
    spec = importlib.util.spec_from_file_location("_measure", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_measure"] = mod
    spec.loader.exec_module(mod)
    return mod


measure = _load_measure()

ROOT = measure.ROOT
#: Products of the standard ladder (each suite takes what it needs).
SIZES = [10**4, 10**5, 10**6]
#: Spectral radius the matrices are generated with; others are scaled from it.
BASE_RADIUS = 0.7
#: Default tolerance of every benchmark (the issues' figure).
RTOL = measure.RTOL

_CSR: dict = {}  # (n, inputs, radius, seed) -> scipy.sparse.csr_matrix
_ECON: dict = {}  # (n, inputs, radius, seed) -> bigplan.Economy


# ---------------------------------------------------------------------------
# configuration and skips
# ---------------------------------------------------------------------------
def cache_dir() -> Path | None:
    """The disk cache directory, or None when disk caching is off."""
    val = os.environ.get("BIGPLAN_BENCH_CACHE", "")
    if val.lower() in ("0", "off", "no", "false"):
        return None
    return Path(val) if val else ROOT / ".asv" / "cache"


def max_n() -> int | None:
    """``BIGPLAN_BENCH_MAX_N`` as an int (None: no cap)."""
    val = os.environ.get("BIGPLAN_BENCH_MAX_N", "")
    return int(float(val)) if val else None


def too_large(n: int) -> bool:
    """Whether ``n`` exceeds ``BIGPLAN_BENCH_MAX_N``."""
    cap = max_n()
    return cap is not None and n > cap


def skip_if_too_large(n: int) -> None:
    """Raise NotImplementedError (asv: skipped) when n exceeds BIGPLAN_BENCH_MAX_N."""
    if too_large(n):
        raise NotImplementedError(f"n={n} > BIGPLAN_BENCH_MAX_N={max_n()}")


class safe_import:
    """Context manager: an ImportError inside it is kept, not raised, so the suite is still discovered.

    Examples
    --------
    >>> with safe_import() as imported:
    ...     from bigplan.dynamic import plan
    >>> imported.check()  # in setup: NotImplementedError (asv: skipped) if the import failed
    """

    def __enter__(self):
        self.error: str | None = None
        return self

    def __exit__(self, kind, value, tb):
        if kind is None or not issubclass(kind, ImportError):
            return False
        if os.environ.get("BIGPLAN_BENCH_IMPORT_ERRORS", "").lower() == "raise":
            return False
        self.error = f"{kind.__name__}: {value}"
        return True

    def check(self) -> None:
        """Raise NotImplementedError (asv: skipped) naming the failed import."""
        if self.error:
            raise NotImplementedError(self.error)


# ---------------------------------------------------------------------------
# synthetic economies, cached
# ---------------------------------------------------------------------------
def generator_tag() -> str:
    """Hash of bigplan/synthetic.py: part of every cached matrix's file name."""
    return hashlib.sha1(Path(synthetic.__file__).read_bytes()).hexdigest()[:12]


def npz_path(n: int, inputs: float, seed: int) -> Path | None:
    """Where the disk cache keeps the radius-0.7 matrix (None when disk caching is off)."""
    d = cache_dir()
    if d is None:
        return None
    return d / f"technical_n{n}_m{inputs:g}_r{BASE_RADIUS:g}_s{seed}_{generator_tag()}.npz"


def _base_matrix(n: int, inputs: float, seed: int, progress: Callable[[str], None] | None) -> sp.csr_matrix:
    say = progress or (lambda msg: None)
    path = npz_path(n, inputs, seed)
    if path is not None and path.exists():
        t0 = time.perf_counter()
        A = sp.load_npz(path).tocsr()  # load_npz never unpickles (allow_pickle=False)
        say(f"loaded {path.name} ({measure.csr_bytes(A) / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s")
        return A
    say(f"generating technical_matrix(n={n:,}, inputs_per_product={inputs:g}, column_sum={BASE_RADIUS}) ...")
    t0 = time.perf_counter()
    A = synthetic.technical_matrix(n, inputs_per_product=inputs, column_sum=BASE_RADIUS, seed=seed)
    say(f"generated nnz={A.nnz:,} ({measure.csr_bytes(A) / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s")
    cap = float(os.environ.get("BIGPLAN_BENCH_CACHE_MAX_GB", "8")) * 2**30
    if path is not None and measure.csr_bytes(A) <= cap:
        try:
            for old in path.parent.glob(f"technical_n{n}_m{inputs:g}_r{BASE_RADIUS:g}_s{seed}_*.npz"):
                old.unlink()  # made by another version of the generator: never read again
            measure.atomic_write(path, lambda p: sp.save_npz(p, A, compressed=False))
        except OSError as exc:  # a full or read-only disk costs a regeneration, nothing more
            say(f"could not cache {path}: {exc}")
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


def is_device(name: str) -> bool:
    """Whether the backend keeps its arrays on a GPU."""
    return name == "cupy" or (name == "jax" and jax_platform() == "gpu")


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
    if name == "jax" and gpu and jax_platform() != "gpu":
        return f"JAX runs on {jax_platform()}, not a GPU"
    return None


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


def warm_up(econ, Y, name: str, rtol: float = RTOL) -> None:
    """One untimed solve (compilation, upload of A); a solve that does not fit the device is a skip."""
    try:
        measure.solve(econ, Y, name, rtol)
    except Exception as exc:  # noqa: BLE001 - classified just below
        if measure.is_out_of_memory(exc):
            measure.gpu_memory_reset(name)
            raise NotImplementedError(f"does not fit: {type(exc).__name__}: {exc}") from exc
        raise


# ---------------------------------------------------------------------------
# figures, once per code version
# ---------------------------------------------------------------------------
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
        measure.atomic_write(path, lambda p: p.write_text(json.dumps({"key": full, "figures": val}, indent=1)))
    except OSError:
        pass
    return val


def solve_figures(key: dict, econ, Y, name: str, rtol: float = RTOL) -> dict:
    """The figures of one warm solve (``measure.measured_solve``), memoised by :func:`memo`."""

    def compute():
        if name != "numpy":
            warm_up(econ, Y, name, rtol)  # the figures, memory above all, of a warm solve
        return measure.measured_solve(econ, Y, name, rtol)

    return memo(key, compute)
