"""The packaged BEA tables and the public loaders built on them (the embedded default economy).

:mod:`bigplan.io.bea` parses and derives; this module reads the packaged (or a given folder's) tables once per
level, caches what is derived from them, and hands out read-only copies: :func:`bea_economy`,
:func:`bea_final_demand` (with the margins kept apart or shared out), :func:`bea_product_names`,
:func:`default_economy` and :func:`default_final_demand`.
"""

from __future__ import annotations

import functools
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InvalidOptionError, MissingFileError
from .bea import (
    BEA_LABOUR_UNIT,
    BEA_LEVELS,
    BEATables,
    PathLike,
    final_demand_table,
    read_bea_tables,
    technical_coefficients,
)
from .margins import distribute_margins

if TYPE_CHECKING:
    from ..economy import Economy

__all__ = ["bea_tables", "bea_economy", "bea_final_demand", "bea_product_names", "default_economy",
           "default_final_demand"]


# --------------------------------------------------------------------------- packaged data


def _check_level(level: int) -> int:
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)):
        raise InvalidOptionError(f"level must be an integer ({' or '.join(map(str, BEA_LEVELS))}), got {level!r}")
    return int(level)


def _read_level(level: int, path: PathLike | None) -> BEATables:
    names = (f"use_{level}.csv", f"make_{level}.csv")
    if path is not None:
        folder = Path(path)
        if not folder.is_dir():
            raise MissingFileError(f"no folder {folder} (expected one holding {names[0]} and {names[1]})")
        return read_bea_tables(folder / names[0], folder / names[1])
    if level not in BEA_LEVELS:
        raise InvalidOptionError(f"no packaged BEA tables at level {level}; choose one of {BEA_LEVELS}")
    base = resources.files("bigplan") / "data" / "bea"
    with ExitStack() as stack:
        files = [stack.enter_context(resources.as_file(base / n)) for n in names]
        return read_bea_tables(*files)


@dataclass(frozen=True)
class _Derived:
    tables: BEATables
    A: np.ndarray
    labour: np.ndarray
    labels: pd.Index
    names: pd.Series
    final_demand: pd.DataFrame


def _derive(tables: BEATables) -> _Derived:
    A, labour, labels = technical_coefficients(tables)
    A.flags.writeable = False
    labour.flags.writeable = False
    labels = pd.Index(labels, name="product")
    names = tables.commodity_names.loc[labels].rename("name")
    names.index.name = "product"
    fd = final_demand_table(tables)
    fd.index.name = "product"
    return _Derived(tables, A, labour, labels, names, fd)


@functools.lru_cache(maxsize=len(BEA_LEVELS))
def _packaged(level: int) -> _Derived:
    return _derive(_read_level(level, None))


def _derived(level: int, path: PathLike | None) -> _Derived:
    level = _check_level(level)
    return _packaged(level) if path is None else _derive(_read_level(level, path))


def bea_tables(level: int = 71, *, path: PathLike | None = None) -> BEATables:
    """The parsed BEA tables at one level of detail (a private copy).

    Parameters
    ----------
    level : {71, 15}
        Products (commodities) of the tables.
    path : str or os.PathLike, optional
        Folder holding ``use_{level}.csv`` and ``make_{level}.csv``; default: the packaged tables.

    Returns
    -------
    BEATables
    """
    return _derived(level, path).tables.copy()


def bea_economy(level: int = 71, *, path: PathLike | None = None) -> "Economy":
    """The BEA 2021 economy: commodity-by-commodity coefficients and labour.

    Parameters
    ----------
    level : {71, 15}
        Products of the economy: 71 commodities (default) or 15 sectors.
    path : str or os.PathLike, optional
        Folder holding ``use_{level}.csv`` and ``make_{level}.csv``; default: the packaged tables.

    Returns
    -------
    Economy
        ``A`` as in :func:`technical_coefficients`, one labour row
        ``"compensation"`` (dollars of compensation of employees per dollar of
        output), labels the BEA commodity codes (names: :func:`bea_product_names`).
        The BEA tables give no hours or persons: labour is measured in money,
        ``labour_units == (BEA_LABOUR_UNIT,)`` = ``("million USD (compensation of employees)",)``,
        and reports print that unit.

    Examples
    --------
    >>> from bigplan.io import bea_economy
    >>> e = bea_economy()
    >>> e.n, e.labels[0]
    (71, '111CA')
    """
    from ..economy import Economy

    d = _derived(level, path)
    return Economy(np.array(d.A), labour=np.array(d.labour), labels=d.labels, labour_names=["compensation"],
                   labour_units=BEA_LABOUR_UNIT)


def bea_final_demand(level: int = 71, *, path: PathLike | None = None, margins: str = "separate") -> pd.DataFrame:
    """2021 final demand of the BEA economy, products x categories (millions of USD).

    Columns are :data:`FINAL_DEMAND_CATEGORIES`; the row sums are the total
    final demand that reproduces the published domestic output
    (``(I - A)^-1 y = q``).  Rows are labelled like :func:`bea_economy`.

    Parameters
    ----------
    level : {71, 15}
    path : str or os.PathLike, optional
        Folder with ``use_{level}.csv`` and ``make_{level}.csv``; default: the packaged tables.
    margins : {"separate", "distribute"}
        ``"separate"``: trade and transport margins and net taxes in their own column
        ``margins_and_taxes``; ``"distribute"``: every category carries its share of it (no such
        column), so ``consumption`` alone is a complete plan that buys retail, wholesale and
        transport with its goods (:func:`bigplan.io.margins.distribute_margins`).

    Returns
    -------
    pandas.DataFrame
        A fresh copy; modifying it does not affect later calls.
    """
    if margins not in ("separate", "distribute"):
        raise InvalidOptionError(f"margins must be 'separate' or 'distribute', got {margins!r}")
    fd = _derived(level, path).final_demand.copy(deep=True)
    return distribute_margins(fd) if margins == "distribute" else fd


def bea_product_names(level: int = 71, *, path: PathLike | None = None) -> pd.Series:
    """BEA names of the products of :func:`bea_economy`, indexed by code.

    Parameters
    ----------
    level : {71, 15}
    path : str or os.PathLike, optional

    Returns
    -------
    pandas.Series
        A fresh copy, e.g. ``names["111CA"] == "Farms"``.
    """
    return _derived(level, path).names.copy(deep=True)


def default_economy() -> "Economy":
    """The packaged 71-product BEA 2021 economy, ``bea_economy(71)``."""
    return bea_economy(71)


def default_final_demand() -> pd.DataFrame:
    """Final demand of the default economy by category, ``bea_final_demand(71)``."""
    return bea_final_demand(71)
