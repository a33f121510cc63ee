"""Seeded synthetic technologies: several processes per product that trade labour for inputs.

Re-exported by :mod:`bigplan.synthetic` as :func:`technology`.  The result is
plain arrays (this layer sits below :mod:`bigplan.activity`); build the
:class:`~bigplan.activity.Technology` with ``Technology(**t._asdict())`` or
``Technology.synthetic(n, ...)``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from ._synth_base import check_dtype, check_int, check_real, positive_weights

__all__ = ["technology", "SyntheticTechnology"]

_LOCAL_SHARE = 0.8  # share of the inputs drawn near the product (its "sector"); the rest anywhere
_LOCAL_WIDTH = 0.002  # width of the neighbourhood, as a share of n (at least 30 products)


class SyntheticTechnology(NamedTuple):
    """Arrays of a synthetic technology: ``inputs`` (n x P, CSC), ``makes`` (P,), ``labour`` (kinds, P)."""

    inputs: sp.csc_matrix
    makes: np.ndarray
    labour: np.ndarray


def technology(
    n: int,
    *,
    processes: Any = (2, 5),
    inputs_per_process: float = 20,
    column_sum: tuple = (0.45, 0.85),
    trade_off: float = 2.0,
    kinds: int = 1,
    seed: Any = 0,
    dtype: Any = np.float64,
) -> SyntheticTechnology:
    """Random technology with several processes per product, in time and memory linear in the non-zeros.

    Every product ``j`` gets ``processes`` processes (an int, or a ``(lo, hi)`` range drawn per product).
    Process ``p`` has ``1 + Poisson(inputs_per_process - 1)`` inputs, 80 % near ``j`` (its sector) and 20 %
    anywhere, with log-logistic weights scaled so that its inputs sum to ``s_p``, drawn uniformly from
    ``column_sum``.  Its direct labour is the product's labour intensity (lognormal, shared by its processes)
    times ``exp(-trade_off * (s_p - mid) / width)`` and a 10 % lognormal noise: a process that uses more
    inputs uses less labour, so which one is cheapest depends on the labour values of the inputs, and the
    choice is not trivial.  Every column sum is below 1, so every choice is productive.

    Parameters
    ----------
    n : int
        Number of products, ``>= 1``.
    processes : int or (int, int), default (2, 5)
        Processes per product (``>= 1``), or the inclusive range to draw from.
    inputs_per_process : float, default 20
        Mean number of inputs per process, ``>= 1``.
    column_sum : (float, float), default (0.45, 0.85)
        Range of the total input per unit of activity, within ``(0, 1)``.
    trade_off : float, default 2.0
        How strongly labour falls as inputs rise (0: unrelated).
    kinds : int, default 1
        Labour kinds; kind ``k > 0`` is kind 0 times a random factor per process.
    seed : int or numpy.random.SeedSequence, default 0
    dtype : numpy.float64 or numpy.float32

    Returns
    -------
    SyntheticTechnology
        ``inputs`` (n x P CSC), ``makes`` (P,) int64 sorted by product, ``labour`` (kinds, P).

    Raises
    ------
    ValueError
        An argument out of range.

    Examples
    --------
    >>> from bigplan.synthetic import technology
    >>> t = technology(100, processes=3, inputs_per_process=5, seed=1)
    >>> t.inputs.shape, bool((abs(t.inputs.sum(axis=0)) < 1).all()), t.labour.shape
    ((100, 300), True, (1, 300))
    """
    n = check_int("n", n, 1)
    if isinstance(processes, tuple):
        lo = check_int("processes[0]", processes[0], 1)
        hi = check_int("processes[1]", processes[1], lo)
    else:
        lo = hi = check_int("processes", processes, 1)
    m = check_real("inputs_per_process", inputs_per_process, 1.0, 1e9)
    if not (isinstance(column_sum, tuple) and len(column_sum) == 2):
        raise ValueError(f"column_sum must be a (low, high) pair, got {column_sum!r}")
    s_lo = check_real("column_sum[0]", column_sum[0], 0.0, 1.0, lo_open=True, hi_open=True)
    s_hi = check_real("column_sum[1]", column_sum[1], s_lo, 1.0, hi_open=True)
    trade_off = check_real("trade_off", trade_off, 0.0, 1e3)
    kinds = check_int("kinds", kinds, 1)
    dtype = check_dtype(dtype)
    rng = np.random.default_rng(seed)
    per = np.full(n, lo, dtype=np.int64) if lo == hi else rng.integers(lo, hi + 1, size=n)
    makes = np.repeat(np.arange(n, dtype=np.int64), per)
    P = makes.size
    nin = np.minimum(1 + rng.poisson(m - 1.0, size=P), n).astype(np.int64)
    indptr = np.zeros(P + 1, dtype=np.int64)
    np.cumsum(nin, out=indptr[1:])
    nnz = int(indptr[-1])
    owner = np.repeat(makes, nin)
    width = max(30.0, _LOCAL_WIDTH * n)
    rows = owner + np.rint(rng.standard_normal(nnz) * width).astype(np.int64)
    far = rng.random(nnz) >= _LOCAL_SHARE
    rows[far] = rng.integers(0, n, size=int(far.sum()))
    np.mod(rows, n, out=rows)
    del owner, far
    vals = positive_weights(rng, nnz)
    index_dtype = np.int32 if max(nnz, n) < np.iinfo(np.int32).max else np.int64
    A = sp.csc_matrix((vals, rows.astype(index_dtype), indptr.astype(index_dtype)), shape=(n, P))
    del rows, vals
    A.sum_duplicates()
    s = s_lo + (s_hi - s_lo) * rng.random(P)
    colsum = np.asarray(A.sum(axis=0)).ravel()
    A.data *= np.repeat(s / colsum, np.diff(A.indptr))
    intensity = np.exp(np.log(0.3) + 0.8 * rng.standard_normal(n))
    mid, half = 0.5 * (s_lo + s_hi), max(0.5 * (s_hi - s_lo), 1e-12)
    lab = intensity[makes] * np.exp(-trade_off * (s - mid) / half + 0.1 * rng.standard_normal(P))
    L = np.empty((kinds, P))
    L[0] = lab
    if kinds > 1:
        L[1:] = lab * np.exp(rng.normal(-1.0, 0.5, size=(kinds - 1, 1)) + 0.5 * rng.standard_normal((kinds - 1, P)))
    A = sp.csc_matrix(A, dtype=dtype)
    return SyntheticTechnology(inputs=A, makes=makes, labour=L.astype(dtype, copy=False))
