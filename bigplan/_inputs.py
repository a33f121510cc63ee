"""One input layer: user data to product vectors and plan blocks aligned to an economy.

Every public entry point that takes products (final demand, capacity, stocks,
labour, prices, growth per product, observed sales...) goes through these
functions, so the same bad input gets the same typed error everywhere:

* a product the economy does not have: :class:`~bigplan.UnknownProductError`;
* a product that is missing: :class:`~bigplan.LabelError`, unless the caller
  asks for zeros by name (``missing="zero"``);
* a duplicated label: :class:`~bigplan.LabelError`;
* the wrong length: :class:`~bigplan.ShapeError`;
* NaN, infinity, complex or non-numeric values, or values out of range: the
  caller's error class (``InvalidDemandError`` for targets,
  ``InvalidEconomyError`` for coefficients).

``economy`` below is anything with ``.n`` (number of products) and
``.labels`` (a :class:`pandas.Index` or ``None``): an :class:`~bigplan.Economy`
or a store's version state.  On an unlabelled economy, products are named by
position ``0 .. n-1`` (a Series' index then holds positions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ._arrays import array_library, is_int, to_host
from .backend import get_backend
from .errors import InvalidDemandError, InvalidOptionError, LabelError, ShapeError, UnknownProductError

__all__ = ["product_positions", "product_labels", "product_vector", "plan_block", "PlanBlock", "check_finite",
           "host_array"]

_SHOW = 5  # labels named in a message


def _show(items) -> list:
    items = list(items)
    return items[:_SHOW] + (["..."] if len(items) > _SHOW else [])


def host_array(value: Any, what: str) -> np.ndarray:
    """``numpy.asarray`` of host input, with ragged or nested input refused as :class:`~bigplan.ShapeError`.

    Examples
    --------
    >>> from bigplan._inputs import host_array
    >>> host_array([[1.0, 2.0], [3.0, 4.0]], "demand").shape
    (2, 2)
    >>> host_array([[1.0, 2.0], [3.0]], "demand")
    Traceback (most recent call last):
    ...
    bigplan.errors.ShapeError: demand is ragged (rows of different lengths) or nested beyond an array; give one row per product, each with the same number of values
    """
    try:
        return np.asarray(value)
    except (ValueError, TypeError):
        raise ShapeError(
            f"{what} is ragged (rows of different lengths) or nested beyond an array; give one row per product, "
            "each with the same number of values"
        ) from None


def product_positions(economy: Any, items: Iterable, *, what: str = "products") -> np.ndarray:
    """Integer positions of products named by label (by position when the economy is unlabelled).

    Parameters
    ----------
    economy : Economy or any object with ``n`` and ``labels``
    items : iterable of labels (or of integer positions), or an integer array
    what : str
        What the items are, for the message.

    Returns
    -------
    numpy.ndarray of int64

    Raises
    ------
    UnknownProductError
        A label the economy lacks, a position out of range, or a position that
        is not a whole number (``1.7`` is refused, never truncated).
    LabelError
        A single string given where a list of products is expected.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan._inputs import product_positions
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labels=["grain", "iron"])
    >>> product_positions(e, ["iron"]).tolist()
    [1]
    """
    n = economy.n
    labels = economy.labels
    if isinstance(items, (str, bytes)):
        raise LabelError(
            f"{what} must be a list of products, got the string {items!r}; wrap one product in a list: [{items!r}]"
        )
    if isinstance(items, np.ndarray) and labels is None and items.dtype.kind in "iu":
        pos = items.astype(np.int64, copy=False).reshape(-1)
    else:
        try:
            seq = list(items) if not isinstance(items, (pd.Index, np.ndarray)) else items
        except TypeError:
            raise LabelError(
                f"{what} must be a list of products, got {type(items).__name__} {items!r}; "
                f"wrap one product in a list: [{items!r}]"
            ) from None
        if labels is not None:
            try:
                pos = labels.get_indexer(seq)
            except (TypeError, ValueError, NotImplementedError):  # unhashable or nested items
                raise LabelError(
                    f"{what} must be product labels (strings, numbers or the economy's tuples), got {_show(seq)}"
                ) from None
            if (pos < 0).any():
                miss = [seq[i] for i in np.flatnonzero(pos < 0)]
                raise UnknownProductError(
                    f"unknown {what} {_show(miss)}: they are not among this economy's {n} product labels "
                    "(check the spelling, or add the products to the economy first)"
                )
            return pos.astype(np.int64)
        bad = [v for v in seq if not is_int(v)]
        if bad:
            raise UnknownProductError(
                f"this economy has no labels, so {what} are named by whole-number positions 0..{n - 1}; "
                f"got {_show(bad)} (give integers, or build the economy with labels=...)"
            )
        pos = np.asarray(seq, dtype=np.int64).reshape(-1)
    out = pos[(pos < 0) | (pos >= n)]
    if out.size:
        raise UnknownProductError(f"unknown {what} positions {_show(out.tolist())}; valid positions are 0..{n - 1}")
    return pos


def product_labels(economy: Any, positions) -> list:
    """Labels of the products at ``positions`` (the positions themselves when unlabelled)."""
    pos = np.asarray(positions, dtype=np.int64).reshape(-1)
    if economy.labels is None:
        return [int(i) for i in pos]
    return economy.labels[pos].tolist()


def _numeric(arr: np.ndarray, what: str, error) -> np.ndarray:
    if np.iscomplexobj(arr):
        raise error(f"{what} is complex; give real numbers (bigplan never drops an imaginary part)")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise error(f"{what} must be numeric, got dtype {arr.dtype}; convert the values to numbers first")
    return arr


def check_finite(arr: np.ndarray, what: str, *, lo: float | None = None, hi: float | None = None,
                 error=InvalidDemandError) -> None:
    """Refuse NaN/inf and values outside ``[lo, hi]`` with ``error`` naming the count and the fix."""
    if arr.size == 0:
        return
    finite = np.isfinite(arr)
    if not finite.all():
        raise error(
            f"{what} has {int((~finite).sum())} NaN or infinite entries; every value must be a finite number "
            "(write 0, not NaN, for an empty entry)"
        )
    below = lo is not None and (arr < lo).any()
    above = hi is not None and (arr > hi).any()
    if below or above:
        nb = int((arr < lo).sum()) if below else 0
        na = int((arr > hi).sum()) if above else 0
        if lo is not None and hi is not None:
            rng = f"must lie in [{lo:g}, {hi:g}]"
        elif lo is not None:
            rng = f"must be >= {lo:g}"
        else:
            rng = f"must be <= {hi:g}"
        found = []
        if nb:
            found.append(f"{nb} {'negative' if lo == 0 else 'smaller'} entries (smallest {arr.min():.6g})")
        if na:
            found.append(f"{na} larger entries (largest {arr.max():.6g})")
        raise error(f"{what} {rng}; it has {' and '.join(found)}")


def _align_index(economy: Any, index: pd.Index, what: str, missing: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Positions of ``index`` in the economy, and the positions left missing (None when complete)."""
    if not index.is_unique:
        raise LabelError(f"{what} has duplicated product labels {_show(index[index.duplicated()].unique())}")
    n = economy.n
    if economy.labels is None:
        if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 and len(index) == n:
            return np.arange(n, dtype=np.int64), None
        pos = product_positions(economy, list(index), what=f"products in {what}")
    else:
        pos = economy.labels.get_indexer(index)
        if (pos < 0).any():
            extra = index[pos < 0]
            raise UnknownProductError(
                f"{what} names {len(extra)} products this economy does not have: {_show(extra)}; "
                "drop them or add them to the economy"
            )
    if pos.size == n:
        return pos.astype(np.int64), None
    have = np.zeros(n, dtype=bool)
    have[pos] = True
    gone = np.flatnonzero(~have)
    if missing != "zero":
        raise LabelError(
            f"{what} lacks {gone.size} of the economy's {n} products: {_show(product_labels(economy, gone))}; "
            "list every product, with an explicit 0 where a product has none (or pass missing='zero' where the "
            "function offers it)"
        )
    return pos.astype(np.int64), gone


def _check_missing(missing: str) -> None:
    if missing not in ("error", "zero"):
        raise InvalidOptionError(f"missing must be 'error' or 'zero', got {missing!r}")


def product_vector(
    economy: Any,
    value: Any,
    what: str,
    *,
    scalar: bool = False,
    missing: str = "error",
    lo: float | None = 0.0,
    hi: float | None = None,
    error=InvalidDemandError,
) -> np.ndarray:
    """One number per product, aligned to the economy, as a fresh float64 array.

    Parameters
    ----------
    economy : Economy or any object with ``n`` and ``labels``
    value : array_like (n,), pandas.Series, mapping ``{product: number}``, or a number when ``scalar``
        A Series or mapping is aligned by label; an array is taken in the economy's order.
    what : str
        The argument's name, for messages (``"capacity"``, ``"final demand"``...).
    scalar : bool
        Accept one number for every product.
    missing : {"error", "zero"}
        What a Series or mapping that lacks products means.
    lo, hi : float or None
        Allowed range (``lo=None``: any sign).
    error : exception class
        Raised for non-finite, complex, non-numeric or out-of-range values.

    Returns
    -------
    numpy.ndarray, shape (n,)

    Raises
    ------
    UnknownProductError, LabelError, ShapeError, or ``error``

    Examples
    --------
    >>> import numpy as np, pandas as pd, bigplan
    >>> from bigplan._inputs import product_vector
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labels=["grain", "iron"])
    >>> product_vector(e, pd.Series({"iron": 2.0, "grain": 1.0}), "capacity").tolist()
    [1.0, 2.0]
    >>> product_vector(e, {"iron": 2.0}, "capacity", missing="zero").tolist()
    [0.0, 2.0]
    """
    _check_missing(missing)
    n = economy.n
    if value is None:
        raise error(f"{what} is required: give one number per product")
    if isinstance(value, pd.DataFrame):
        if value.shape[1] != 1:
            raise ShapeError(f"{what} must be one number per product (a Series or 1-D array), got a DataFrame "
                             f"with {value.shape[1]} columns")
        value = value.iloc[:, 0]
    if isinstance(value, Mapping) and not isinstance(value, pd.Series):
        value = pd.Series(dict(value), dtype=None if value else np.float64)
    if isinstance(value, pd.Series):
        vals = _numeric(np.asarray(value.to_numpy()), what, error) if value.dtype != object else None
        if vals is None:
            try:
                vals = value.to_numpy(dtype=np.float64)
            except (TypeError, ValueError):
                raise error(f"{what} must be numeric; convert the values to numbers first") from None
        pos, gone = _align_index(economy, value.index, what, missing)
        out = np.zeros(n, dtype=np.float64)
        out[pos] = vals.astype(np.float64, copy=False)
    else:
        arr = host_array(to_host(value), what)
        _numeric(arr, what, error)
        if arr.ndim == 0:
            if not scalar:
                raise ShapeError(f"{what} must have shape ({n},): one number per product, got one number")
            out = np.full(n, float(arr), dtype=np.float64)
        else:
            if arr.shape != (n,):
                raise ShapeError(
                    f"{what} must have shape ({n},) (one number per product){' or be a number' if scalar else ''}, "
                    f"got {arr.shape}"
                )
            out = np.array(arr, dtype=np.float64, copy=True)
    check_finite(out, what, lo=lo, hi=hi, error=error)
    return out


@dataclass(frozen=True, eq=False)
class PlanBlock:
    """Plans as a block aligned to an economy.

    Attributes
    ----------
    values : array, shape (n, k)
        NumPy float64 for host input; CuPy/JAX arrays stay on their device.
    names : pandas.Index or None
        Plan names (DataFrame columns, Series name, mapping keys, ``names=``).
    squeeze : bool
        The input was one plan as a 1-D vector or a Series.
    library : str
        ``"numpy"``, ``"cupy"`` or ``"jax"``.
    nonneg : numpy.ndarray of bool, shape (k,)
        The plan's demand is >= 0 everywhere.
    colmax : numpy.ndarray, shape (k,), or None
        The largest magnitude in each plan (from the same column range as ``nonneg``),
        for the solvers' scaling decision.
    """

    values: Any
    names: pd.Index | None
    squeeze: bool
    library: str
    nonneg: np.ndarray
    colmax: np.ndarray | None = None

    @property
    def k(self) -> int:
        return int(self.values.shape[1])


def _plan_names(names, k: int, what: str) -> pd.Index:
    idx = pd.Index(list(names))
    if len(idx) != k:
        raise LabelError(f"{what}: got {len(idx)} plan names for {k} plans; give one name per plan")
    if not idx.is_unique:
        raise LabelError(
            f"{what}: plan names (columns) must be unique; duplicated: {_show(idx[idx.duplicated()].unique())}"
        )
    return idx


def _colrange(block, library: str):
    """Column minima and maxima on the host (NaN reaches both), by the backend of the block's library."""
    return get_backend(library).colrange(block)


def plan_block(
    economy: Any,
    plans: Any,
    what: str = "final demand",
    *,
    missing: str = "error",
    names: Iterable | None = None,
    host: bool = False,
) -> PlanBlock:
    """Plans (one column each) aligned to the economy's products.

    Parameters
    ----------
    economy : Economy or any object with ``n`` and ``labels``
    plans : array (n,) or (n, k), pandas.Series, pandas.DataFrame (products x plans), or mapping ``{plan: vector}``
        NumPy, CuPy or JAX arrays; pandas objects and the vectors of a mapping are aligned by label.
    what : str
        The argument's name, for messages.
    missing : {"error", "zero"}
        What labelled input that lacks products means.
    names : iterable, optional
        Plan names for array input (labelled input names its own plans).
    host : bool
        Bring device arrays to the host.

    Returns
    -------
    PlanBlock

    Raises
    ------
    UnknownProductError, LabelError, ShapeError, InvalidDemandError

    Examples
    --------
    >>> import numpy as np, pandas as pd, bigplan
    >>> from bigplan._inputs import plan_block
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labels=["grain", "iron"])
    >>> pb = plan_block(e, {"base": pd.Series({"iron": 1.0, "grain": 2.0}), "more": [3.0, 1.0]})
    >>> pb.values.tolist(), list(pb.names)
    ([[2.0, 3.0], [1.0, 1.0]], ['base', 'more'])
    """
    _check_missing(missing)
    n = economy.n
    squeeze = False
    carried = None
    if isinstance(plans, Mapping) and not isinstance(plans, pd.Series):
        if not plans:
            raise ShapeError(f"{what} has no plans (an empty mapping); give at least one plan")
        carried = list(plans.keys())
        cols = [product_vector(economy, v, f"{what} plan {k!r}", missing=missing, lo=None) for k, v in plans.items()]
        block = np.column_stack(cols)
        library = "numpy"
    elif isinstance(plans, pd.Series):
        carried = [plans.name if plans.name is not None else 0]
        block = product_vector(economy, plans, what, missing=missing, lo=None)[:, None]
        squeeze = True
        library = "numpy"
    elif isinstance(plans, pd.DataFrame):
        carried = list(plans.columns)
        if plans.shape[1] == 0:
            raise ShapeError(f"{what} has no plans (0 columns)")
        vals = plans.to_numpy()
        if vals.dtype == object:
            try:
                vals = plans.to_numpy(dtype=np.float64)
            except (TypeError, ValueError):
                raise InvalidDemandError(f"{what} must be numeric; convert the columns to numbers first") from None
        _numeric(vals, what, InvalidDemandError)
        pos, gone = _align_index(economy, plans.index, what, missing)
        block = np.zeros((n, vals.shape[1]), dtype=np.float64, order="F")
        block[pos] = vals
        library = "numpy"
    else:
        library = array_library(plans) or "numpy"
        if library != "numpy" and host:
            plans, library = to_host(plans), "numpy"
        if library == "numpy":
            block = host_array(plans, what)
            _numeric(block, what, InvalidDemandError)
            if block.dtype != np.float64 and block.dtype != np.float32:
                block = block.astype(np.float64)
        else:
            block = plans
            kind = np.dtype(block.dtype).kind
            if kind == "c":
                raise InvalidDemandError(f"{what} is complex; give real numbers")
            if kind not in "f":
                block = block.astype(np.float64)
        shape = tuple(block.shape)
        if len(shape) not in (1, 2) or shape[0] != n:
            raise ShapeError(
                f"{what} must have shape ({n},) or ({n}, k) for k plans, got {shape}; "
                "one row per product, one column per plan"
            )
        if len(shape) == 2 and shape[1] == 0:
            raise ShapeError(f"{what} has no plans (0 columns)")
        squeeze = len(shape) == 1
        if squeeze:
            block = block[:, None]
    k = int(block.shape[1])
    if carried is not None and names is not None:
        raise LabelError(f"{what} names its own plans ({_show(carried)}); drop names=")
    plan_names = None
    if carried is not None:
        plan_names = _plan_names(carried, k, what)
    elif names is not None:
        plan_names = _plan_names(names, k, what)
    colmin, colmax = _colrange(block, library)
    if not (np.isfinite(colmin).all() and np.isfinite(colmax).all()):
        bad = np.flatnonzero(~(np.isfinite(colmin) & np.isfinite(colmax)))
        which = _show(plan_names[bad]) if plan_names is not None else _show(bad.tolist())
        raise InvalidDemandError(
            f"{what} has NaN or infinite entries in plans {which}; every target must be a finite number (write 0, not NaN, for no demand)"
        )
    return PlanBlock(values=block, names=plan_names, squeeze=squeeze, library=library, nonneg=colmin >= 0,
                     colmax=np.maximum(np.abs(colmin), np.abs(colmax)))
