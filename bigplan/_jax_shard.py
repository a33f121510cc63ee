"""One economy across several JAX devices: ``A`` partitioned by rows over a 1-D device mesh.

:class:`ShardedJaxBackend` is a :class:`~bigplan.gpu.JaxBackend` whose sparse product is sharded, so the
ordinary batched solvers (BiCGSTAB, Neumann, refinement) run on it unchanged:
``bigplan.solve_output(econ, Y, backend=ShardedJaxBackend(devices=4))``.

The layout.  With ``D`` devices, the rows of ``A`` are cut into ``D`` consecutive slabs of
``ceil(n / D)`` rows (the last padded with empty rows, so ``n`` need not divide by ``D``).  Each device
holds its slab in CSR (coefficients and column indices padded with zeros to one length, about
``nnz / D`` entries, and a row pointer).  A product ``A X`` runs under ``jax.shard_map``: each device
all-gathers the iterate ``X`` (its slab of rows from every other device, ``n k`` numbers in all),
multiplies its slab (``jax.experimental.sparse.BCSR``: XLA's kernel on the CPU; on a GPU, cuSPARSE through
the lowering :class:`~bigplan.gpu.JaxBackend` switches on; not yet measured there) and
keeps its rows of the answer.  Plan blocks are row-sharded the same way when ``n`` divides by ``D`` (the elementwise
Krylov updates then run on ``n k / D`` numbers per device and the column dots are all-reduced by XLA);
otherwise they are replicated and each product is padded into the sharded layout and sliced back.

Memory per device is checked before anything is allocated: the device's own figure on a GPU, or
``memory_per_device=`` (how a CPU run, or a cautious GPU run, states its budget).

Multi-host: call ``jax.distributed.initialize()`` on every process first (under SLURM it reads the job's
environment); ``jax.devices()`` then lists every host's devices and ``devices=None`` uses them all
(see ``docs/scaling.md``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._arrays import is_int
from .errors import BackendUnavailableError, InsufficientMemoryError, InvalidOptionError
from .gpu import JaxBackend, jax_kernels

__all__ = ["ShardedJaxBackend", "ShardedOperator"]


class ShardedOperator:
    """``A`` (or ``A^T``) as ``D`` row slabs, one per device; a JAX pytree (the shapes are static).

    ``data`` and ``cols`` are ``(D, width)``, ``indptr`` is ``(D, slab + 1)``: slab ``d`` is a CSR matrix of
    ``slab`` rows over all (padded) columns, its padding (zeros in column 0) counted in its last row.
    """

    def __init__(self, data, cols, indptr, n: int, slab: int):
        self.data, self.cols, self.indptr = data, cols, indptr
        self.n, self.slab = int(n), int(slab)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.n)

    def tree_flatten(self):
        return (self.data, self.cols, self.indptr), (self.n, self.slab)

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children, *aux)


_REGISTERED = False


def _whole(value, name: str) -> int:
    """A whole number >= 1 (the option checks of :mod:`bigplan._options` sit above the backends)."""
    if not is_int(value) or int(value) < 1:
        raise InvalidOptionError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def _register(jax) -> None:
    global _REGISTERED
    if not _REGISTERED:
        jax.tree_util.register_pytree_node_class(ShardedOperator)
        _REGISTERED = True


class ShardedJaxBackend(JaxBackend):
    """JAX over a 1-D mesh of devices, ``A`` partitioned by rows (see the module's notes).

    Parameters
    ----------
    devices : int or sequence of jax devices, optional
        The first ``devices`` of ``jax.devices()``, or these devices; default all of them.
    mesh : jax.sharding.Mesh, optional
        A 1-D mesh to use instead (its one axis names the row partition).
    memory_per_device : int, optional
        Bytes each device may hold (default: what a GPU reports; unlimited on the CPU).

    Raises
    ------
    BackendUnavailableError
        More devices asked for than JAX sees (the message says how many it sees).
    InvalidOptionError
        Both ``devices`` and ``mesh``; a mesh with more than one axis.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan._jax_shard import ShardedJaxBackend
    >>> bk = ShardedJaxBackend(devices=1)
    >>> e = bigplan.Economy(np.array([[0.1, 0.3, 0.0], [0.2, 0.1, 0.1], [0.0, 0.2, 0.3]]))
    >>> sol = bigplan.solve_output(e, np.ones(3), backend=bk, method="bicgstab")
    >>> bool(np.allclose(sol.output, np.linalg.solve(np.eye(3) - e.A.toarray(), np.ones(3))))
    True
    """

    compiles = True

    def __init__(self, devices: Any = None, mesh: Any = None, *, memory_per_device: int | None = None):
        super().__init__(sparse_format="bcsr")
        jax = self._jax
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        _register(jax)
        if devices is not None and mesh is not None:
            raise InvalidOptionError("pass devices= or mesh=, not both")
        if mesh is not None:
            if not isinstance(mesh, Mesh) or len(mesh.axis_names) != 1:
                raise InvalidOptionError(
                    f"mesh must be a 1-D jax.sharding.Mesh (one axis: the row partition), got {mesh!r}"
                )
        else:
            present = jax.devices()
            if devices is None:
                devs = list(present)
            elif is_int(devices):
                devices = _whole(devices, "devices")
                devs = list(present[: int(devices)]) if devices <= len(present) else None
                want = int(devices)
            else:
                try:
                    devs = list(devices)
                except TypeError:
                    raise InvalidOptionError(
                        f"devices must be a whole number or a sequence of JAX devices, got {devices!r}"
                    ) from None
                want = len(devs)
                if not devs:
                    raise InvalidOptionError("devices is empty; give a device count or at least one JAX device")
                if any(d not in present for d in devs):
                    devs = None
            if devs is None or (devices is not None and len(devs) != want):
                raise BackendUnavailableError(
                    f"a mesh of {want} devices was asked for but JAX sees {len(present)} "
                    f"({present[0].platform}: {[str(d) for d in present]}); ask for at most {len(present)}, "
                    "or start more devices (several hosts: jax.distributed.initialize(); the CPU in tests: "
                    "XLA_FLAGS=--xla_force_host_platform_device_count=N before JAX is imported)"
                )
            mesh = Mesh(np.array(devs), ("rows",))
        self.memory_per_device = None if memory_per_device is None else _whole(memory_per_device, "memory_per_device")
        self.mesh = mesh
        self.axis = mesh.axis_names[0]
        self.ndev = int(mesh.devices.size)
        ids = ",".join(str(d.id) for d in mesh.devices.flat)
        self.name = f"jax-sharded[{ids}]"
        self._P = PartitionSpec
        self._rows_sharding = NamedSharding(mesh, PartitionSpec(self.axis, None))
        self._replicated = NamedSharding(mesh, PartitionSpec())
        self._k = jax_kernels(jax, self._jnp, product=self._product)

    @property
    def cache_tag(self) -> str:
        return self.name

    @property
    def platform(self) -> str:
        return self.mesh.devices.flat[0].platform

    # -- placement ------------------------------------------------------------
    def _sharding_for(self, shape):
        if len(shape) == 2 and shape[0] >= self.ndev and shape[0] % self.ndev == 0:
            return self._rows_sharding
        return self._replicated

    def asarray(self, x, dtype=None):
        jax = self._jax
        if not isinstance(x, jax.Array):
            x = np.array(x, dtype=dtype, copy=True)  # a copy the caller cannot write into meanwhile
        elif dtype is not None and x.dtype != dtype:
            x = x.astype(dtype)
        return jax.device_put(x, self._sharding_for(np.shape(x))).block_until_ready()

    def zeros(self, shape, dtype):
        return self._jax.device_put(np.zeros(shape, dtype=dtype), self._sharding_for(tuple(shape)))

    # -- memory ---------------------------------------------------------------
    def device_memory(self) -> int | None:
        """Bytes free on the fullest device of the mesh (``memory_per_device`` when given), or None."""
        if self.memory_per_device is not None:
            return self.memory_per_device
        if self.platform != "gpu":
            return None
        free = []
        for d in self.mesh.devices.flat:
            stats = d.memory_stats() or {}
            if stats.get("bytes_limit") is None:
                return None
            free.append(int(stats["bytes_limit"] - stats.get("bytes_in_use", 0)))
        return min(free)

    def memory_available(self) -> int | None:
        """All devices' memory together (the solvers' check divides the work by the device count)."""
        per = self.device_memory()
        return None if per is None else per * self.ndev

    # -- the operator ---------------------------------------------------------
    def operator(self, csr, dtype):
        """``D`` row slabs of ``csr``, padded to equal length, placed one per device (memory checked first)."""
        n = csr.shape[0]
        D = self.ndev
        slab = max(1, math.ceil(n / D))
        indptr = np.asarray(csr.indptr, dtype=np.int64)
        bounds = [(min(n, d * slab), min(n, (d + 1) * slab)) for d in range(D)]
        counts = [int(indptr[r1] - indptr[r0]) for r0, r1 in bounds]
        width = max(1, max(counts))
        idx_type = np.int32 if max(slab * D, width) < 2**31 else np.int64
        item = np.dtype(dtype).itemsize + np.dtype(idx_type).itemsize
        need = width * item + (slab + 1) * np.dtype(idx_type).itemsize
        avail = self.device_memory()
        if avail is not None and need > 0.9 * avail:
            total = int(csr.nnz) * item
            raise InsufficientMemoryError(
                f"the economy needs {need:,} bytes on each of {D} devices for its share of A "
                f"({total:,} bytes in all, {csr.nnz:,} non-zeros) and {avail:,} bytes are available per device; "
                f"use about {math.ceil(total / (0.9 * avail))} devices or more, float32 storage, or backend='numpy'"
            )
        data = np.zeros((D, width), dtype=dtype)
        cols = np.zeros((D, width), dtype=idx_type)
        ptr = np.empty((D, slab + 1), dtype=idx_type)
        for d, ((r0, r1), c) in enumerate(zip(bounds, counts)):
            s0 = int(indptr[r0])
            data[d, :c] = csr.data[s0 : s0 + c]
            cols[d, :c] = csr.indices[s0 : s0 + c]
            ptr[d, : r1 - r0 + 1] = indptr[r0 : r1 + 1] - s0
            ptr[d, r1 - r0 + 1 :] = c  # rows past the end of A: empty
            ptr[d, slab] = width  # the padding (zeros) counted in the slab's last row
        put = self._jax.device_put
        s = self._rows_sharding
        return ShardedOperator(put(data, s), put(cols, s), put(ptr, s), n, slab)

    def _product(self, op: ShardedOperator, X):
        """``A X`` under ``shard_map``: each device all-gathers the iterate and multiplies its slab of rows."""
        jax, jnp, P, axis = self._jax, self._jnp, self._P, self.axis
        n, slab, D = op.n, op.slab, self.ndev
        npad = slab * D

        js = self._jsparse

        def local(data, cols, indptr, Xl):
            Xfull = jax.lax.all_gather(Xl, axis, tiled=True)  # (npad, k): the iterate, gathered
            # the padding repeats column 0 in the last row: neither sorted nor unique there
            slab_csr = js.BCSR((data[0], cols[0], indptr[0]), shape=(slab, npad))
            return slab_csr @ Xfull

        Xp = X if npad == n else jnp.pad(X, ((0, npad - n), (0, 0)))
        Xp = jax.lax.with_sharding_constraint(Xp, self._rows_sharding)
        spec = P(axis, None)
        Y = jax.shard_map(local, mesh=self.mesh, in_specs=(spec, spec, spec, spec), out_specs=spec)(
            op.data, op.cols, op.indptr, Xp
        )
        if npad == n:
            return Y
        return jax.lax.with_sharding_constraint(Y[:n], self._replicated)

    def matmat(self, op, X, out=None):
        return self._keep(self._k.matmat(op, X))

    def __repr__(self) -> str:
        return f"<bigplan backend {self.name}: A by rows over {self.ndev} {self.platform} device(s)>"
