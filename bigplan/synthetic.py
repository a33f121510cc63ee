"""Seeded generators of synthetic economies of any size.

Real input-output tables of a few hundred sectors are easy to come by; tables
of millions of *products* are not.  This module makes technical-coefficient
matrices ``A`` (products x products, column ``j`` = the inputs needed per unit
of product ``j``, so ``A[i, j] >= 0`` is the amount of product ``i`` used per
unit of product ``j``) with the structure that matters for the numerics of
planning at scale:

* **Sectors and layers.**  Products are grouped into sectors (contiguous
  index ranges of varying size) and the sectors into upstream-to-downstream
  layers (raw materials -> processing -> ... -> final goods).  Most inputs of
  a product come from its own sector and from a few upstream sectors, so the
  suppliers of a product lie in a handful of index ranges (this is what makes
  sparse mat-vecs cache friendly on real data).  A fraction ``feedback`` of
  the inputs comes from downstream or arbitrary sectors (machines used in
  mining, services used everywhere), which closes the loops: the sectors are
  joined by a cycle, so a large strongly connected core exists.
* **Hub suppliers.**  Inside a sector, suppliers are drawn with Zipf-like
  popularity (weight ``rank**-hub_exponent``; sampled by inverting the
  continuous power-law CDF in closed form), so a few products (energy,
  transport, steel) are inputs of very many others: heavy-tailed row counts.
* **Thin-tailed input counts.**  Product ``j`` has ``1 + Poisson(m - 1)``
  distinct inputs, ``m = inputs_per_product``.
* **Rare, small self-use.**  About 5 % of the products use a little of
  themselves (a diagonal entry of at most 5 % of the column sum), as in
  real tables.
* **Known spectral radius.**  Every column is scaled so that it sums to
  exactly ``column_sum`` (< 1).  Then ``1^T A = column_sum * 1^T``: the
  all-ones vector is a positive left eigenvector, and since the spectral
  radius is bounded by the largest column sum, it *equals* ``column_sum``.
  The economy is productive and ``(I - A)^{-1} = sum_k A^k >= 0``.

Everything is generated column block by column block in fully vectorized
NumPy, in time and memory linear in the number of non-zeros: 10 million
products with 20 inputs each (2e8 non-zeros) take about a minute on one core
and at most about twice the bytes of the final CSR matrix.

All generators take a ``seed`` (anything :func:`numpy.random.default_rng`
accepts; an ``int`` by default) and return bit-identical output for the same
seed and arguments (for a given version of bigplan, NumPy and platform).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._arrays import is_int
from ._synth_tech import SyntheticTechnology, technology  # several processes per product (bigplan.activity)

__all__ = [
    "adversarial_matrix",
    "capital_matrix",
    "economy",
    "final_demand",
    "labour_coefficients",
    "technical_matrix",
    "technology",
    "SyntheticTechnology",
]

from ._synth_base import (  # noqa: F401  (the generators' building blocks, by their old names)
    CHUNK_ENTRIES as _CHUNK_ENTRIES,
    STRUCTURED_ROUNDS as _STRUCTURED_ROUNDS,
    UNIFORM_ROUNDS as _UNIFORM_ROUNDS,
    MAX_LAYERS as _MAX_LAYERS,
    MAX_DEFAULT_SECTORS as _MAX_DEFAULT_SECTORS,
    SECTOR_SIZE_SIGMA as _SECTOR_SIZE_SIGMA,
    VALUE_SCALE as _VALUE_SCALE,
    SELF_USE_PROBABILITY as _SELF_USE_PROBABILITY,
    SELF_USE_MAX_SHARE as _SELF_USE_MAX_SHARE,
    OWN as _OWN,
    ALIGNED as _ALIGNED,
    UPSTREAM_1 as _UPSTREAM_1,
    UPSTREAM_2 as _UPSTREAM_2,
    ANY_SECTOR as _ANY_SECTOR,
    INT32_MAX as _INT32_MAX,
    check_int as _check_int,
    check_real as _check_real,
    check_dtype as _check_dtype,
    sorted_unique as _sorted_unique,
    in_sorted as _in_sorted,
    positive_weights as _positive_weights,
    assemble as _assemble,
    sector_sizes as _sector_sizes,
    supplier_slots as _supplier_slots,
)


def technical_matrix(
    n: int,
    *,
    inputs_per_product: float = 20,
    column_sum: float = 0.7,
    sectors: int | None = None,
    feedback: float = 0.1,
    hub_exponent: float = 1.2,
    seed: int | np.random.SeedSequence = 0,
    dtype: Any = np.float64,
) -> sp.csr_matrix:
    """Random productive technical-coefficient matrix with realistic structure.

    Products ``0 .. n-1`` are split into ``sectors`` contiguous index ranges
    of lognormally varying size, and the sectors into up to five layers from
    raw materials (lowest indices) to final goods (highest indices).  Each
    product ``j`` has ``1 + Poisson(inputs_per_product - 1)`` distinct inputs
    (clipped to ``n``), drawn from six supplier slots of its sector:

    ========================================  ===============================
    slot                                      share of the inputs
    ========================================  ===============================
    own sector                                ``0.6 * (1 - feedback)``
    aligned sector of the next layer up       ``0.2 * (1 - feedback)``
    two random sectors of upstream layers     ``0.1 * (1 - feedback)`` each
    cycle successor sector (any layer)        ``feedback / 2``
    a uniformly random sector (per input)     ``feedback / 2``
    ========================================  ===============================

    (raw-material sectors have no upstream: those slots use the own sector).
    The cycle successors join all sectors in one directed cycle, so for
    ``feedback > 0`` the hub suppliers of all sectors, and every product
    that both uses and supplies them, form one strongly connected core (the
    matrix restricted to it is irreducible).  Products that nobody uses
    (final goods only) lie outside the core, as in real tables.

    Inside the chosen supplier sector, the supplier is drawn with Zipf-like
    popularity: rank ``r`` (``r = 0, 1, ...`` in a per-sector scrambled
    order) has weight about ``(r + 1) ** -hub_exponent``.  The draw inverts
    the continuous power-law CDF in closed form, in O(1) per input and
    without any table over the products.  Duplicate suppliers are redrawn
    (the last few redraw rounds with uniform instead of Zipf ranks), so the
    entries of ``A`` are distinct and the mean number of non-zeros per
    column is ``inputs_per_product``.  Only when the supplier sectors of a
    product hold fewer distinct products than it needs (tiny ``n``, or
    ``sectors`` close to ``n``) does it get fewer; every product has at
    least one input (for ``n == 1``, itself: ``A = [[column_sum]]``).

    About 5 % of the products also use a little of themselves: a small
    diagonal entry holding a random share of at most 5 % of the column sum.

    Each column gets positive random weights (log-logistic, a shape close to
    lognormal with log-sd about 1), then is scaled to sum to exactly
    ``column_sum``.  With equal column sums the all-ones vector is a positive
    left eigenvector of ``A`` with eigenvalue ``column_sum``, and the spectral
    radius is at most the largest column sum, so **the spectral radius is
    exactly ``column_sum``**: the economy is productive, ``(I - A)^{-1} >= 0``
    and the Neumann series converges like ``column_sum ** k``.

    Parameters
    ----------
    n : int
        Number of products, ``n >= 1``.
    inputs_per_product : float, default 20
        Mean number of distinct inputs of a product, ``>= 1``.  Counts are
        clipped to ``n``, so for tiny ``n`` the mean is smaller.
    column_sum : float, default 0.7
        Sum of every column, in ``(0, 1)``; also the spectral radius.
    sectors : int or None, default None
        Number of sectors, in ``[1, n]``.  ``None``: ``round(sqrt(n))``
        clipped to ``[1, 1000]``.
    feedback : float, default 0.1
        Share of the inputs drawn from downstream / arbitrary sectors, in
        ``[0, 1]``.  ``0`` gives a (block) triangular, reducible economy.
    hub_exponent : float, default 1.2
        Exponent of the Zipf popularity of suppliers inside a sector,
        ``>= 0`` (``0``: uniform; larger: more dominant hubs).
    seed : int or numpy.random.SeedSequence, default 0
        Seed for :func:`numpy.random.default_rng`.  The same seed and
        arguments give a bit-identical matrix.
    dtype : numpy.float64 or numpy.float32, default numpy.float64
        Value type.  Column sums are exact to the rounding of ``dtype``.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n x n`` matrix in canonical format (sorted indices, no duplicates,
        no stored zeros, all values > 0), with ``int32`` indices unless the
        size needs ``int64``.

    Raises
    ------
    ValueError
        If an argument is out of its valid range (the message names the
        argument, its value and the range) or ``dtype`` is not a float type.

    Notes
    -----
    Columns are generated in blocks of about 65 000 entries, straight into
    the CSR arrays of ``A.T``; one SciPy transposition then yields ``A``
    with sorted indices.  Time and memory are linear in the number of
    non-zeros; peak memory is about twice the bytes of the result (both
    CSR copies during the transposition).  Measured on a shared 2-core
    VM: ``n = 10**7`` with 20 inputs (2e8 non-zeros, 2.3 GiB) in about 50 s
    of CPU time with a peak RSS of 4.7 GiB.

    Reproducibility: the same seed and arguments give bit-identical output
    with the same NumPy on the same platform.  (The ranks go through
    ``exp``/``log1p``, whose last bit may differ between SIMD
    implementations, so other machines may differ in rare entries.)

    Examples
    --------
    >>> import numpy as np
    >>> from bigplan.synthetic import technical_matrix
    >>> A = technical_matrix(10_000, inputs_per_product=20, column_sum=0.7, seed=1)
    >>> A.shape, A.indices.dtype
    ((10000, 10000), dtype('int32'))
    >>> bool(np.allclose(A.sum(axis=0), 0.7, rtol=0, atol=1e-12))
    True
    >>> 19 < A.nnz / 10_000 < 21
    True
    """
    n = _check_int("n", n, 1)
    inputs_per_product = _check_real(
        "inputs_per_product", inputs_per_product, 1.0, math.inf, hi_open=True
    )
    column_sum = _check_real(
        "column_sum", column_sum, 0.0, 1.0, lo_open=True, hi_open=True
    )
    if sectors is None:
        sectors = int(min(max(round(math.sqrt(n)), 1), _MAX_DEFAULT_SECTORS))
    else:
        sectors = _check_int("sectors", sectors, 1, n)
    feedback = _check_real("feedback", feedback, 0.0, 1.0)
    hub_exponent = _check_real(
        "hub_exponent", hub_exponent, 0.0, math.inf, hi_open=True
    )
    dtype = _check_dtype(dtype)
    rng = np.random.default_rng(seed)

    # --- structure: sectors, layers, supplier slots, hub scrambles --------
    size = _sector_sizes(n, sectors, rng)
    start = np.zeros(sectors + 1, dtype=np.int64)
    np.cumsum(size, out=start[1:])
    targets, cum = _supplier_slots(sectors, feedback, rng)
    targets_flat = targets.ravel()
    k_slots = targets.shape[1]
    # Zipf by inverse CDF of the density x**-a on [1, m + 1):
    # x = (1 + u * ((m+1)**(1-a) - 1)) ** (1/(1-a)), rank = floor(x) - 1.
    log_m1 = np.log(size + 1.0)
    one_minus_a = 1.0 - hub_exponent
    zipf_c = np.expm1(one_minus_a * log_m1) if one_minus_a != 0.0 else log_m1
    # rank -> product: (rank * mult + shift) mod size, mult coprime to size,
    # so hubs sit at scattered positions of their sector.
    mult = 1 + np.floor(rng.random(sectors) * np.maximum(size - 1, 1)).astype(np.int64)
    bad = np.gcd(mult, size) != 1
    while bad.any():
        mult[bad] = mult[bad] % np.maximum(size[bad] - 1, 1) + 1
        bad = np.gcd(mult, size) != 1
    shift = np.floor(rng.random(sectors) * size).astype(np.int64)

    # --- per product: number of inputs, self-use ---------------------------
    count = rng.poisson(inputs_per_product - 1.0, size=n)
    count += 1
    self_use = rng.random(n) < _SELF_USE_PROBABILITY
    if n == 1:
        self_use[:] = True
    need = count - self_use  # off-diagonal inputs
    del count
    if n == 1:
        need[:] = 0  # the only possible input is the product itself
    else:
        np.clip(need, 1, n - 1, out=need)
    need = need.astype(np.int32)

    slot_edges = cum[:-1]
    inv_exponent = 1.0 / one_minus_a if one_minus_a != 0.0 else 0.0
    cache: dict[str, Any] = {"c0": -1, "slot0": None}

    def draw(c0: int, counts: np.ndarray, cols: np.ndarray, rnd: int) -> np.ndarray:
        t = cols.size
        if cache["c0"] != c0:  # first slot of each column's sector in targets_flat
            cache["c0"] = c0
            sec = (
                np.searchsorted(start, np.arange(c0, c0 + counts.size), side="right")
                - 1
            )
            cache["slot0"] = sec * k_slots
        # supplier sector: inverse CDF over the sector's six slots
        tgt = np.repeat(cache["slot0"], counts)
        u = rng.random(t)
        for edge in slot_edges:
            tgt += u >= edge
        tgt = targets_flat[tgt]
        free = tgt == _ANY_SECTOR
        if free.any():
            tgt[free] = np.floor(
                rng.random(int(np.count_nonzero(free))) * sectors
            ).astype(np.int64)
        # Rank inside the supplier sector by inverse CDF: Zipf (x >= 1), or
        # uniform in the late rounds (finds the products Zipf rarely hits).
        u = rng.random(t, out=u)
        m = size[tgt]
        if rnd >= _STRUCTURED_ROUNDS:
            u *= m
            u += 1.0
        elif one_minus_a == 0.0:
            u *= zipf_c[tgt]
            np.exp(u, out=u)
        else:
            u *= zipf_c[tgt]
            np.log1p(u, out=u)
            u *= inv_exponent
            np.exp(u, out=u)
        rank = u.astype(np.int64)
        del u
        rank -= 1
        over = rank >= m  # only from rounding at the very top
        if over.any():
            rank[over] = m[over] - 1
        rank *= mult[tgt]
        rank += shift[tgt]
        rank %= m
        rank += start[tgt]
        return rank

    return _assemble(
        n,
        need,
        self_use,
        lambda j: j,
        draw,
        rng,
        column_sum=column_sum,
        special_share=lambda size: _SELF_USE_MAX_SHARE * (1.0 - rng.random(size)),
        dtype=dtype,
    )


def adversarial_matrix(
    n: int,
    *,
    cycle_weight: float = 0.9,
    column_sum: float = 0.7,
    inputs_per_product: float = 5,
    seed: int | np.random.SeedSequence = 0,
    dtype: Any = np.float64,
) -> sp.csr_matrix:
    """Hard test case for Krylov solvers: a long production cycle.

    Product ``j`` is the main input of product ``j + 1 (mod n)``: the entry
    ``A[j, j + 1 mod n]`` carries ``cycle_weight`` of the column sum.  The
    rest, ``(1 - cycle_weight) * column_sum``, is spread over a few other
    inputs drawn uniformly from all products (``1 + Poisson(m - 2)`` of them,
    ``m = inputs_per_product``, at least one, clipped to ``n - 1``; they
    never repeat the cycle input).  Every column sums to exactly
    ``column_sum``, which is therefore also the spectral radius.

    The purpose: ``A`` is close to ``cycle_weight * column_sum`` times a
    cyclic permutation, whose eigenvalues are spread evenly around a circle.
    Polynomial (Krylov) methods such as GMRES cannot be small on a whole
    circle around the origin much faster than ``z**k``, so they lose most of
    their edge over the plain Neumann series ``x = sum_k A^k y`` here, while
    on :func:`technical_matrix` economies (eigenvalues clustered near 0,
    one outlier at ``column_sum``) they win by a wide margin.

    Parameters
    ----------
    n : int
        Number of products, ``n >= 1``.  For ``n == 1`` the only entry is
        ``A[0, 0] = column_sum``.
    cycle_weight : float, default 0.9
        Share of each column's sum carried by the cycle input, in ``(0, 1]``.
        ``1`` gives a pure scaled cyclic permutation (no other inputs).
    column_sum : float, default 0.7
        Sum of every column, in ``(0, 1)``.
    inputs_per_product : float, default 5
        Mean number of inputs of a product, the cycle input included, ``>= 1``.
    seed : int or numpy.random.SeedSequence, default 0
        Seed for :func:`numpy.random.default_rng`; same seed, same matrix.
    dtype : numpy.float64 or numpy.float32, default numpy.float64
        Value type.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n x n`` canonical CSR matrix, all stored values > 0.

    Raises
    ------
    ValueError
        If an argument is out of its valid range or ``dtype`` is not a float type.

    Examples
    --------
    >>> import numpy as np
    >>> from bigplan.synthetic import adversarial_matrix
    >>> A = adversarial_matrix(1000, cycle_weight=0.9, column_sum=0.7, seed=3)
    >>> float(A[0, 1])  # product 0 is the main input of product 1
    0.63
    >>> bool(np.allclose(A.sum(axis=0), 0.7, rtol=0, atol=1e-12))
    True
    """
    n = _check_int("n", n, 1)
    cycle_weight = _check_real("cycle_weight", cycle_weight, 0.0, 1.0, lo_open=True)
    column_sum = _check_real(
        "column_sum", column_sum, 0.0, 1.0, lo_open=True, hi_open=True
    )
    inputs_per_product = _check_real(
        "inputs_per_product", inputs_per_product, 1.0, math.inf, hi_open=True
    )
    dtype = _check_dtype(dtype)
    rng = np.random.default_rng(seed)

    if cycle_weight == 1.0:
        need = np.zeros(n, dtype=np.int32)
    else:
        need = rng.poisson(max(inputs_per_product - 2.0, 0.0), size=n)
        need += 1
        np.clip(need, 0, n - 1, out=need)
        need = need.astype(np.int32)

    def draw(c0: int, counts: np.ndarray, cols: np.ndarray, rnd: int) -> np.ndarray:
        return np.floor(rng.random(cols.size) * n).astype(np.int64)

    def cycle_row(j: np.ndarray) -> np.ndarray:
        return (j - 1) % n

    return _assemble(
        n,
        need,
        np.ones(n, dtype=bool),
        cycle_row,
        draw,
        rng,
        column_sum=column_sum,
        special_share=cycle_weight,
        dtype=dtype,
    )


def labour_coefficients(
    n: int,
    *,
    kinds: int = 1,
    seed: int | np.random.SeedSequence = 0,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Direct labour (or other primary resource) needed per unit of each product.

    ``L[k, j] = exp(mu_k + 0.8 z_j + 0.5 e_kj)`` with standard normal
    ``z_j`` (how labour-intensive product ``j`` is, shared by all kinds) and
    ``e_kj``; kind 0 (general labour) has median ``0.3``, the other kinds
    (skills, land, ...) a random, typically smaller level.  The result is a
    lognormal spread over about two orders of magnitude, like the labour
    coefficients of real tables.

    Parameters
    ----------
    n : int
        Number of products, ``n >= 1``.
    kinds : int, default 1
        Number of kinds of labour, ``>= 1``.
    seed : int or numpy.random.SeedSequence, default 0
        Seed for :func:`numpy.random.default_rng`; same seed, same output.
    dtype : numpy.float64 or numpy.float32, default numpy.float64
        Value type.

    Returns
    -------
    numpy.ndarray
        Shape ``(kinds, n)``, all entries finite and > 0.

    Raises
    ------
    ValueError
        If ``n < 1``, ``kinds < 1`` or ``dtype`` is not a float type.

    Examples
    --------
    >>> from bigplan.synthetic import labour_coefficients
    >>> L = labour_coefficients(5, kinds=2, seed=0)
    >>> L.shape, bool((L > 0).all())
    ((2, 5), True)
    """
    n = _check_int("n", n, 1)
    kinds = _check_int("kinds", kinds, 1)
    dtype = _check_dtype(dtype)
    rng = np.random.default_rng(seed)
    intensity = rng.standard_normal(n)
    mu = np.empty(kinds)
    mu[0] = math.log(0.3)
    mu[1:] = math.log(0.3) + rng.normal(-1.0, 0.5, size=kinds - 1)
    out = rng.standard_normal((kinds, n))
    out *= 0.5
    out += 0.8 * intensity
    out += mu[:, None]
    np.exp(out, out=out)
    return out.astype(dtype, copy=False)


def final_demand(
    n: int,
    k: int | None = None,
    *,
    seed: int | np.random.SeedSequence = 0,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Non-negative final-demand vector(s) (consumption, investment, exports).

    About 85 % of the products have final demand (the others are pure
    intermediate goods), lognormally distributed with a heavy tail
    (log-sd 1.5: a few products account for much of the total).  With ``k``
    scenarios, column ``s`` is the base vector times
    ``exp(g_s + 0.25 e_js)``: a scenario-wide growth factor (log-sd 0.1) and
    product-level variation; products without final demand have none in any
    scenario.  The base vector is the same as ``final_demand(n, seed=seed)``
    before the multipliers.

    Parameters
    ----------
    n : int
        Number of products, ``n >= 1``.
    k : int or None, default None
        Number of alternative plans (scenarios), ``>= 1``; ``None`` for a
        single vector.
    seed : int or numpy.random.SeedSequence, default 0
        Seed for :func:`numpy.random.default_rng`; same seed, same output.
    dtype : numpy.float64 or numpy.float32, default numpy.float64
        Value type.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)`` if ``k`` is None, else ``(n, k)``; finite, ``>= 0``,
        and at least one product has positive demand.

    Raises
    ------
    ValueError
        If ``n < 1``, ``k < 1`` or ``dtype`` is not a float type.

    Examples
    --------
    >>> from bigplan.synthetic import final_demand
    >>> y = final_demand(1000, seed=0)
    >>> y.shape, bool((y >= 0).all()), bool((y > 0).mean() > 0.7)
    ((1000,), True, True)
    >>> final_demand(1000, 3, seed=0).shape
    (1000, 3)
    """
    n = _check_int("n", n, 1)
    if k is not None:
        k = _check_int("k", k, 1)
    dtype = _check_dtype(dtype)
    rng = np.random.default_rng(seed)
    base = rng.lognormal(0.0, 1.5, size=n)
    zero = rng.random(n) < 0.15
    if zero.all():
        zero[rng.integers(n)] = False
    base[zero] = 0.0
    if k is None:
        return base.astype(dtype, copy=False)
    growth = rng.normal(0.0, 0.1, size=k)
    y = rng.standard_normal((n, k))
    y *= 0.25
    y += growth
    np.exp(y, out=y)
    y *= base[:, None]
    return y.astype(dtype, copy=False)


def economy(
    n: int,
    *,
    inputs_per_product: float = 20,
    column_sum: float = 0.7,
    labour_kinds: int = 1,
    adversarial: bool = False,
    seed: int | np.random.SeedSequence = 0,
    dtype: Any = np.float64,
    **kwargs: Any,
):
    """A complete synthetic :class:`bigplan.Economy`: coefficients and labour.

    Parameters
    ----------
    n : int
        Number of products, ``n >= 1``.
    inputs_per_product : float, default 20
        Mean number of inputs per product (see :func:`technical_matrix`).
    column_sum : float, default 0.7
        Column sum and spectral radius of ``A``, in ``(0, 1)``.
    labour_kinds : int, default 1
        Number of kinds of labour, ``>= 1`` (rows of the labour matrix).
    adversarial : bool, default False
        Use :func:`adversarial_matrix` (a long cycle, hard for Krylov
        solvers) instead of :func:`technical_matrix`.
    seed : int or numpy.random.SeedSequence, default 0
        Master seed; independent streams are spawned from it for ``A`` and
        the labour coefficients.  Same seed, same economy.
    dtype : numpy.float64 or numpy.float32, default numpy.float64
        Value type of ``A`` and of the labour coefficients.
    **kwargs
        Passed on to :func:`technical_matrix` (``sectors``, ``feedback``,
        ``hub_exponent``) or :func:`adversarial_matrix` (``cycle_weight``).

    Returns
    -------
    bigplan.Economy
        ``Economy(A, labour)`` with ``labour`` of shape ``(labour_kinds, n)``
        (and ``dtype=float32`` passed on when asked for).

    Raises
    ------
    ValueError
        If an argument is out of its valid range.
    TypeError
        If ``kwargs`` holds an argument the matrix generator does not take.

    Examples
    --------
    >>> from bigplan.synthetic import economy
    >>> eco = economy(1000, labour_kinds=2, seed=0)
    >>> eco.A.shape, eco.labour.shape
    ((1000, 1000), (2, 1000))
    """
    from bigplan.economy import Economy

    labour_kinds = _check_int("labour_kinds", labour_kinds, 1)
    seq = (
        seed
        if isinstance(seed, np.random.SeedSequence)
        else np.random.SeedSequence(seed)
    )
    # Children built explicitly (not seq.spawn) so a SeedSequence argument is not mutated.
    a_seed, l_seed = (
        np.random.SeedSequence(
            seq.entropy, spawn_key=(*seq.spawn_key, i), pool_size=seq.pool_size
        )
        for i in range(2)
    )
    make = adversarial_matrix if adversarial else technical_matrix
    a = make(
        n,
        inputs_per_product=inputs_per_product,
        column_sum=column_sum,
        seed=a_seed,
        dtype=dtype,
        **kwargs,
    )
    labour = labour_coefficients(n, kinds=labour_kinds, seed=l_seed, dtype=dtype)
    if a.dtype == np.float32:  # keep single precision (Economy defaults to float64)
        return Economy(a, labour, dtype=np.float32)
    return Economy(a, labour)


def capital_matrix(
    n: int,
    *,
    inputs_per_product: int = 5,
    capital_output: float = 1.5,
    equipment_share: float = 0.1,
    seed: int | np.random.SeedSequence = 0,
    dtype: Any = np.float64,
) -> sp.csr_matrix:
    """Random sparse capital coefficients with a known balanced growth rate.

    A random ``equipment_share`` of the products are equipment (capital goods);
    every product ``j`` needs about ``inputs_per_product`` of them (drawn
    uniformly, duplicates merged) with lognormal weights, scaled so that every
    column sums to exactly ``capital_output`` (the capital-output ratio: years
    of output tied up in equipment).  Rows of non-equipment products are zero,
    so ``B`` is singular, as in real economies.

    With a technical matrix whose columns all sum to ``a`` (as
    :func:`bigplan.synthetic.technical_matrix` makes them), ``1^T`` is a
    positive left eigenvector of ``A + g B`` with eigenvalue ``a + g *
    capital_output``, so the maximal balanced growth rate is known exactly:
    ``g* = (1 - a) / capital_output`` (and ``(1 - a - capital_output * d) /
    capital_output`` with a uniform replacement rate ``d``).

    Parameters
    ----------
    n : int
        Number of products, ``>= 1``.
    inputs_per_product : int, default 5
        Capital inputs drawn per product (fewer when duplicates merge).
    capital_output : float, default 1.5
        Column sum of ``B``, ``> 0``.
    equipment_share : float, default 0.1
        Share of the products that are equipment, in ``(0, 1]`` (at least one).
    seed : int or numpy.random.SeedSequence
        Seed for :func:`numpy.random.default_rng`; same seed, same matrix.
    dtype : numpy.float64 or numpy.float32

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n x n``, canonical, all stored values > 0.

    Raises
    ------
    ValueError
        An argument out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from bigplan.synthetic import capital_matrix
    >>> B = capital_matrix(1000, capital_output=2.0, seed=1)
    >>> bool(np.allclose(B.sum(axis=0), 2.0))
    True
    >>> int((B.getnnz(axis=1) > 0).sum()) <= 100
    True
    """
    if not is_int(n) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not is_int(inputs_per_product) or inputs_per_product < 1:
        raise ValueError(f"inputs_per_product must be an integer >= 1, got {inputs_per_product!r}")
    if not (isinstance(capital_output, numbers.Real) and math.isfinite(capital_output) and capital_output > 0):
        raise ValueError(f"capital_output must be a finite number > 0, got {capital_output!r}")
    if not (isinstance(equipment_share, numbers.Real) and 0 < equipment_share <= 1):
        raise ValueError(f"equipment_share must be in (0, 1], got {equipment_share!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    rng = np.random.default_rng(seed)
    m = max(1, round(equipment_share * n))
    equipment = np.sort(rng.choice(n, size=m, replace=False))
    k = int(inputs_per_product)
    idx_dtype = np.int32 if n * k < np.iinfo(np.int32).max else np.int64
    rows = equipment[rng.integers(0, m, size=n * k)].astype(idx_dtype)
    vals = rng.lognormal(0.0, 1.0, size=n * k)
    indptr = np.arange(0, n * k + 1, k, dtype=idx_dtype)
    Bc = sp.csc_matrix((vals, rows, indptr), shape=(n, n))
    Bc.sum_duplicates()  # sorts indices, merges repeated draws
    colsum = np.add.reduceat(Bc.data, Bc.indptr[:-1])
    Bc.data *= np.repeat(capital_output / colsum, np.diff(Bc.indptr))
    out = Bc.tocsr()
    out.sort_indices()
    return out.astype(dtype, copy=False)
