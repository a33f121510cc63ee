"""Past one machine: many plans across a Dask cluster, one economy across several JAX devices.

Many plans (every council's variant, a Monte Carlo sweep) are independent solves with one economy:
:func:`solve_output`, :func:`labour_values` and :func:`monte_carlo` send the economy to each Dask worker
once, cut the plans into blocks sized to fit a worker's device, solve each block with the ordinary
batched solver on that worker's backend (:func:`bigplan.solve_output`), and gather the answers in plan
order with every plan's evidence, or write one parquet file per block atomically (``out=``), skipping
blocks an earlier run already wrote.  A block is a pure function of its inputs: when a worker dies
mid-block, Dask runs the block again elsewhere and the answer is the one a single process gives.

One economy too large for one device is the other direction: :class:`ShardedJaxBackend` partitions the
rows of ``A`` over a 1-D mesh of JAX devices and is used as any backend,
``bigplan.solve_output(econ, Y, backend=ShardedJaxBackend(devices=4))``.

Dask is an optional extra (``pip install 'bigplan[dask]'``), imported only when a function here is called.
Connect with ``client=`` (a ``dask.distributed.Client``: ``LocalCluster`` on one machine,
``dask_cuda.LocalCUDACluster`` on a multi-GPU node, where each worker sees one GPU and ``backend="auto"``
uses CuPy on it) or ``scheduler="tcp://host:8786"``; a scheduler that does not answer within ``timeout``
seconds raises :class:`~bigplan.errors.SchedulerUnavailableError`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from ._distributed.connect import connect
from ._distributed.payload import payload_of
from ._distributed.payload import perturbed_economy as _perturbed
from ._distributed.results import MonteCarloSolution, WrittenBlocks
from ._distributed.run import (
    merge_moments,
    raise_if_failed,
    run_blocks,
    run_monte_carlo,
)
from ._distributed.tasks import SolveOptions
from ._evidence import Evidence
from ._inputs import plan_block
from ._jax_shard import ShardedJaxBackend
from ._methods import as_method
from ._options import check_atol, check_bool, check_int, check_real, check_rtol
from .backend import BACKENDS
from .economy import Economy
from .errors import InvalidEconomyError, InvalidOptionError, ShapeError
from .solvers import working_dtype
from .static import OutputSolution, ValuesSolution

__all__ = [
    "MonteCarloSolution",
    "ShardedJaxBackend",
    "WrittenBlocks",
    "labour_values",
    "monte_carlo",
    "perturbed_economy",
    "solve_output",
]


def _options(economy, backend, method, rtol, atol, dtype) -> SolveOptions:
    if not isinstance(economy, Economy):
        raise InvalidOptionError(
            f"economy must be a bigplan.Economy, got {type(economy).__name__}; build one with Economy(A)"
        )
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise InvalidOptionError(
            f"backend must be one of {BACKENDS} (a name: each worker makes its own backend), got {backend!r}"
        )
    as_method(method)
    return SolveOptions(backend=backend, method=method, rtol=check_rtol(rtol), atol=check_atol(atol),
                        dtype=None if dtype is None else working_dtype(dtype))


def _run(economy, values, names, kind, opts, *, client, scheduler, timeout, block, out, retries):
    retries = check_int(retries, "retries", lo=0)
    cl, owned = connect(client, scheduler, timeout)
    try:
        return run_blocks(cl, payload_of(economy), values, names, kind, opts, block=block, out=out,
                          retries=retries, timeout=float(timeout))
    finally:
        if owned:
            cl.close()


def _merged(results, seconds: float, bsz: int, nworkers: int) -> Evidence:
    skipped = sum(r.skipped for r in results)
    note = (f"solved as {len(results)} block(s) of at most {bsz} plans on {nworkers} Dask worker(s)"
            + (f"; {skipped} block(s) already written by an earlier run" if skipped else ""))
    return Evidence.combine([r.evidence for r in results], seconds=seconds, notes=[note])


def _written(results, evidence, names) -> WrittenBlocks:
    return WrittenBlocks(files=tuple(r.path for r in results), blocks=tuple((r.start, r.stop) for r in results),
                         skipped=sum(r.skipped for r in results), evidence=evidence, plans=pd.Index(names))


def solve_output(
    economy: Economy,
    final_demand: Any,
    *,
    client: Any = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    block: int | None = None,
    backend: str = "auto",
    method: Any = "auto",
    rtol: float = 1e-10,
    atol: float = 0.0,
    dtype: Any = None,
    out: Any = None,
    retries: int = 3,
    raise_on_failure: bool = True,
) -> OutputSolution | WrittenBlocks:
    """Gross output for many plans, solved in blocks across a Dask cluster.

    Parameters
    ----------
    economy : Economy
        Sent to each worker once (and rebuilt there with its productivity certificate).
    final_demand : array_like (n,) or (n, k), pandas Series or DataFrame
        The plans, aligned by label as :func:`bigplan.solve_output` aligns them.
    client : dask.distributed.Client, optional
    scheduler : str, optional
        Address of a running scheduler (``"tcp://host:8786"``), when no ``client`` is given.
    timeout : float
        Seconds to wait for the scheduler (and for its first worker).
    block : int, optional
        Plans per task.  Default: as many as fit a worker's device (its free memory; on the CPU half its
        memory limit per thread), cut so that every worker thread gets work.
    backend : {"auto", "numpy", "cupy", "jax"}
        The backend each worker makes for itself.
    method, rtol, atol, dtype
        As in :func:`bigplan.solve_output`.
    out : str or path, optional
        A folder (shared by the workers): each block is written on its worker to
        ``out/output-<start>-<stop>.parquet`` (products x plans), atomically; blocks already written by a
        run of the same economy and plans are not solved again.
    retries : int
        Times Dask reruns a block whose task raised (a block whose worker died is rerun in any case).
    raise_on_failure : bool
        Raise :class:`~bigplan.ConvergenceError` when a plan missed ``rtol`` (after every block is back).

    Returns
    -------
    OutputSolution or WrittenBlocks
        The gathered answer, as :func:`bigplan.solve_output` returns it (evidence merged: per-plan status and
        residual in plan order), or, with ``out=``, the files and the evidence.

    Raises
    ------
    MissingDependencyError
        Dask (``pip install 'bigplan[dask]'``) or, with ``out=``, pyarrow is not installed.
    SchedulerUnavailableError
        No scheduler answered at ``scheduler`` within ``timeout``, or it has no workers.
    InvalidOptionError
        Neither or both of ``client`` and ``scheduler``; a backend that is not a name; a bad option.
    OutputExistsError
        ``out`` holds a block file of another economy or other plans.
    ConvergenceError, InsufficientMemoryError, ShapeError, LabelError, InvalidDemandError
        As :func:`bigplan.solve_output` raises them.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from dask.distributed import Client
    >>> from bigplan import distributed
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0])
    >>> Y = np.array([[10.0, 11.0, 12.0], [5.0, 5.0, 6.0]])
    >>> with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
    ...     sol = distributed.solve_output(e, Y, client=client, block=2)
    >>> bool(np.allclose(sol.output, np.linalg.solve(np.eye(2) - e.A.toarray(), Y))), sol.status.tolist()
    (True, [0, 0, 0])
    """
    t0 = time.perf_counter()
    opts = _options(economy, backend, method, rtol, atol, dtype)
    raise_on_failure = check_bool(raise_on_failure, "raise_on_failure")
    pb = plan_block(economy, final_demand, "final demand", host=True)
    values = np.asarray(pb.values)
    k = values.shape[1]
    names = pd.Index(pb.names) if pb.names is not None else pd.RangeIndex(k)
    results, bsz, nw = _run(economy, values, list(names), "output", opts, client=client, scheduler=scheduler,
                            timeout=timeout, block=block, out=out, retries=retries)
    evidence = _merged(results, time.perf_counter() - t0, bsz, nw)
    if raise_on_failure:
        raise_if_failed(evidence, opts.rtol, "distributed solve_output")
    if out is not None:
        return _written(results, evidence, names)
    X = np.concatenate([r.values for r in results], axis=1)
    lab = None if economy.labour is None else np.concatenate([r.labour for r in results], axis=1)
    if pb.squeeze:
        X = X[:, 0]
        lab = None if lab is None else lab[:, 0]
    return OutputSolution(
        output=X, labour=lab, evidence=evidence,
        plan_converged=np.concatenate([r.converged for r in results]),
        plan_iterations=np.concatenate([r.iterations for r in results]),
        reason="; ".join(dict.fromkeys(r.reason for r in results)),
        labels=economy.labels, plans=names, labour_names=economy.labour_names,
        clipped=sum(r.clipped for r in results),
    )


def labour_values(
    economy: Economy,
    labour: Any = None,
    *,
    client: Any = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    block: int | None = None,
    backend: str = "auto",
    method: Any = "auto",
    rtol: float = 1e-10,
    atol: float = 0.0,
    dtype: Any = None,
    out: Any = None,
    retries: int = 3,
    raise_on_failure: bool = True,
) -> ValuesSolution | WrittenBlocks:
    """Labour values ``v (I - A) = l`` for many labour vectors, solved in blocks across a Dask cluster.

    Parameters
    ----------
    economy : Economy
    labour : array_like (m, n) or (n,), or pandas DataFrame (products x kinds), optional
        The labour vectors to value (default the economy's own).
    client, scheduler, timeout, block, backend, method, rtol, atol, dtype, out, retries, raise_on_failure
        As in :func:`solve_output` (``out`` files are ``values-<start>-<stop>.parquet``: products x vectors).

    Returns
    -------
    ValuesSolution or WrittenBlocks
        ``values`` of shape ``(m, n)`` (``(n,)`` for one vector), as :func:`bigplan.labour_values` gives.

    Raises
    ------
    InvalidEconomyError
        No labour given and the economy has none.
    MissingDependencyError, SchedulerUnavailableError, InvalidOptionError, ShapeError, ConvergenceError
        As in :func:`solve_output`.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan import distributed
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0])
    >>> distributed.labour_values(e, scheduler="tcp://127.0.0.1:1", timeout=0.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bigplan.errors.SchedulerUnavailableError: no Dask scheduler answered at 'tcp://127.0.0.1:1' within 0.5 s ...
    """
    t0 = time.perf_counter()
    opts = _options(economy, backend, method, rtol, atol, dtype)
    raise_on_failure = check_bool(raise_on_failure, "raise_on_failure")
    if labour is None:
        if economy.labour is None:
            raise InvalidEconomyError(
                "this economy has no labour coefficients; pass labour=... or build it with Economy(A, labour=l)"
            )
        lb = plan_block(economy, np.asarray(economy.labour).T, "labour", host=True)
        names = pd.Index(list(economy.labour_names))
    elif isinstance(labour, (pd.DataFrame, pd.Series)):
        lb = plan_block(economy, labour, "labour", host=True)
        names = pd.Index([str(c) for c in lb.names])
    else:
        arr = np.asarray(labour)
        if arr.ndim not in (1, 2) or arr.shape[-1] != economy.n:
            raise ShapeError(f"labour must have shape ({economy.n},) or (m, {economy.n}), got {arr.shape}")
        lb = plan_block(economy, arr.T, "labour", host=True)
        names = pd.Index([f"labour_{i}" for i in range(lb.k)] if lb.k > 1 else ["labour"])
    results, bsz, nw = _run(economy, np.asarray(lb.values), list(names), "values", opts, client=client,
                            scheduler=scheduler, timeout=timeout, block=block, out=out, retries=retries)
    evidence = _merged(results, time.perf_counter() - t0, bsz, nw)
    if raise_on_failure:
        raise_if_failed(evidence, opts.rtol, "distributed labour_values")
    if out is not None:
        return _written(results, evidence, names)
    V = np.concatenate([r.values for r in results], axis=1).T
    if V.shape[0] == 1:
        V = V[0]
    return ValuesSolution(values=V, evidence=evidence, reason="; ".join(dict.fromkeys(r.reason for r in results)),
                          labels=economy.labels, labour_names=tuple(str(c) for c in names))


def perturbed_economy(economy: Economy, seed: int, sample: int, sigma: float = 0.05) -> Economy:
    """The economy of Monte Carlo sample ``sample``: each coefficient times ``exp(sigma z - sigma^2 / 2)``.

    ``z`` is standard normal, one per non-zero coefficient, from ``numpy.random.default_rng([seed, sample])``
    (the factor has mean 1; the sparsity pattern is kept).  :func:`monte_carlo` builds exactly these
    economies on its workers.

    Parameters
    ----------
    economy : Economy
    seed, sample : int
    sigma : float

    Returns
    -------
    Economy

    Raises
    ------
    NotProductiveError
        The perturbed economy is not productive (the message names the sample).

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]))
    >>> from bigplan import distributed
    >>> a = distributed.perturbed_economy(e, seed=1, sample=0, sigma=0.1)
    >>> b = distributed.perturbed_economy(e, seed=1, sample=0, sigma=0.1)
    >>> bool((a.A != b.A).nnz == 0), bool((a.A != e.A).nnz > 0)
    (True, True)
    """
    seed, sample = check_int(seed, "seed", lo=0), check_int(sample, "sample", lo=0)
    sigma = check_real(sigma, "sigma", lo=0)
    return _perturbed(payload_of(economy), seed, sample, sigma)


def monte_carlo(
    economy: Economy,
    final_demand: Any,
    samples: int,
    *,
    client: Any = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    seed: int = 0,
    sigma: float = 0.05,
    block: int | None = None,
    backend: str = "auto",
    method: Any = "auto",
    rtol: float = 1e-10,
    atol: float = 0.0,
    dtype: Any = None,
    retries: int = 3,
    raise_on_failure: bool = True,
) -> MonteCarloSolution:
    """Gross output under uncertain coefficients: ``samples`` perturbed economies, each built on a worker.

    Sample ``s`` is :func:`perturbed_economy` ``(economy, seed, s, sigma)``; only the base economy travels
    (once per worker) and each worker returns running moments, so the cost on the client does not grow with
    the number of samples.

    Parameters
    ----------
    economy : Economy
    final_demand : array_like (n,) or (n, k), pandas Series or DataFrame
        The plans solved in every sample.
    samples : int
    client, scheduler, timeout, backend, method, rtol, atol, dtype, retries, raise_on_failure
        As in :func:`solve_output`.
    seed : int
    sigma : float
        Spread of the log of each coefficient's factor.
    block : int, optional
        Samples per task (default: spread over the worker threads).

    Returns
    -------
    MonteCarloSolution
        ``mean`` and ``std`` of gross output (shaped like the final demand), ``labour`` per sample.

    Raises
    ------
    NotProductiveError
        A sample's economy is not productive.
    MissingDependencyError, SchedulerUnavailableError, InvalidOptionError, ConvergenceError
        As in :func:`solve_output`.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]))
    >>> from bigplan import distributed
    >>> distributed.monte_carlo(e, [1.0, 1.0], 4)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bigplan.errors.InvalidOptionError: bigplan.distributed needs a cluster: pass client=...
    """
    t0 = time.perf_counter()
    opts = _options(economy, backend, method, rtol, atol, dtype)
    samples = check_int(samples, "samples", lo=1)
    seed = check_int(seed, "seed", lo=0)
    sigma = check_real(sigma, "sigma", lo=0)
    block = check_int(block, "block", lo=1, allow_none=True)
    retries = check_int(retries, "retries", lo=0)
    raise_on_failure = check_bool(raise_on_failure, "raise_on_failure")
    pb = plan_block(economy, final_demand, "final demand", host=True)
    values = np.asarray(pb.values)
    k = values.shape[1]
    cl, owned = connect(client, scheduler, timeout)
    try:
        parts, nw = run_monte_carlo(cl, payload_of(economy), values, samples, seed, sigma, opts, block=block,
                                    retries=retries, timeout=float(timeout))
    finally:
        if owned:
            cl.close()
    count, mean, m2 = merge_moments(parts)
    std = np.sqrt(m2 / (count - 1)) if count > 1 else np.zeros_like(mean)
    labs = [p.labour for p in parts]
    labour = None if any(x is None for x in labs) else np.concatenate(labs, axis=0)
    evidence = Evidence.combine(
        [p.evidence for p in parts], seconds=time.perf_counter() - t0,
        notes=[f"{samples} samples (seed {seed}, sigma {sigma:g}) in {len(parts)} block(s) on {nw} Dask worker(s)"],
    )
    if raise_on_failure:
        raise_if_failed(evidence, opts.rtol, "distributed monte_carlo")
    if pb.squeeze:
        mean, std = mean[:, 0], std[:, 0]
    return MonteCarloSolution(
        mean=mean, std=std, labour=labour, samples=samples, seed=seed, sigma=sigma, evidence=evidence,
        labels=economy.labels, plans=pd.Index(pb.names) if pb.names is not None else pd.RangeIndex(k),
    )
