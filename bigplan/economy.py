"""The economy: the plan factory's memory for one period.

An :class:`Economy` holds the technical coefficients ``A`` (products x
products; column ``j`` lists the inputs used per unit of product ``j``), labour
(or other primary-input) coefficients, optional capital coefficients and
initial conditions, and product labels.  Everything is validated once, at
construction; the object is immutable afterwards, and a changed coefficient
makes a new economy (:meth:`Economy.with_changes`).

Labour rows carry units (``labour_units``: hours, persons, money...), and an
economy is written to one file with :meth:`Economy.save` (read back with
:func:`bigplan.io.load`; the format is documented in :mod:`bigplan._econfile`).

``A`` is kept on the host as a canonical ``scipy.sparse.csr_matrix``; its
transpose, in CSR as well (so labour values, ``v (I - A) = l``, are as fast as
outputs), is built on first use and cached, and so are the device copies that
backends make.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._arrays import array_library, to_host
from ._econfile import write_economy_file
from ._inputs import host_array, product_positions, product_vector
from ._options import check_bool, check_int
from ._sparse import csr_set, parse_changes
from .errors import (
    InvalidEconomyError,
    InvalidOptionError,
    UnknownProductError,
    LabelError,
    NotProductiveError,
    OutputExistsError,
    ShapeError,
    UnitsError,
)
from .spectral import spectral_radius_bounds

__all__ = ["Economy", "Productivity", "spectral_radius_bounds"]


@dataclass(frozen=True)
class Productivity:
    """Evidence that an economy is productive (spectral radius of ``A`` < 1).

    Attributes
    ----------
    lower, upper : float
        Certified bounds on the spectral radius of ``A``.
    method : str
        ``"column sums"``, ``"row sums"`` or ``"power iteration"`` (Collatz-Wielandt bounds).
    iterations : int
        Power iterations used (0 when the sums sufficed).
    """

    lower: float
    upper: float
    method: str
    iterations: int = 0


def _column_sums(A: sp.csr_matrix, chunk: int = 1 << 22) -> np.ndarray:
    """``1^T A`` in float64 without an index-sized temporary (bincount would widen all indices to int64)."""
    out = np.zeros(A.shape[1])
    chunk = max(chunk, A.shape[1])  # temporaries no larger than the result
    for a in range(0, A.nnz, chunk):
        out += np.bincount(A.indices[a: a + chunk], weights=A.data[a: a + chunk], minlength=A.shape[1])
    return out


class _Owned:
    """A CSR matrix handed over by its only owner (:meth:`Economy.adopt`): used without a copy."""

    __slots__ = ("csr",)

    def __init__(self, csr: sp.csr_matrix):
        self.csr = csr


def _as_csr(A: Any, dtype, what: str = "A") -> sp.csr_matrix:
    if isinstance(A, _Owned):
        owned = A.csr
        if owned.dtype == dtype:
            return owned if type(owned) is sp.csr_matrix else sp.csr_matrix(owned, copy=False)
        A = owned
    A = to_host(A)
    if sp.issparse(A):
        if A.ndim != 2:
            raise ShapeError(f"{what} must be a 2-D matrix, got {A.ndim}-D")
        if np.iscomplexobj(A.data):
            raise InvalidEconomyError(
                f"{what} must be real, got complex entries (bigplan never drops an imaginary part)"
            )
        if A.dtype == object or not (np.issubdtype(A.dtype, np.number) or A.dtype == bool):
            raise InvalidEconomyError(f"{what} must be numeric, got dtype {A.dtype}")
        A = sp.csr_matrix(A, dtype=dtype, copy=True)
    else:
        arr = host_array(A, what)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise InvalidEconomyError(f"{what} must be numeric, got dtype {arr.dtype}")
        if arr.ndim != 2:
            raise ShapeError(f"{what} must be a square 2-D matrix, got shape {arr.shape}")
        if np.iscomplexobj(arr):
            raise InvalidEconomyError(f"{what} must be real, got complex entries")
        A = sp.csr_matrix(arr.astype(dtype, copy=False))
    return A


_INT32_MAX = np.iinfo(np.int32).max

#: Constructor arguments that :meth:`Economy.with_changes` may replace.
_REPLACEABLE = frozenset({
    "labels", "labour_names", "labour_units", "capital", "depreciation", "capacity", "stocks", "labour_supply",
    "dtype", "index_dtype", "certify_maxiter",
})


def _with_index_dtype(csr: sp.csr_matrix, index_dtype) -> sp.csr_matrix:
    """Indices in int32 while they fit, int64 otherwise (or as forced)."""
    if index_dtype is None:
        want = np.int32 if max(csr.nnz, csr.shape[0]) <= _INT32_MAX else np.int64
    else:
        want = np.dtype(index_dtype).type
        if want not in (np.int32, np.int64):
            raise InvalidEconomyError(f"index_dtype must be int32 or int64, got {np.dtype(index_dtype)}")
        if want is np.int32 and max(csr.nnz, csr.shape[0]) > _INT32_MAX:
            raise InvalidEconomyError(
                f"{csr.nnz} non-zeros do not fit int32 indices; use index_dtype=None (automatic) or int64"
            )
    if csr.indices.dtype == want and csr.indptr.dtype == want:
        return csr
    out = sp.csr_matrix(csr.shape, dtype=csr.dtype)
    out.data = csr.data
    out.indices = csr.indices.astype(want)
    out.indptr = csr.indptr.astype(want)
    return out


class _UnitsAndFile:
    """Labour units and the one-file format of :class:`Economy` (a mixin: the class stays small)."""

    __slots__ = ()

    def _make_units(self, units) -> tuple[str, ...] | None:
        if units is None:
            return None
        if self._labour is None:
            raise UnitsError("labour_units given without labour coefficients; pass labour=... or drop labour_units")
        m = self._labour.shape[0]
        if isinstance(units, str):
            units = [units] * m
        elif isinstance(units, bytes) or not isinstance(units, Iterable):
            raise UnitsError(f"labour_units must be a string or one string per labour kind, got {units!r}")
        units = list(units)
        if len(units) != m:
            raise UnitsError(
                f"got {len(units)} labour_units for {m} labour kinds {list(self._labour_names)}; "
                "give one unit per kind, or a single string for all"
            )
        for name, u in zip(self._labour_names, units):
            if not isinstance(u, str) or not u.strip():
                raise UnitsError(
                    f"labour unit of {name!r} must be a non-empty string such as 'hours', 'persons' or 'USD', "
                    f"got {u!r}"
                )
        return tuple(u.strip() for u in units)

    @property
    def labour_units(self) -> tuple[str, ...] | None:
        """Unit of each labour row (``("hours",)``, ``("persons", "USD")``...), or None when unstated."""
        return self._labour_units

    @classmethod
    def adopt(cls, A: sp.csr_matrix, labour: Any = None, **kwargs) -> "Economy":
        """``Economy(A, labour, **kwargs)`` that takes over a SciPy CSR matrix instead of copying it.

        For readers that built ``A`` themselves (one copy of a 10^7-product matrix less): the
        matrix is summed, sorted and frozen in place, so the caller must not use it afterwards.
        Any other ``A`` (or a dtype that differs from ``dtype``) is copied as usual.
        """
        if not (sp.issparse(A) and A.format == "csr"):
            return cls(A, labour, **kwargs)
        dtype = np.dtype(kwargs.get("dtype", np.float64))
        return cls(_Owned(A) if A.dtype == dtype else A, labour, **kwargs)

    def _shared_unit(self) -> str | None:
        """The unit shared by every labour kind (kept when labour rows are replaced), else None."""
        units = self._labour_units
        return units[0] if units and len(set(units)) == 1 else None

    def save(self, path, *, overwrite: bool = True, compress: bool = False):
        """Write this economy to one file (``.npz``, no pickles, versioned); read it back with ``bigplan.io.load``.

        The format is documented in :mod:`bigplan._econfile`: ``A`` (and ``B``) as CSR arrays,
        labels (strings or numbers, MultiIndex levels too) exactly, labour rows with names and
        units, depreciation, capacity, stocks and labour supply.  The write is atomic.

        Parameters
        ----------
        path : str or os.PathLike
            Target file (conventionally ``*.npz``).
        overwrite : bool, default True
            Replace an existing file; False raises ``OutputExistsError`` (a ``FileExistsError``).
        compress : bool, default False
            Deflate the arrays (smaller, slower).

        Returns
        -------
        pathlib.Path

        Examples
        --------
        >>> import numpy as np, tempfile, os, bigplan.io
        >>> e = Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0], labels=["grain", "iron"],
        ...             labour_units="hours")
        >>> f = os.path.join(tempfile.mkdtemp(), "e.npz")
        >>> back = bigplan.io.load(e.save(f))
        >>> list(back.labels), back.labour_units, (back.A != e.A).nnz
        (['grain', 'iron'], ('hours',), 0)
        """
        check_bool(overwrite, "overwrite")
        check_bool(compress, "compress")
        if not overwrite and Path(path).exists():
            raise OutputExistsError(f"{path} exists; pass overwrite=True to replace it")
        return write_economy_file(
            path, A=self._A, labels=self._labels, labour=self._labour, labour_names=self._labour_names,
            labour_units=self._labour_units, capital=self._capital, depreciation=self._depreciation,
            capacity=self._capacity, stocks=self._stocks, labour_supply=self._labour_supply, compress=compress,
        )


class Economy(_UnitsAndFile):
    """Technical coefficients, labour, capital and labels of one economy.

    Parameters
    ----------
    A : scipy.sparse matrix, numpy.ndarray, CuPy or JAX array
        Square technical-coefficient matrix, ``A[i, j]`` = units of product ``i``
        used per unit of product ``j``.  Finite and non-negative.
    labour : array_like, optional
        Labour (or other primary-input) coefficients per unit of each product:
        shape ``(n,)`` for one kind, ``(m, n)`` for ``m`` kinds.
    labels : sequence or pandas.Index, optional
        Unique product labels, length ``n``.
    labour_names : sequence of str, optional
        Names of the ``m`` labour rows (default ``"labour"`` or ``"labour_0"``...).
    labour_units : str or sequence of str, optional
        Unit of each labour row (``"hours"``, ``"persons"``, ``"USD"``...), one for all or one per row; None: unstated.
    capital : sparse or dense matrix, optional
        Capital coefficients ``B`` (products x products): units of equipment ``i``
        per unit of extra yearly capacity of product ``j``.  Finite, non-negative.
    depreciation : float or array_like, optional
        Yearly replacement rate of each product's equipment, in [0, 1] (scalar or ``(n,)``).
    capacity : array_like, optional
        Initial productive capacity per product, ``(n,)``, non-negative.
    stocks : array_like, optional
        Initial stocks per product, ``(n,)``, non-negative.
    labour_supply : float or array_like, optional
        Labour available per period, one number per labour kind.
    dtype : numpy dtype, optional
        Storage precision of the coefficients (float64 default, or float32:
        half the bytes per coefficient; solves still accumulate in float64).
    index_dtype : {None, numpy.int32, numpy.int64}, optional
        Width of the sparse indices.  Default: int32 while the non-zeros fit
        (fewer bytes per product), int64 past 2**31 - 1.  Forcing int64 is for
        testing that path.
    check : bool, default True
        Check productivity (spectral radius of ``A`` < 1).  Leave on unless the
        caller has already certified it.
    certificate : Productivity, optional
        A productivity certificate already computed for exactly these
        coefficients (e.g. kept by a store with a checksum of the arrays); it is
        attached instead of recomputed.  Trusted as given: pass only certificates
        you computed.
    certify_maxiter : int, optional
        Power iterations allowed for the productivity certificate (default
        ``max(2000, 4 n)``).  Raise it for an economy whose spectral radius is
        very close to 1, where the bounds take longer to separate from 1.

    Raises
    ------
    ShapeError
        ``A`` not square or empty, or another array of the wrong shape.
    InvalidEconomyError
        NaN, infinite or negative coefficients; depreciation outside [0, 1].
    LabelError
        Labels of the wrong length or duplicated.
    UnitsError
        ``labour_units`` without labour, of the wrong length, or not non-empty strings.
    NotProductiveError
        Spectral radius of ``A`` >= 1; the message names the radius and the sectors.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0], labels=["grain", "iron"])
    >>> e.n, e.productivity.upper < 1
    (2, True)
    """

    __slots__ = (
        "_A",
        "_certify_maxiter",
        "_labour",
        "_labels",
        "_labour_names",
        "_labour_units",
        "_capital",
        "_depreciation",
        "_capacity",
        "_stocks",
        "_labour_supply",
        "_productivity",
        "_origin",
        "_cache",
        "_lock",
    )

    def __init__(
        self,
        A: Any,
        labour: Any = None,
        *,
        labels: Sequence | pd.Index | None = None,
        labour_names: Sequence[str] | None = None,
        labour_units: str | Sequence[str] | None = None,
        capital: Any = None,
        depreciation: Any = None,
        capacity: Any = None,
        stocks: Any = None,
        labour_supply: Any = None,
        dtype: Any = np.float64,
        index_dtype: Any = None,
        check: bool = True,
        certificate: Productivity | None = None,
        certify_maxiter: int | None = None,
    ):
        self._certify_maxiter = check_int(certify_maxiter, "certify_maxiter", lo=1, allow_none=True)
        check_bool(check, "check")
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise InvalidEconomyError(f"dtype must be float64 or float32, got {dtype!r}") from None
        if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise InvalidEconomyError(f"dtype must be float64 or float32, got {dtype}")
        self._origin = array_library(A) or "numpy"
        csr = _as_csr(A, dtype)
        n0, n1 = csr.shape
        if n0 != n1:
            raise ShapeError(f"A must be square (products x products), got shape {csr.shape}")
        if n0 == 0:
            raise ShapeError("A is empty (0 products); an economy needs at least one product")
        csr.sum_duplicates()
        csr.eliminate_zeros()
        csr.sort_indices()
        _check_values(csr.data, "A")
        csr = _with_index_dtype(csr, index_dtype)
        for arr in (csr.data, csr.indices, csr.indptr):
            arr.flags.writeable = False
        self._A = csr
        n = n0

        self._labels = _make_labels(labels, n)
        self._labour, self._labour_names = _make_labour(self, labour, labour_names, n, dtype)
        self._labour_units = self._make_units(labour_units)
        self._capital = None
        if capital is not None:
            B = _as_csr(capital, dtype, "capital coefficients B")
            if B.shape != (n, n):
                raise ShapeError(f"capital coefficients B must have shape ({n}, {n}) like A, got {B.shape}")
            B.sum_duplicates()
            B.eliminate_zeros()
            B.sort_indices()
            _check_values(B.data, "capital coefficients B")
            for arr in (B.data, B.indices, B.indptr):
                arr.flags.writeable = False
            self._capital = B
        self._depreciation = self._vector(depreciation, n, "depreciation", upper=1.0, allow_scalar=True)
        self._capacity = self._vector(capacity, n, "capacity")
        self._stocks = self._vector(stocks, n, "stocks")
        self._labour_supply = None
        if labour_supply is not None:
            m = 1 if self._labour is None else self._labour.shape[0]
            if isinstance(labour_supply, (pd.Series, Mapping)):  # by kind of labour, aligned by name
                labour_supply = _by_labour_kind(self, labour_supply)
            raw = host_array(to_host(labour_supply), "labour_supply")
            if raw.dtype == object or not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool) \
                    or np.iscomplexobj(raw):
                raise InvalidEconomyError(
                    f"labour_supply must be real numbers (one per labour kind), got dtype {raw.dtype}"
                )
            ls = np.atleast_1d(raw.astype(np.float64)).copy()
            if ls.shape == (1,) and m > 1:
                raise ShapeError(f"labour_supply needs one number per labour kind ({m}), got 1")
            if ls.shape != (m,):
                raise ShapeError(f"labour_supply must have shape ({m},), got {ls.shape}")
            _check_values(ls, "labour_supply")
            ls.flags.writeable = False
            self._labour_supply = ls
        self._cache: dict = {}
        self._lock = threading.RLock()
        if certificate is not None:
            if not isinstance(certificate, Productivity) or not certificate.upper < 1.0:
                raise InvalidEconomyError(
                    f"certificate must be a Productivity with upper < 1 (got {certificate!r}); "
                    "omit it to have the economy certified"
                )
            self._productivity = certificate
        else:
            self._productivity = self._certify() if check else Productivity(0.0, float("nan"), "unchecked")

    # -- validation helpers --------------------------------------------------
    def __getstate__(self) -> dict:
        """Pickling (for Dask workers and multiprocessing): the arrays and the certificate, not the cache or lock."""
        return {k: getattr(self, k) for k in self.__slots__ if k not in ("_cache", "_lock") and hasattr(self, k)}

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
        for arr in (self._A.data, self._A.indices, self._A.indptr):
            arr.flags.writeable = False
        self._cache = {}
        self._lock = threading.RLock()

    def _vector(self, v, n: int, what: str, *, upper: float | None = None, allow_scalar: bool = False):
        if v is None:
            return None
        arr = product_vector(self, v, what, scalar=allow_scalar, lo=0.0, hi=upper, error=InvalidEconomyError)
        arr.flags.writeable = False
        return arr

    def _certify(self) -> Productivity:
        A = self._A
        n = self.n
        col = self.column_sums
        cmax = float(col.max())
        if cmax < 1.0:
            return Productivity(0.0, cmax, "column sums")
        row = np.asarray(A.sum(axis=1)).ravel()
        rmax = float(row.max())
        if rmax < 1.0:
            return Productivity(0.0, rmax, "row sums")
        A64 = A if A.dtype == np.float64 else A.astype(np.float64)
        maxiter = self._certify_maxiter or max(2000, 4 * n)
        lo, hi, x, it = spectral_radius_bounds(A64, stop_below=1.0, stop_above=1.0, maxiter=maxiter)
        if hi < 1.0:
            return Productivity(lo, hi, "power iteration", it)
        # not productive, or not certifiable: name the sectors that carry the dominant cycle
        weight = x * np.maximum(col, 1e-300)
        top = np.argsort(-weight)[: min(5, n)]
        names = [self._labels[i] for i in top] if self._labels is not None else [int(i) for i in top]
        sums = ", ".join(f"{nm!r}: {col[i]:.3g}" for nm, i in zip(names, top))
        over = int((col >= 1).sum())
        fix = (
            "Fix: lower their input coefficients, or check the units of those columns (inputs per unit "
            "of output must be in the same units as the output)."
        )
        if lo >= 1.0:
            head = (
                f"economy is not productive: the spectral radius of A is {lo:.6g} or more (>= 1), "
                "so no plan can deliver a net product"
            )
        else:
            head = (
                "economy could not be certified productive: the spectral radius of A lies in "
                f"[{lo:.6g}, {hi:.6g}] after {it} power iterations, a bracket that straddles 1 (it may "
                "well be productive, with a radius just below 1)"
            )
            fix = (
                f"To proceed: certify with more iterations, Economy(..., certify_maxiter={max(10 * it, 10_000)}), "
                "or pass check=False if you know the economy is productive (solves then check their own "
                "residuals). If it is not productive: " + fix[5:]
            )
        raise NotProductiveError(
            f"{head}. {over} of {n} columns sum to >= 1. "
            f"Sectors carrying the dominant cycle (column sums): {sums}. {fix}",
            spectral_radius=lo if lo >= 1.0 else 0.5 * (lo + hi),
            sectors=names,
        )

    # -- read-only views -----------------------------------------------------
    @property
    def n(self) -> int:
        """Number of products."""
        return self._A.shape[0]

    @property
    def nnz(self) -> int:
        """Stored non-zero technical coefficients."""
        return self._A.nnz

    @property
    def dtype(self) -> np.dtype:
        return self._A.dtype

    @property
    def A(self) -> sp.csr_matrix:
        """Technical coefficients (read-only CSR on the host)."""
        return self._A

    @property
    def AT(self) -> sp.csr_matrix:
        """``A`` transposed, in CSR (built on first use, then cached)."""
        return self.cached("AT", lambda: _with_index_dtype(self._A.T.tocsr(), self._A.indices.dtype))

    @property
    def labour(self) -> np.ndarray | None:
        """Labour coefficients, shape ``(m, n)``, or None."""
        return self._labour

    @property
    def labour_names(self) -> tuple[str, ...] | None:
        return self._labour_names

    @property
    def labels(self) -> pd.Index | None:
        """Product labels, or None."""
        return self._labels

    @property
    def capital(self) -> sp.csr_matrix | None:
        """Capital coefficients ``B`` (read-only CSR), or None."""
        return self._capital

    @property
    def depreciation(self) -> np.ndarray | None:
        return self._depreciation

    @property
    def capacity(self) -> np.ndarray | None:
        return self._capacity

    @property
    def stocks(self) -> np.ndarray | None:
        return self._stocks

    @property
    def labour_supply(self) -> np.ndarray | None:
        return self._labour_supply

    @property
    def productivity(self) -> Productivity:
        """Certified bounds on the spectral radius of ``A``."""
        return self._productivity

    @property
    def column_sums(self) -> np.ndarray:
        """Total input per unit of each product (``1^T A``)."""
        return self.cached("colsum", lambda: _column_sums(self._A))

    @property
    def array_library(self) -> str:
        """The library ``A`` came from (``"numpy"``, ``"cupy"`` or ``"jax"``)."""
        return self._origin

    def cached(self, key, build):
        """Per-economy cache for derived data (transposes, device copies, factorizations)."""
        try:
            return self._cache[key]
        except KeyError:
            pass
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def is_cached(self, key) -> bool:
        """True when :meth:`cached` already holds ``key`` (e.g. a backend's copy of ``A``)."""
        return key in self._cache

    # -- labels --------------------------------------------------------------
    def positions(self, products: Iterable) -> np.ndarray:
        """Integer positions of products given by label (or by position when unlabelled).

        Raises
        ------
        UnknownProductError
            A label (or position) the economy does not have, or a position that is not a whole number.
        """
        return product_positions(self, products)

    # -- changes -------------------------------------------------------------
    def with_changes(
        self,
        changes: Mapping | Iterable | None = None,
        *,
        labour: Any = None,
        check: bool = True,
        **replace: Any,
    ) -> "Economy":
        """A new economy with some coefficients changed; this one is left as it was.

        Parameters
        ----------
        changes : mapping ``{(i, j): value}`` or iterable of ``(i, j, value)``, optional
            New technical coefficients ``A[i, j]``; ``i`` and ``j`` are labels (or
            positions for an unlabelled economy).  A value of 0 removes the entry.
        labour : array_like, optional
            Replacement labour coefficients.
        check : bool
            Re-certify productivity (default).
        **replace
            Any other constructor argument to replace (``capital=``, ``capacity=``...).

        Returns
        -------
        Economy

        Raises
        ------
        UnknownProductError, InvalidEconomyError, NotProductiveError
        """
        unknown = sorted(set(replace) - _REPLACEABLE)
        if unknown:
            raise InvalidOptionError(
                f"with_changes got unknown argument(s) {unknown}; it accepts changes, labour and "
                f"{', '.join(sorted(_REPLACEABLE))}"
            )
        A = self._A
        if changes:
            rows, cols, vals = parse_changes(self, changes)
            A = csr_set(A, rows, cols, vals)
        kwargs = dict(
            index_dtype=self._A.indices.dtype,
            labels=self._labels,
            labour_names=self._labour_names,
            labour_units=self._labour_units,
            capital=self._capital,
            depreciation=self._depreciation,
            capacity=self._capacity,
            stocks=self._stocks,
            labour_supply=self._labour_supply,
            dtype=self.dtype,
            check=check,
            certify_maxiter=self._certify_maxiter,
        )
        if labour is None:
            labour = self._labour
        elif "labour_names" not in replace and np.atleast_2d(np.asarray(labour)).shape[0] != (
            0 if self._labour is None else self._labour.shape[0]
        ):
            kwargs["labour_names"] = None
            kwargs["labour_units"] = self._shared_unit()
        kwargs.update(replace)
        return Economy(A, labour, **kwargs)

    def __repr__(self) -> str:
        m = 0 if self._labour is None else self._labour.shape[0]
        p = self._productivity
        extra = ", capital" if self._capital is not None else ""
        units = f" ({', '.join(self._labour_units)})" if self._labour_units else ""
        return (
            f"<Economy n={self.n} nnz={self.nnz} labour_kinds={m}{units}{extra} "
            f"spectral_radius<={p.upper:.4g} ({p.method})>"
        )


# ---------------------------------------------------------------------------
# validation of the constructor's arguments (module level: the class stays small)
# ---------------------------------------------------------------------------
def _check_values(values: np.ndarray, what: str) -> None:
    if values.size == 0:
        return
    finite = np.isfinite(values)
    if not finite.all():
        bad = int((~finite).sum())
        raise InvalidEconomyError(
            f"{what} has {bad} NaN or infinite entries; every coefficient must be a finite number "
            "(fill missing values with 0 or an estimate)"
        )
    if (values < 0).any():
        neg = int((values < 0).sum())
        raise InvalidEconomyError(
            f"{what} has {neg} negative entries (smallest {values.min():.6g}); coefficients must be "
            ">= 0: record by-products or net exports outside A"
        )


def _make_labels(labels, n: int) -> pd.Index | None:
    if labels is None:
        return None
    if isinstance(labels, (str, bytes)):
        raise LabelError(
            f"labels must be a sequence of product labels, got the string {labels!r}; "
            "give a list with one label per product"
        )
    if not isinstance(labels, pd.Index) and not isinstance(labels, Iterable):
        raise LabelError(
            f"labels must be a sequence of product labels, got {type(labels).__name__} {labels!r}; "
            "give a list with one label per product"
        )
    idx = labels if isinstance(labels, pd.Index) else pd.Index(list(labels))
    if len(idx) != n:
        raise LabelError(f"got {len(idx)} product labels for {n} products; give exactly one label per product")
    if not idx.is_unique:
        dup = idx[idx.duplicated()].unique().tolist()[:5]
        raise LabelError(f"product labels must be unique; duplicated: {dup}")
    if idx.dtype == object and not isinstance(idx, pd.MultiIndex) and pd.api.types.infer_dtype(
        idx, skipna=True
    ) not in ("string", "bytes", "integer", "floating", "mixed-integer-float", "decimal", "boolean"):
        # a slow scan only for labels of mixed kinds (strings beside tuples, lists...)
        bad = [v for v in idx if not isinstance(v, Hashable) or isinstance(v, (list, dict, set))]
        if bad:
            raise LabelError(
                f"product labels must be hashable scalars or tuples, got {bad[0]!r}; give one string, number "
                "or tuple per product"
            )
    gaps = (
        int(sum((c == -1).sum() for c in idx.codes)) if isinstance(idx, pd.MultiIndex)
        else int(idx.isna().sum()) if idx.hasnans else 0
    )
    if gaps:
        raise LabelError(f"product labels must not be None or NaN ({gaps} are); give every product a label")
    return idx


def _make_labour(self: "Economy", labour, names, n: int, dtype):
    if labour is None:
        if names is not None:
            raise ShapeError("labour_names given without labour coefficients")
        return None, None
    if isinstance(labour, pd.DataFrame):  # products x kinds, aligned by label; columns name the kinds
        if names is None:
            names = [str(c) for c in labour.columns]
        labour = np.stack([
            product_vector(self, labour[c], f"labour {c!r}", error=InvalidEconomyError) for c in labour.columns
        ]) if labour.shape[1] else np.zeros((0, n))
    elif isinstance(labour, (pd.Series, Mapping)):
        labour = product_vector(self, labour, "labour", error=InvalidEconomyError)
    lab = to_host(labour)
    if not isinstance(lab, np.ndarray):
        lab = host_array(lab, "labour")
    if np.iscomplexobj(lab):
        raise InvalidEconomyError("labour is complex; coefficients are real numbers")
    if lab.dtype == object or not (np.issubdtype(lab.dtype, np.number) or lab.dtype == bool):
        raise InvalidEconomyError(f"labour must be numeric, got dtype {lab.dtype}")
    lab = lab.astype(dtype, copy=False)
    if lab.ndim == 1:
        lab = lab[None, :]
    if lab.ndim != 2 or lab.shape[1] != n:
        raise ShapeError(
            f"labour must have shape ({n},) or (m, {n}) (one row per kind of labour), got {np.shape(labour)}"
        )
    lab = lab.copy()
    _check_values(lab.ravel(), "labour")
    lab.flags.writeable = False
    m = lab.shape[0]
    if names is None:
        names = ["labour"] if m == 1 else [f"labour_{i}" for i in range(m)]
    if isinstance(names, (str, bytes)):
        if m != 1:
            raise LabelError(
                f"labour_names must be a sequence of {m} names (one per labour row), got the string {names!r}"
            )
        names = [names]
    names = [str(s) for s in names]
    if len(names) != m:
        raise LabelError(f"got {len(names)} labour_names for {m} labour rows")
    if len(set(names)) != m:
        raise LabelError(f"labour_names must be unique, got {names}")
    return lab, tuple(names)


def _by_labour_kind(self: "Economy", supply) -> np.ndarray:
    """A Series or mapping keyed by labour name, in the order of ``labour_names``."""
    names = self._labour_names or ()
    given = pd.Series(supply) if isinstance(supply, Mapping) else supply
    if not given.index.is_unique:
        raise LabelError(f"labour_supply names a kind of labour twice: {sorted(map(str, given.index[given.index.duplicated()]))}")
    unknown = [k for k in given.index if k not in names]
    missing = [k for k in names if k not in given.index]
    if unknown:
        raise UnknownProductError(
            f"labour_supply names kinds of labour this economy does not have: {unknown}; its kinds are {list(names)}"
        )
    if missing:
        raise LabelError(f"labour_supply lacks the kinds of labour {missing}; give one number per kind {list(names)}")
    return given.reindex(list(names)).to_numpy()
