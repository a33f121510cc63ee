"""The client's side of a distributed run: send the economy once, submit the blocks, gather in plan order."""

from __future__ import annotations

import math
import uuid
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .._evidence import Evidence
from ..errors import ConvergenceError
from .connect import plans_per_block, wait_for_workers
from .parquet import block_path, existing_block, require_pyarrow
from .payload import EconomyPayload, block_token
from .tasks import BlockResult, SolveOptions, monte_carlo_task, solve_block_task

__all__ = ["merge_moments", "raise_if_failed", "run_blocks", "run_monte_carlo"]


def _keep(payload: EconomyPayload) -> EconomyPayload:
    """The economy's task: its result stays on the workers that need it (and is recomputed if they die)."""
    return payload


def _submit(client, *args, **kwargs):
    # the demand of a block travels inside its task, so that a block whose worker dies can run elsewhere
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ll]arge (graph|object).*")
        return client.submit(*args, **kwargs)


#: The economies already on a cluster, per client: ``(client id, fingerprint) -> future`` (the latest two).
_SENT: OrderedDict = OrderedDict()
_KEEP_SENT = 2


def send_economy(client, payload: EconomyPayload):
    """One future holding the economy, copied to every worker before any block is submitted.

    A task rather than ``scatter``: the scheduler keeps the means to make it again, so the economy outlives
    the death of every worker that held it.  Copying it everywhere first keeps Dask from sending every
    block to the first worker that had it.  The future is kept (for the latest two economies of each
    client), so a sweep of calls with one economy sends it once.
    """
    tag = (client.id, payload.key)
    fut = _SENT.get(tag)
    if fut is not None and fut.status == "finished":
        _SENT.move_to_end(tag)
        return fut
    fut = _submit(client, _keep, payload, key=f"bigplan-economy-{payload.key}", pure=False)
    if len(client.scheduler_info(n_workers=-1)["workers"]) > 1:
        client.replicate([fut])  # waits for the economy's task first
    _SENT[tag] = fut
    while len(_SENT) > _KEEP_SENT:
        _SENT.popitem(last=False)
    return fut


def _from_meta(start: int, stop: int, meta: dict, path: Path) -> BlockResult:
    ev = meta["evidence"]
    evidence = Evidence(
        converged=all(meta["converged"]), status=ev["status"], iterations=ev["iterations"], residual=ev["residual"],
        backend=ev["backend"], method=ev["method"], matvecs=ev["matvecs"], seconds=ev["seconds"], notes=ev["notes"],
    )
    lab = None if meta.get("labour") is None else np.asarray(meta["labour"], dtype=np.float64)
    return BlockResult(start, stop, None, lab, evidence, np.asarray(meta["converged"], dtype=bool),
                       np.asarray(meta["iterations"]), meta["reason"], int(meta["clipped"]), "earlier run",
                       path=str(path), skipped=True)


def run_blocks(client, payload: EconomyPayload, values: np.ndarray, names, kind: str, opts: SolveOptions, *,
               block, out, retries: int, timeout: float) -> tuple[list[BlockResult], int, int]:
    """Solve the columns of ``values`` in blocks across the cluster: ``(results in plan order, block, workers)``."""
    workers = wait_for_workers(client, timeout)
    k = values.shape[1]
    bsz = plans_per_block(client, workers, payload.n, payload.nnz, k, opts.backend, block)
    run = uuid.uuid4().hex[:8]
    if out is not None:
        require_pyarrow()
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
    econ = None
    slots: list = []
    for start in range(0, k, bsz):
        stop = min(k, start + bsz)
        vals = np.ascontiguousarray(values[:, start:stop])
        blk_names = [str(c) for c in names[start:stop]]
        path, meta = None, {}
        if out is not None:
            path = block_path(out, kind, start, stop)
            meta = {"economy": payload.key, "plans": block_token(vals, blk_names)}
            done = existing_block(path, meta["economy"], meta["plans"])
            if done is not None:
                slots.append(_from_meta(start, stop, done, path))
                continue
        if econ is None:
            econ = send_economy(client, payload)
        slots.append(_submit(
            client, solve_block_task, econ, vals, start, stop, kind, opts, blk_names,
            None if path is None else str(path), meta,
            key=f"bigplan-block-{kind}-{run}-{start}", retries=retries, pure=False,
        ))
    futures = [s for s in slots if not isinstance(s, BlockResult)]
    done = iter(client.gather(futures, direct=True)) if futures else iter(())
    results = [s if isinstance(s, BlockResult) else next(done) for s in slots]
    return results, bsz, len(workers)


def merge_moments(parts) -> tuple[int, np.ndarray, np.ndarray]:
    """``(count, mean, m2)`` of all parts from each part's (Chan, Golub and LeVeque's pairwise update)."""
    count, mean, m2 = 0, None, None
    for p in parts:
        c = p.stop - p.start
        if mean is None:
            count, mean, m2 = c, p.mean.copy(), p.m2.copy()
            continue
        total = count + c
        delta = p.mean - mean
        mean += delta * (c / total)
        m2 += p.m2 + delta * delta * (count * c / total)
        count = total
    return count, mean, m2


def run_monte_carlo(client, payload: EconomyPayload, values: np.ndarray, samples: int, seed: int, sigma: float,
                    opts: SolveOptions, *, block, retries: int, timeout: float):
    """Samples in blocks across the cluster: ``(parts in sample order, workers)``."""
    workers = wait_for_workers(client, timeout)
    nthreads = sum(max(1, int(w.get("nthreads", 1))) for w in workers.values()) or 1
    per = block if block is not None else max(1, math.ceil(samples / nthreads))
    run = uuid.uuid4().hex[:8]
    econ = send_economy(client, payload)
    futures = [
        _submit(client, monte_carlo_task, econ, values, seed, s0, min(samples, s0 + per), sigma, opts,
                key=f"bigplan-montecarlo-{run}-{s0}", retries=retries, pure=False)
        for s0 in range(0, samples, per)
    ]
    return client.gather(futures, direct=True), len(workers)


def raise_if_failed(evidence: Evidence, rtol: float, what: str) -> None:
    """:class:`ConvergenceError` naming how many plans missed ``rtol`` (after every block came back)."""
    if evidence.converged:
        return
    bad = evidence.failed
    raise ConvergenceError(
        f"{what}: {bad.size} of {evidence.residual.size} plans did not reach rtol={rtol:g} (worst relative "
        f"residual {float(np.nanmax(evidence.residual[bad])):.3g}; plans {bad[:10].tolist()}"
        f"{' ...' if bad.size > 10 else ''}); {evidence.describe()}. Pass raise_on_failure=False to get the "
        "result with its per-plan status",
        residual=evidence.residual,
        iterations=evidence.iterations,
    )
