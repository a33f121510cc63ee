"""What runs on the workers: pure functions of their inputs, so that Dask may run any of them again elsewhere.

A block's task rebuilds (once per worker) the economy from its payload, solves its plans with the ordinary
:func:`bigplan.solve_output` / :func:`bigplan.labour_values` on the worker's backend, and either returns the
answer or writes it, atomically, to its own parquet file.  A Monte Carlo task builds each sample's economy
from ``(seed, sample)`` where it runs and returns running moments, never the economies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._evidence import Evidence, Status
from ..static import labour_values, solve_output
from .parquet import evidence_meta, write_block
from .payload import EconomyPayload, economy_on_worker, perturbed_economy

__all__ = ["BlockResult", "MonteCarloPart", "SolveOptions", "monte_carlo_task", "solve_block_task"]


@dataclass(frozen=True)
class SolveOptions:
    """The options every block is solved with (checked on the client before anything is sent)."""

    backend: str = "auto"
    method: Any = "auto"
    rtol: float = 1e-10
    atol: float = 0.0
    dtype: Any = None

    def kwargs(self) -> dict:
        return {"backend": self.backend, "method": self.method, "rtol": self.rtol, "atol": self.atol, "dtype": self.dtype,
                "raise_on_failure": False, "keep_on_device": False}


@dataclass(frozen=True)
class BlockResult:
    """One block's answer (``values`` None when it went to ``path``) and evidence."""

    start: int
    stop: int
    values: np.ndarray | None
    labour: np.ndarray | None
    evidence: Evidence
    converged: np.ndarray
    iterations: np.ndarray
    reason: str
    clipped: int
    worker: str
    path: str | None = None
    skipped: bool = False


@dataclass(frozen=True)
class MonteCarloPart:
    """Moments of gross output over samples ``start..stop`` (Welford: count, mean, sum of squared deviations)."""

    start: int
    stop: int
    mean: np.ndarray
    m2: np.ndarray
    labour: np.ndarray | None
    evidence: Evidence
    worker: str


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def solve_block_task(payload: EconomyPayload, values: np.ndarray, start: int, stop: int, kind: str,
                     opts: SolveOptions, names: list, path: str | None, meta: dict) -> BlockResult:
    """Solve plans ``start..stop`` (``values``: products x plans) on this worker; write them to ``path`` if given."""
    econ = economy_on_worker(payload)
    if kind == "output":
        sol = solve_output(econ, values, **opts.kwargs())
        X = np.asarray(sol.output).reshape(econ.n, -1)
        lab = None if sol.labour is None else np.asarray(sol.labour).reshape(-1, X.shape[1])
        conv, its, clipped = np.asarray(sol.plan_converged), np.asarray(sol.plan_iterations), int(sol.clipped)
    else:
        sol = labour_values(econ, np.ascontiguousarray(values.T), **opts.kwargs())
        X = np.atleast_2d(np.asarray(sol.values)).T  # products x labour vectors, like the input
        lab, clipped = None, 0
        conv = np.asarray(sol.evidence.status) == Status.CONVERGED
        its = np.full(X.shape[1], sol.evidence.iterations, dtype=np.int64)
    worker = _worker_name()
    if path is None:
        return BlockResult(start, stop, X, lab, sol.evidence, conv, its, sol.reason, clipped, worker)
    frame = pd.DataFrame(X, index=econ.labels, columns=[str(c) for c in names])
    write_block(Path(path), frame, {
        **meta, "kind": kind, "start": start, "stop": stop, "names": [str(c) for c in names],
        "evidence": evidence_meta(sol.evidence), "converged": conv.tolist(), "iterations": its.tolist(),
        "labour": None if lab is None else lab.tolist(), "reason": sol.reason, "clipped": clipped,
    })
    return BlockResult(start, stop, None, lab, sol.evidence, conv, its, sol.reason, clipped, worker, path=str(path))


def monte_carlo_task(payload: EconomyPayload, values: np.ndarray, seed: int, start: int, stop: int,
                     sigma: float, opts: SolveOptions) -> MonteCarloPart:
    """Samples ``start..stop``: each economy built here from ``(seed, sample)``, solved for every plan."""
    mean = m2 = None
    labs, evs = [], []
    for count, s in enumerate(range(start, stop), start=1):
        econ = perturbed_economy(payload, seed, s, sigma)
        sol = solve_output(econ, values, **opts.kwargs())
        X = np.asarray(sol.output, dtype=np.float64).reshape(econ.n, -1)
        if mean is None:
            mean, m2 = np.zeros_like(X), np.zeros_like(X)
        delta = X - mean
        mean += delta / count
        m2 += delta * (X - mean)
        if sol.labour is not None:
            labs.append(np.asarray(sol.labour).reshape(-1, X.shape[1]))
        evs.append(sol.evidence)
    labour = np.stack(labs) if labs else None
    return MonteCarloPart(start, stop, mean, m2, labour, Evidence.combine(evs), _worker_name())
