"""asv: economies of 10^6 and 10^7 products on a GPU (issue 3).

Economies: ``technical_matrix(n, inputs_per_product=30)`` at spectral radius
0.7 and 0.95 (the 0.95 economy is the 0.7 one scaled: same structure),
``rtol=1e-10``, one plan and a batch of 256, backends CuPy, JAX and NumPy.

What runs where:

* CuPy and JAX only on a GPU.  JAX on a CPU is skipped here (it is measured
  by ``bench_static``): issue 3 is about devices, and 10^7 x 30 through XLA on
  a few CPU cores takes minutes per solve.
* NumPy (the CPU reference) only at n <= 10^6 and k <= 64, i.e. 10^6 products
  and one plan.  10^7 x 30 is 3.6 GB of CSR whose generation alone takes
  minutes, a solve at 0.95 tens of mat-vecs of ~1 s each on a few cores, and a
  batch of 256 at 10^6 (19 GB of BiCGSTAB blocks) is beyond an asv run's time
  and a workstation's memory.

Plans live on the device (``Y`` is a CuPy/JAX array made in ``setup``, and the
answer stays there); each timed call waits for the device.  A batch that does
not fit on the card is skipped with the error as the reason (``gpu_scale.py``
searches for the largest economy that fits).

``SpMVBandwidth`` reports the effective bandwidth of one sparse mat-vec,
``nnz * (8 + index bytes) + (n + 1) * index bytes + 8 n (read x) + 8 n (write y)``
over its best time, as a fraction of a device-to-device copy's bandwidth
(read + write bytes) measured in the same process.  ``path="bigplan"`` is the
product the solver does (the backend's in-place ``i_minus``, ``X - A X``, on
an ``(n, 1)`` block), ``path="library"`` the library's own 1-D mat-vec
(cuSPARSE SpMV through cupyx, JAX's sparse ``@`` under jit, SciPy ``csr @ x``).
"""

from __future__ import annotations

import numpy as np

from . import common
from .common import measure

INPUTS = 30
SIZES = [10**6, 10**7]
RADII = [0.7, 0.95]
BATCHES = [1, 256]
BACKENDS = ["cupy", "jax", "numpy"]


def _skip(n: int, k: int, backend: str) -> None:
    common.skip_if_too_large(n)
    if backend == "numpy":
        if n > 10**6 or k > 64:  # CPU time and memory: see the module docstring
            raise NotImplementedError("NumPy backend only at n <= 10^6 and k <= 64 in this suite")
    else:
        common.require(backend, gpu=True)


def _warm_scale_solve(*params):
    # the benchmark function's own asv setup (runs after ScaleSolve.setup, which leaves its instance in ``current``)
    ScaleSolve.current.warm()


class ScaleSolve:
    """One plan and a batch of 256 at 10^6 and 10^7 products x 30 inputs, radius 0.7 and 0.95.

    ``time_solve`` gets a warm-up solve first (its own setup; a batch that does
    not fit the card is skipped there); the ``track_`` figures come from one
    measured solve per code version, kept by ``common.solve_figures``.
    """

    params = [SIZES, RADII, BATCHES, BACKENDS]
    param_names = ["n", "radius", "k", "backend"]
    timeout = 1800  # the first process generates the 10^7 matrix (minutes); later ones load it
    number = 1
    repeat = (1, 10, 20.0)
    rounds = 1
    warmup_time = 0
    current = None

    def setup(self, n, radius, k, backend):
        _skip(n, k, backend)
        self.backend = backend
        self.econ = common.economy(n, INPUTS, radius)
        self.Y = measure.to_backend(common.demand(n, k), backend)
        self.key = dict(bench="ScaleSolve", n=n, k=k, backend=backend, inputs=INPUTS, radius=radius, rtol=common.RTOL)
        ScaleSolve.current = self

    def warm(self):
        if self.backend != "numpy":
            common.warm_up(self.econ, self.Y, self.backend)  # compile, upload A; skip if it does not fit

    def _figures(self) -> dict:
        try:
            return common.solve_figures(self.key, self.econ, self.Y, self.backend)
        except NotImplementedError:
            return {"iterations": np.nan, "residual": np.nan}  # did not fit the device (time_solve says why)

    def time_solve(self, n, radius, k, backend):
        measure.solve(self.econ, self.Y, backend)

    time_solve.setup = _warm_scale_solve

    def track_iterations(self, n, radius, k, backend):
        return self._figures()["iterations"]

    track_iterations.unit = "iterations"

    def track_residual(self, n, radius, k, backend):
        return self._figures()["residual"]

    track_residual.unit = "relative residual"


class ScaleGpuMemory:
    """Device memory of one solve at 10^6 and 10^7 products (radius 0.7: memory does not depend on it)."""

    params = [SIZES, BATCHES, ["cupy", "jax"]]
    param_names = ["n", "k", "backend"]
    timeout = 1800

    def setup(self, n, k, backend):
        _skip(n, k, backend)
        self.econ = common.economy(n, INPUTS, 0.7)
        self.Y = measure.to_backend(common.demand(n, k), backend)
        common.warm_up(self.econ, self.Y, backend)

    def track_gpu_memory_bytes(self, n, k, backend):
        """CuPy: the memory pool's bytes after one solve (from an emptied pool). JAX: peak bytes in use."""
        used = measure.device_bytes_of_solve(self.econ, self.Y, backend)
        return np.nan if used is None else used

    track_gpu_memory_bytes.unit = "bytes"


class SpMVBandwidth:
    """Effective bandwidth of one sparse mat-vec, alone and as a fraction of the device's copy bandwidth."""

    params = [SIZES, BACKENDS, ["bigplan", "library"]]
    param_names = ["n", "backend", "path"]
    timeout = 1800
    number = 1
    repeat = (1, 20, 10.0)
    warmup_time = 0

    def setup(self, n, backend, path):
        _skip(n, 1, backend)
        self.econ = common.economy(n, INPUTS, 0.7)
        self.copy = measure.copy_bandwidth(backend)
        self.spmv = measure.spmv(self.econ, backend, path)

    def track_spmv_bandwidth_fraction(self, n, backend, path):
        return self.spmv["bandwidth"] / self.copy["bandwidth"]

    track_spmv_bandwidth_fraction.unit = "fraction of copy bandwidth"

    def track_spmv_bandwidth(self, n, backend, path):
        return self.spmv["bandwidth"]

    track_spmv_bandwidth.unit = "bytes/s"

    def track_copy_bandwidth(self, n, backend, path):
        return self.copy["bandwidth"]

    track_copy_bandwidth.unit = "bytes/s"

    def track_spmv_seconds(self, n, backend, path):
        return self.spmv["seconds"]

    track_spmv_seconds.unit = "seconds"
