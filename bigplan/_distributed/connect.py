"""Dask, imported only when asked for; a client from an address, with a timeout; blocks sized to the workers."""

from __future__ import annotations

import math
from typing import Any

from .._options import check_int, check_real
from ..errors import (
    InvalidOptionError,
    MissingDependencyError,
    SchedulerUnavailableError,
)

__all__ = ["connect", "device_memory", "import_distributed", "plans_per_block"]

_INSTALL = "pip install 'bigplan[dask]'"

#: Work blocks of ``n`` numbers a solve holds per plan (BiCGSTAB's or refinement's blocks, the demand,
#: the answer and a product's output): the solvers' own count, rounded up.
BLOCKS_PER_PLAN = 20


def import_distributed():
    """``dask.distributed``, or :class:`MissingDependencyError` naming the extra to install."""
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError(
            f"bigplan.distributed needs Dask's distributed scheduler ({exc}); install it with {_INSTALL}"
        ) from None
    return distributed


def connect(client: Any, scheduler: Any, timeout: Any):
    """``(client, owned)``: the caller's client, or a new one connected to ``scheduler`` (owned: close it after).

    Raises
    ------
    InvalidOptionError
        Both or neither of ``client`` and ``scheduler``; a client that is not a Dask client.
    SchedulerUnavailableError
        No scheduler answered at ``scheduler`` within ``timeout`` seconds, or it has no workers.
    """
    timeout = check_real(timeout, "timeout", lo=0, lo_open=True)
    dist = import_distributed()
    if client is not None and scheduler is not None:
        raise InvalidOptionError("pass client= or scheduler=, not both")
    if client is not None:
        if not isinstance(client, dist.Client):
            raise InvalidOptionError(
                f"client must be a dask.distributed.Client, got {type(client).__name__}; "
                "or pass scheduler='tcp://host:8786'"
            )
        return client, False
    if scheduler is None:
        raise InvalidOptionError(
            "bigplan.distributed needs a cluster: pass client=dask.distributed.Client(...) or "
            "scheduler='tcp://host:8786' (start one with `dask scheduler` and `dask worker ADDRESS`)"
        )
    if not isinstance(scheduler, str) or not scheduler:
        raise InvalidOptionError(f"scheduler must be an address such as 'tcp://host:8786', got {scheduler!r}")
    try:
        client = dist.Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnavailableError(
            f"no Dask scheduler answered at {scheduler!r} within {timeout:g} s ({type(exc).__name__}: {exc}); "
            "check the address and that `dask scheduler` runs there, or raise timeout="
        ) from None
    return client, True


def wait_for_workers(client, timeout: float) -> dict:
    """The scheduler's view of its workers (address -> info); at least one, else SchedulerUnavailableError."""
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnavailableError(
            f"the Dask scheduler at {client.scheduler.address!r} has no workers after {timeout:g} s ({exc}); "
            "start some with `dask worker ADDRESS`"
        ) from None
    return dict(client.scheduler_info(n_workers=-1)["workers"])


def device_memory(backend) -> int | None:
    """Free device memory of ``backend`` on this process (run on each worker); None on the CPU."""
    from ..backend import get_backend

    return get_backend(backend).memory_available()


def plans_per_block(client, workers: dict, n: int, nnz: int, k: int, backend, block: Any) -> int:
    """Plans per task: ``block`` when given, else what fits a worker's device (or memory), spread over the workers.

    The estimate is :data:`BLOCKS_PER_PLAN` blocks of ``n`` float64 numbers per plan, after the matrix
    (12 bytes per non-zero); a worker's budget is its device's free memory when it has a device, else half
    of its memory limit per thread (2 GiB when unlimited).  The plans are then cut into a multiple of the
    number of worker threads of blocks (before rounding the block size up), so that none idles.
    """
    block = check_int(block, "block", lo=1, allow_none=True)
    if block is not None:
        return min(block, k)
    nthreads = sum(max(1, int(w.get("nthreads", 1))) for w in workers.values()) or 1
    budgets = []
    for w in workers.values():
        limit = w.get("memory_limit") or 0
        budgets.append(0.5 * limit / max(1, int(w.get("nthreads", 1))) if limit else 2 * 2**30)
    dev = {}
    if not (isinstance(backend, str) and backend == "numpy"):
        try:
            dev = client.run(device_memory, backend)
        except Exception:  # noqa: BLE001 - a worker that cannot make the backend fails its block with the real error
            dev = {}
    budgets += [0.8 * v for v in dev.values() if v]
    budget = min(budgets) - 12.0 * nnz
    per_plan = BLOCKS_PER_PLAN * 8.0 * n
    fit = max(1, int(budget // per_plan)) if budget > 0 else 1
    nblocks = max(math.ceil(k / fit), 1)
    nblocks = math.ceil(nblocks / nthreads) * nthreads  # a multiple of the worker threads
    return max(1, math.ceil(k / nblocks))
