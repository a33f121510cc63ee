"""Labour in the dynamic model: supply per period and kind, aligned by the labour kinds' names.

A labour supply (or a number of workers, or hours per worker) is one number
for every kind, one per kind (an array in the economy's order, or a
:class:`pandas.Series` / mapping aligned by ``economy.labour_names``), or a
path ``(T, m)`` (a DataFrame's columns aligned by name).  Labelled input that
names a kind the economy lacks, or lacks one of its kinds, is refused with a
:class:`~bigplan.errors.LabelError` naming them; nothing is taken by position.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._arrays import to_host
from .._inputs import check_finite
from ..economy import Economy
from ..errors import InvalidDemandError, LabelError, ShapeError, UnknownProductError

__all__ = ["kind_vector", "labour_supply_path", "labour_units"]


def labour_units(economy: Economy) -> tuple:
    """One unit string per labour kind (``"unit not stated"`` where the economy does not say)."""
    m = 0 if economy.labour is None else economy.labour.shape[0]
    units = getattr(economy, "labour_units", None)
    if units is None:
        return ("unit not stated",) * m
    return tuple(str(u) for u in units)


def _align(economy: Economy, value, what: str) -> np.ndarray:
    """A Series or mapping ``{kind: number}`` in the order of ``economy.labour_names``."""
    names = list(economy.labour_names)
    s = value if isinstance(value, pd.Series) else pd.Series(dict(value), dtype=object)
    keys = list(s.index)
    if len(set(keys)) != len(keys):
        dup = sorted({str(k) for k in keys if keys.count(k) > 1})
        raise LabelError(f"{what} names labour kinds more than once: {dup}; give each kind once")
    unknown = [k for k in keys if k not in names]
    if unknown:
        raise UnknownProductError(
            f"{what} names {len(unknown)} labour kinds this economy does not have: {unknown[:10]}; its kinds "
            f"are {names} (economy.labour_names)"
        )
    missing = [k for k in names if k not in keys]
    if missing:
        raise LabelError(
            f"{what} lacks {len(missing)} of the economy's labour kinds: {missing[:10]}; give one number for "
            f"every kind in economy.labour_names ({names})"
        )
    return _numbers(s.reindex(names).to_numpy(), what)


def _numbers(raw, what: str) -> np.ndarray:
    arr = np.asarray(to_host(raw))
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise InvalidDemandError(f"{what} must be real numbers, got {raw!r}") from None
    if arr.dtype.kind not in "biuf":
        raise InvalidDemandError(f"{what} must be real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def kind_vector(economy: Economy, value, what: str, *, positive: bool = False) -> np.ndarray:
    """One number per labour kind ``(m,)``: a scalar for every kind, an array, or a Series/mapping by name.

    ``positive``: refuse zero as well as negative values (a working time).
    """
    if economy.labour is None:
        raise ShapeError(f"{what} given but the economy has no labour coefficients")
    m = economy.labour.shape[0]
    if isinstance(value, (pd.Series, Mapping)):
        arr = _align(economy, value, what)
    else:
        arr = _numbers(value, what)
        if arr.ndim == 0:
            arr = np.full(m, float(arr))
        elif arr.shape != (m,):
            raise ShapeError(f"{what} needs one number for every labour kind or one per kind ({m}), got shape "
                             f"{arr.shape}")
    _check_positive(arr, what, positive)
    return arr


def _check_positive(arr: np.ndarray, what: str, positive: bool) -> None:
    check_finite(arr, what, lo=0.0, error=InvalidDemandError)
    if positive and not (arr > 0).all():
        raise InvalidDemandError(
            f"{what} must be > 0 (a working time of zero plans no production); got a minimum of {arr.min():.6g}"
        )


def labour_supply_path(economy: Economy, labour_supply, T: int, *, what: str = "labour_supply",
                       positive: bool = False) -> np.ndarray | None:
    """Labour available per period and kind, ``(T, m)``, or None (no labour, or no supply given or recorded).

    Accepts a scalar (one kind of labour only: with several kinds it would
    be ambiguous), one number per kind ``(m,)`` or a Series/mapping by kind
    name, a path ``(T,)`` for a single kind, or ``(T, m)`` (a DataFrame's
    columns aligned by kind name).  ``positive`` refuses zero supplies.
    """
    if economy.labour is None:
        if labour_supply is not None:
            raise ShapeError(f"{what} given but the economy has no labour coefficients")
        return None
    m = economy.labour.shape[0]
    ls = economy.labour_supply if labour_supply is None else labour_supply
    if ls is None:
        return None
    if isinstance(ls, pd.DataFrame):
        if ls.shape[0] != T:
            raise ShapeError(f"{what} as a DataFrame needs one row per period (T={T}), got {ls.shape[0]}")
        cols = np.stack([_align(economy, row, what) for _, row in ls.iterrows()])
        _check_positive(cols, what, positive)
        return cols
    if isinstance(ls, (pd.Series, Mapping)):
        return np.broadcast_to(kind_vector(economy, ls, what, positive=positive), (T, m)).copy()
    arr = _numbers(ls, what)
    if arr.ndim == 0:
        if m != 1:
            raise ShapeError(f"{what} needs one number per labour kind ({m}): give an array or a Series by "
                             f"labour kind name {list(economy.labour_names)}")
        arr = np.full((T, 1), float(arr))
    elif arr.ndim == 1:
        if arr.shape == (m,):
            arr = np.broadcast_to(arr, (T, m)).copy()
        elif m == 1 and arr.shape == (T,):
            arr = arr[:, None].copy()
        else:
            raise ShapeError(f"{what} must have shape ({m},) or (T={T}, {m}), got {arr.shape}")
    elif arr.shape != (T, m):
        raise ShapeError(f"{what} must have shape ({m},) or (T={T}, {m}), got {arr.shape}")
    _check_positive(arr, what, positive)
    return arr
