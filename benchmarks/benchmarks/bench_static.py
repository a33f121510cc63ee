"""asv: the static model (issue 2) at 10^4, 10^5 and 10^6 products.

Economies: ``technical_matrix(n, inputs_per_product=20, column_sum=0.7)``
(spectral radius 0.7), one row of labour; plans from ``final_demand``;
``rtol=1e-10`` throughout.  Inputs are built (or loaded from ``.asv/cache``) in
``setup``.  GPU backends get their plans as device arrays and, before every
timed or peakmem benchmark, a full warm-up solve of the same shape (CuPy kernel
compilation and the upload of ``A``; JAX compiles once per block width, and a
batch passes through several widths as plans converge; JAX's persistent
compilation cache under ``.asv/cache/jax`` spares later processes most of
that).  Every timed call waits for the device before it returns.

``peakmem_*`` is the process's peak RSS from the end of ``setup`` (reset via
``/proc/self/clear_refs`` where Linux allows; elsewhere from process start):
the resident economy and plans, the libraries, and the solve's temporaries.
It sees host memory only; device memory is ``GpuMemory.track_gpu_memory_bytes``.

The ``track_*`` figures of one parameter set come from a single solve, kept
as JSON under ``.asv/cache/figures`` and keyed by a hash of bigplan's source,
so they cost one solve per code version, not one per figure.

A full run measures 10^6 products with 64 plans on the CPU (10 to 25 s per
solve on 2 cores, depending on the method ``auto`` picks and on whether the
backend's workspace is warm); ``BIGPLAN_BENCH_MAX_N=100000`` skips the 10^6
rows for a smoke run of a few minutes.
"""

from __future__ import annotations

import numpy as np

import bigplan

from . import common
from .common import measure

INPUTS = 20
RADIUS = 0.7
SIZES = common.SIZES
BACKENDS = ["numpy", "jax", "cupy"]


def _skip_jax_cpu_batch(n: int, k: int, backend: str) -> None:
    # JAX on the CPU at 10^6 products x 64 plans is skipped.  Time: at 10^5 x 64 a
    # JAX-CPU solve took 15 s warm and 38 s on its first call (every block width the
    # shrinking batch passes through is compiled); 10^6 is ten times the work, so each
    # asv process (setup's warm-up solve plus the measured one) would take about five
    # minutes on 2 cores, several times over for time/peakmem/track.  Memory: JAX
    # arrays are immutable, so every block update allocates a fresh 512 MB (10^6 x 64
    # float64) block next to the nine BiCGSTAB keeps.  JAX on a GPU runs this case.
    if backend == "jax" and n >= 10**6 and k > 1 and not common.is_device("jax"):
        raise NotImplementedError("JAX on the CPU at 10^6 x 64 plans: minutes per solve (see comment)")


def _warm_solve_output(*params):
    # asv runs a benchmark function's own ``setup`` attribute after the class's setup,
    # with the parameters but not the instance: SolveOutput.setup leaves it in ``current``.
    SolveOutput.current.warm()


class SolveOutput:
    """Gross outputs ``(I - A) X = Y`` for one plan and a batch of 64 (``solve_output``).

    ``time_solve`` and ``peakmem_solve`` get a warm-up solve first (their own
    setup); the ``track_`` figures come from one measured solve per code
    version (a warm one on device backends), kept by ``common.solve_figures``.
    """

    params = [SIZES, [1, 64], BACKENDS]
    param_names = ["n", "k", "backend"]
    timeout = 1800  # 10^6 x 64 on 2 loaded cores: up to a minute per solve (more for JAX)
    number = 1
    repeat = (1, 10, 20.0)  # as many samples as fit in ~20 s, at least one
    rounds = 1
    warmup_time = 0  # warm() does it
    current = None

    def setup(self, n, k, backend):
        common.skip_if_too_large(n)
        common.require(backend)
        _skip_jax_cpu_batch(n, k, backend)
        self.backend = backend
        self.econ = common.economy(n, INPUTS, RADIUS)
        self.Y = measure.to_backend(common.demand(n, k), backend)
        self.key = dict(bench="SolveOutput", n=n, k=k, backend=backend, inputs=INPUTS, radius=RADIUS, rtol=common.RTOL)
        SolveOutput.current = self

    def warm(self):
        if self.backend != "numpy":
            common.warm_up(self.econ, self.Y, self.backend)  # compile, upload A
        measure.reset_peak_rss()  # peakmem_ counts from here

    def _figures(self) -> dict:
        return common.solve_figures(self.key, self.econ, self.Y, self.backend)

    def time_solve(self, n, k, backend):
        measure.solve(self.econ, self.Y, backend)

    time_solve.setup = _warm_solve_output

    def peakmem_solve(self, n, k, backend):
        measure.solve(self.econ, self.Y, backend)

    peakmem_solve.setup = _warm_solve_output

    def track_iterations(self, n, k, backend):
        return self._figures()["iterations"]

    track_iterations.unit = "iterations"

    def track_residual(self, n, k, backend):
        return self._figures()["residual"]

    track_residual.unit = "relative residual"

    def track_matvecs(self, n, k, backend):
        return self._figures()["matvecs"]

    track_matvecs.unit = "mat-vecs"

    def track_memory_over_csr(self, n, k, backend):
        """(CSR bytes of A + the solve's extra host memory) / CSR bytes of A (issue 2: < 3 for one plan)."""
        return self._figures()["memory_over_csr"]

    track_memory_over_csr.unit = "x CSR bytes"


class LabourValues:
    """Labour values ``v (I - A) = l``: the transposed solve (``labour_values``)."""

    params = [SIZES, BACKENDS]
    param_names = ["n", "backend"]
    timeout = 900
    number = 1
    repeat = (1, 10, 20.0)
    rounds = 1
    warmup_time = 0

    def setup(self, n, backend):
        common.skip_if_too_large(n)
        common.require(backend)
        self.backend = backend
        self.econ = common.economy(n, INPUTS, RADIUS)
        self.econ.AT  # noqa: B018 - A^T in CSR is built on first use and cached: not part of the timing
        if backend != "numpy":
            self._values()  # warm-up: compile, upload A^T

    def _values(self):
        v = bigplan.labour_values(self.econ, backend=self.backend, rtol=common.RTOL, keep_on_device=True)
        measure.sync(v.values, self.backend)
        return v

    def time_labour_values(self, n, backend):
        self._values()


class SciPyBaseline:
    """SciPy's ``bicgstab`` on the same ``I - A`` (CSR built in setup), one plan, ``rtol=1e-10``, ``atol=0``."""

    params = [SIZES]
    param_names = ["n"]
    timeout = 900
    number = 1
    repeat = (1, 10, 20.0)
    rounds = 1
    warmup_time = 0

    def setup(self, n):
        common.skip_if_too_large(n)
        # only I - A is held (as SciPy's user would): A itself is dropped before the peak is reset
        self.M = measure.leontief_csr(common.matrix(n, INPUTS, RADIUS, keep=False))
        self.y = common.demand(n, 1)
        self.key = dict(bench="SciPyBaseline", n=n, inputs=INPUTS, radius=RADIUS, rtol=common.RTOL)
        measure.reset_peak_rss()

    def _figures(self) -> dict:
        def run():
            x, info, its = measure.scipy_bicgstab(self.M, self.y, common.RTOL)
            return {"iterations": its, "info": info, "residual": measure.relative_residual(self.M, self.y, x)}

        return common.memo(self.key, run)

    def time_bicgstab(self, n):
        measure.scipy_bicgstab(self.M, self.y, common.RTOL)

    def peakmem_bicgstab(self, n):
        measure.scipy_bicgstab(self.M, self.y, common.RTOL)

    def track_iterations(self, n):
        return self._figures()["iterations"]

    track_iterations.unit = "iterations"

    def track_residual(self, n):
        return self._figures()["residual"]

    track_residual.unit = "relative residual"


class GpuMemory:
    """Device memory of one solve (A on the device, plans, BiCGSTAB's blocks, the answer)."""

    params = [SIZES, [1, 64], ["cupy", "jax"]]
    param_names = ["n", "k", "backend"]
    timeout = 900

    def setup(self, n, k, backend):
        common.skip_if_too_large(n)
        common.require(backend, gpu=True)
        self.econ = common.economy(n, INPUTS, RADIUS)
        self.Y = measure.to_backend(common.demand(n, k), backend)
        common.warm_up(self.econ, self.Y, backend)  # compile, upload A

    def track_gpu_memory_bytes(self, n, k, backend):
        """CuPy: the memory pool's bytes after one solve (from an emptied pool). JAX: peak bytes in use."""
        used = measure.device_bytes_of_solve(self.econ, self.Y, backend)
        return np.nan if used is None else used

    track_gpu_memory_bytes.unit = "bytes"
