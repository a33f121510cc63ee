"""Building blocks of :mod:`bigplan.synthetic`: tuning constants, argument checks, the sparse assembler.

Kept apart so that the public generators read as what they generate; the
constants are part of what "same seed, same output" reproduces.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

# --------------------------------------------------------------------------
# Tuning constants of the generators (part of what "same seed" reproduces).
# --------------------------------------------------------------------------
CHUNK_ENTRIES = 1 << 16  # draws per column block (bounds temporary memory)
STRUCTURED_ROUNDS = 12  # rejection rounds drawing from the supplier sectors
UNIFORM_ROUNDS = 4  # extra rounds with uniform (not Zipf) ranks in the sectors
MAX_LAYERS = 5  # raw materials -> ... -> final goods
MAX_DEFAULT_SECTORS = 1000
SECTOR_SIZE_SIGMA = 0.6  # log-spread of the sector sizes
VALUE_SCALE = 0.55  # log-logistic weights: log-sd = 0.55 * pi / sqrt(3) ~ 1
SELF_USE_PROBABILITY = 0.05  # share of products with a diagonal entry
SELF_USE_MAX_SHARE = 0.05  # a diagonal entry holds <= 5 % of its column sum
# Share of the non-feedback inputs by supplier slot: own sector, the aligned
# sector of the layer just upstream, two random sectors further upstream.
OWN, ALIGNED, UPSTREAM_1, UPSTREAM_2 = 0.6, 0.2, 0.1, 0.1
ANY_SECTOR = -1  # slot target meaning "a uniformly random sector, per draw"
INT32_MAX = np.iinfo(np.int32).max


# --------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------
# Bad types raise ValueError too (not TypeError): one exception for every
# invalid argument, as documented in the Raises sections.
def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")  # noqa: TRY004
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        valid = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be {valid}, got {value}")
    return value


def check_real(
    name: str,
    value: Any,
    lo: float,
    hi: float,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")  # noqa: TRY004
    value = float(value)
    ok = math.isfinite(value)
    ok = ok and (value > lo if lo_open else value >= lo)
    ok = ok and (value < hi if hi_open else value <= hi)
    if not ok:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ValueError(
            f"{name} must be in {left}{lo:g}, {hi:g}{right}, got {value!r}"
        )
    return value


def check_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}") from exc
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt


# --------------------------------------------------------------------------
# Column-block assembler shared by the matrix generators
# --------------------------------------------------------------------------
def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values (``np.unique`` without its slower hash path)."""
    keys.sort()
    if keys.size < 2:
        return keys
    first = np.empty(keys.size, dtype=bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return keys[first]


def in_sorted(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """Mask of ``needles`` found in the sorted array ``haystack``."""
    if haystack.size == 0:
        return np.zeros(needles.size, dtype=bool)
    at = np.searchsorted(haystack, needles)
    np.minimum(at, haystack.size - 1, out=at)
    return haystack[at] == needles


DrawFn = Callable[[int, np.ndarray, np.ndarray, int], np.ndarray]


def positive_weights(rng: np.random.Generator, size: int) -> np.ndarray:
    """Log-logistic random weights (shape close to lognormal with log-sd 1), all > 0.

    ``exp(s * logit(u))`` costs a uniform draw and three vectorized
    transcendental functions, about half the time of ``rng.lognormal``.
    """
    u = rng.random(size)
    np.maximum(u, 2.0**-53, out=u)  # u in (0, 1): finite logit
    w = np.log1p(-u)
    np.log(u, out=u)
    u -= w
    u *= VALUE_SCALE
    np.exp(u, out=u)
    return u


def assemble(
    n: int,
    need: np.ndarray,
    has_special: np.ndarray,
    special_row: Callable[[np.ndarray], np.ndarray],
    draw: DrawFn,
    rng: np.random.Generator,
    *,
    column_sum: float,
    special_share: float | Callable[[int], np.ndarray],
    dtype: np.dtype,
) -> sp.csr_matrix:
    """Build ``A`` column block by column block and return it as canonical CSR.

    Column ``j`` gets ``need[j]`` distinct random rows (drawn by ``draw`` and
    redrawn by rejection while duplicates or the column's special row come
    up), plus the special row ``special_row(j)`` when ``has_special[j]`` or
    when no random row could be found.  Weights are random and positive; the
    special entry carries the share ``special_share`` of the column sum (a
    number, or a function giving the shares of a block of columns), all of
    it when the column has no other entry.  Columns are scaled to sum to
    ``column_sum``.

    Entries are generated column-major straight into the CSR arrays of
    ``A.T`` (sized up front from ``need``), which SciPy transposes once
    (``csc_tocsr``, a counting sort that leaves the column indices of every
    row sorted).  Peak memory: the two CSR copies, about 2x the result.
    """
    rounds = STRUCTURED_ROUNDS + UNIFORM_ROUNDS
    capacity = int(need.sum(dtype=np.int64)) + int(
        np.count_nonzero(has_special | (need == 0))
    )
    idx_dtype = np.dtype(np.int64 if max(n, capacity) > INT32_MAX else np.int32)
    indices = np.empty(capacity, dtype=idx_dtype)
    data = np.empty(capacity, dtype=dtype)
    indptr = np.empty(n + 1, dtype=idx_dtype)
    indptr[0] = 0
    mean_need = max(1.0, capacity / n)
    block = max(1, int(CHUNK_ENTRIES / mean_need))
    empty = np.empty(0, dtype=np.int64)

    def draw_keys(c0: int, counts: np.ndarray, rnd: int) -> np.ndarray:
        """Sorted distinct keys ``local_col * n + row`` of fresh valid draws."""
        cols = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
        rows = draw(c0, counts, cols, rnd)
        ok = rows != special_row(cols + c0)
        keys = cols[ok] if not ok.all() else cols
        keys *= n
        keys += rows[ok] if keys.size != rows.size else rows
        return sorted_unique(keys)

    pos = 0
    for c0 in range(0, n, block):
        c1 = min(n, c0 + block)
        nc = c1 - c0
        want = need[c0:c1].astype(np.int64)
        keys = draw_keys(c0, want, 0)
        got = np.bincount(keys // n, minlength=nc)
        extra = empty  # sorted distinct keys found in later rounds
        for rnd in range(1, rounds):
            deficit = want - got
            if not deficit.any():
                break
            new = draw_keys(c0, deficit, rnd)
            seen = in_sorted(keys, new)
            seen |= in_sorted(extra, new)
            new = new[~seen]
            extra = np.insert(extra, np.searchsorted(extra, new), new)
            got += np.bincount(new // n, minlength=nc)
        # Special entries: requested ones, and a fallback for empty columns.
        special = has_special[c0:c1] | (got == 0)
        if special.any():
            scols = np.flatnonzero(special).astype(np.int64)
            skeys = scols * n + special_row(scols + c0)
            extra = np.concatenate([extra, skeys])
            extra.sort()
        if extra.size:
            keys = np.insert(keys, np.searchsorted(keys, extra), extra)
        cols = keys // n
        rows = keys
        rows -= cols * n
        is_special = rows == special_row(cols + c0)
        weight = positive_weights(rng, rows.size)
        weight[is_special] = 0.0  # set below; the weights of the others add up to:
        total = np.bincount(cols, weights=weight, minlength=nc)
        has_other = total > 0
        share = (
            special_share(nc) if callable(special_share) else np.full(nc, special_share)
        )
        share[~special] = 0.0
        share[~has_other] = 1.0
        scale = np.divide(
            (1.0 - share) * column_sum, total, out=np.zeros(nc), where=has_other
        )
        weight *= scale[cols]
        weight[is_special] = (share * column_sum)[cols[is_special]]
        m = rows.size
        indices[pos : pos + m] = rows
        data[pos : pos + m] = weight
        np.cumsum(np.bincount(cols, minlength=nc), out=indptr[c0 + 1 : c1 + 1])
        indptr[c0 + 1 : c1 + 1] += pos
        pos += m
        del keys, cols, rows, weight, is_special
    if pos < 0.9 * capacity:  # many unfillable columns: do not keep the slack
        indices = indices[:pos].copy()
        data = data[:pos].copy()
    # CSR of A.T is CSC of A; one counting-sort transposition gives sorted CSR.
    a_t = sp.csr_matrix((data[:pos], indices[:pos], indptr), shape=(n, n), copy=False)
    del indices, data, indptr
    a = a_t.T.tocsr()
    del a_t
    a.has_canonical_format = True  # sorted by the transposition, no duplicates
    return a


# --------------------------------------------------------------------------
# Economy structure
# --------------------------------------------------------------------------
def sector_sizes(n: int, sectors: int, rng: np.random.Generator) -> np.ndarray:
    """Sizes (>= 1, summing to n) of ``sectors`` contiguous sectors, lognormally spread."""
    w = rng.lognormal(0.0, SECTOR_SIZE_SIGMA, size=sectors)
    spare = n - sectors
    quota = w / w.sum() * spare
    base = np.floor(quota).astype(np.int64)
    left = spare - int(base.sum())
    if left > 0:  # largest remainders get the leftover products
        base[np.argsort(base - quota, kind="stable")[:left]] += 1
    return base + 1


def supplier_slots(
    sectors: int, feedback: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Supplier sectors of each sector, and the cumulative slot probabilities.

    Returns ``targets`` (sectors x 6) and ``cum`` (6,): slot k of sector s
    draws from sector ``targets[s, k]`` (``ANY_SECTOR``: uniform per draw)
    with probability ``diff(cum)[k]``.
    """
    s = np.arange(sectors, dtype=np.int64)
    layers = min(sectors, MAX_LAYERS)
    layer = (s * layers) // sectors
    first = np.searchsorted(layer, np.arange(layers + 1))  # first sector of each layer
    lo = first[np.maximum(layer - 1, 0)]
    hi = first[layer]
    count = first[np.minimum(layer + 1, layers)] - first[layer]
    rel = (s - first[layer]) / np.maximum(count, 1)
    aligned = lo + np.floor(rel * (hi - lo)).astype(np.int64)
    up1 = np.floor(rng.random(sectors) * hi).astype(np.int64)  # any upstream layer
    up2 = np.floor(rng.random(sectors) * hi).astype(np.int64)
    raw = layer == 0  # raw materials: the upstream slots fall back to the own sector
    aligned[raw], up1[raw], up2[raw] = s[raw], s[raw], s[raw]
    order = rng.permutation(sectors)  # a cycle through all sectors: strong core
    succ = np.empty(sectors, dtype=np.int64)
    succ[order] = np.roll(order, -1)
    anyone = np.full(sectors, ANY_SECTOR, dtype=np.int64)
    targets = np.stack([s, aligned, up1, up2, succ, anyone], axis=1)
    keep = 1.0 - feedback
    p = np.array(
        [
            OWN * keep,
            ALIGNED * keep,
            UPSTREAM_1 * keep,
            UPSTREAM_2 * keep,
            feedback / 2,
            feedback / 2,
        ]
    )
    cum = np.cumsum(p)
    cum /= cum[-1]
    cum[np.flatnonzero(p)[-1] :] = 1.0  # slots after the last used one: never drawn
    return targets, cum
