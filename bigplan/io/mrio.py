"""Multi-regional input-output systems saved by pymrio (EXIOBASE, Eora, OECD ICIO, pymrio's test MRIO).

:func:`read_pymrio` reads a folder written by ``IOSystem.save_all`` (text or parquet) without needing
pymrio, or takes an ``IOSystem`` in memory; :func:`to_pymrio` builds an ``IOSystem`` from an economy
(pymrio is then required: ``pip install 'bigplan[pymrio]'``).

Mapping
-------
* products: pymrio's ``(region, sector)`` rows -> the economy's labels, a MultiIndex.
* ``A`` (or ``Z / x`` when ``A`` was not saved) -> the technical coefficients.
* ``Y`` -> :attr:`PymrioSystem.final_demand`, products x ``(region, category)``: each final-demand category
  of each region is a plan.
* extensions (``F`` / ``S`` with ``unit``) -> labour kinds (primary inputs) named
  ``"<extension>: <row>"`` with their units, e.g. employment in persons or hours.  ``S`` (or ``F / x``)
  is the coefficient per unit of output, so bigplan's labour values of a kind equal pymrio's multipliers
  ``M = S L`` of that row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..economy import Economy
from ..errors import (
    DataFileError,
    InvalidEconomyError,
    LabelError,
    MissingDependencyError,
    MissingFileError,
    NotProductiveError,
    ShapeError,
    UnitsError,
)
from ._common import named_error

__all__ = ["PymrioSystem", "read_pymrio", "to_pymrio"]


@dataclass(frozen=True, eq=False)
class PymrioSystem:
    """An MRIO read from pymrio.

    Attributes
    ----------
    economy : Economy
        Labels: MultiIndex ``(region, sector)``; labour: the selected extension rows, with units.
    final_demand : pandas.DataFrame
        Products x ``(region, category)`` plans (pymrio's ``Y``).
    output : pandas.Series or None
        Gross output ``x`` as saved (None when the folder has no ``x``).
    extensions : dict of str -> pandas.DataFrame
        Every extension's coefficients ``S`` (rows x products), selected or not.
    units : pandas.Series or None
        Unit of each product (pymrio's ``unit``).
    notes : tuple of str
        What was left out of the labour rows and why.
    source : str
    """

    economy: Economy
    final_demand: pd.DataFrame
    output: pd.Series | None
    extensions: dict = field(default_factory=dict)
    units: pd.Series | None = None
    notes: tuple = ()
    source: str = ""

    def __repr__(self) -> str:
        return (f"<PymrioSystem {self.source!r}: {self.economy.n} products, {self.final_demand.shape[1]} "
                f"final-demand plans, labour kinds {list(self.economy.labour_names or ())}>")


# --------------------------------------------------------------------------- folder parsing


def _params(folder: Path) -> dict:
    f = folder / "file_parameters.json"
    if not f.is_file():
        raise MissingFileError(f"{folder}: no file_parameters.json; not a folder written by pymrio's save_all")
    try:
        par = json.loads(f.read_text())
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise DataFileError(f"{f}: not valid JSON ({exc}); save the system again with pymrio", path=f) from exc
    if not isinstance(par, dict) or not isinstance(par.get("files"), dict):
        raise DataFileError(f"{f}: no 'files' table; not a pymrio file_parameters.json", path=f)
    return par


def _read_part(folder: Path, par: dict, key: str) -> pd.DataFrame | None:
    spec = par["files"].get(key)
    if spec is None:
        return None
    try:
        name = spec["name"]
        nidx, nhdr = int(spec.get("nr_index_col", 1)), int(spec.get("nr_header", 1))
    except (KeyError, TypeError, ValueError) as exc:
        raise DataFileError(f"{folder / 'file_parameters.json'}: entry {key!r} is malformed ({exc})",
                            path=folder / "file_parameters.json") from exc
    f = folder / str(name)
    if not f.is_file():
        raise MissingFileError(f"{f}: listed in file_parameters.json as {key!r} but missing; save the system again")
    try:
        if f.suffix.lower() == ".parquet":
            df = pd.read_parquet(f)
        else:
            df = pd.read_csv(f, sep="\t", index_col=list(range(nidx)), header=list(range(nhdr)))
    except Exception as exc:  # noqa: BLE001 - any parser failure is a damaged file
        raise DataFileError(f"{f}: cannot read pymrio table {key!r} ({type(exc).__name__}: {str(exc)[:200]}); "
                            "the file may be truncated: save the system again", path=f) from exc
    try:
        return df.apply(pd.to_numeric) if key != "unit" else df
    except (ValueError, TypeError) as exc:
        raise DataFileError(f"{f}: table {key!r} holds non-numeric entries ({str(exc)[:200]})", path=f) from exc


class _Ext:
    def __init__(self, name, F=None, S=None, unit=None, where=""):
        self.name, self.F, self.S, self.unit, self.where = name, F, S, unit, where


def _from_folder(folder: Path) -> tuple[dict, list, str]:
    par = _params(folder)
    parts = {k: _read_part(folder, par, k) for k in ("Z", "A", "Y", "x", "unit")}
    exts = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if not (sub / "file_parameters.json").is_file():
            continue
        sp_ = _params(sub)
        if sp_.get("systemtype", "Extension") != "Extension":
            continue
        exts.append(_Ext(str(sp_.get("name", sub.name)), _read_part(sub, sp_, "F"), _read_part(sub, sp_, "S"),
                         _read_part(sub, sp_, "unit"), str(sub)))
    return parts, exts, str(folder)


def _from_iosystem(io: Any) -> tuple[dict, list, str]:
    parts = {k: getattr(io, k, None) for k in ("Z", "A", "Y", "x", "unit")}
    exts = [_Ext(str(e.name), getattr(e, "F", None), getattr(e, "S", None), getattr(e, "unit", None),
                 f"extension {e.name!r}") for e in io.get_extensions(data=True)]
    return parts, exts, f"IOSystem {getattr(io, 'name', '')!r}"


# --------------------------------------------------------------------------- reading


def _row_name(ext: str, row) -> str:
    return f"{ext}: " + (" / ".join(map(str, row)) if isinstance(row, tuple) else str(row))


def read_pymrio(source: Any, *, labour: Any = "auto", check: bool = True) -> PymrioSystem:
    """Read a pymrio system: a ``save_all`` folder (text or parquet) or a ``pymrio.IOSystem``.

    Parameters
    ----------
    source : str, os.PathLike or pymrio.IOSystem
    labour : "auto", str, list of (extension, row) or None
        Extension rows that become labour kinds (primary inputs): ``"auto"`` every row with no negative
        coefficient (rows with negatives, e.g. an operating surplus, stay in :attr:`~PymrioSystem.extensions`
        and are listed in ``notes``); an extension name: its rows; a list of ``(extension, row)``; None: none.
    check : bool
        Certify productivity.

    Returns
    -------
    PymrioSystem

    Raises
    ------
    MissingFileError, DataFileError, LabelError, ShapeError, UnitsError, InvalidEconomyError
    """
    if isinstance(source, (str, Path)):
        p = Path(source)
        if not p.exists():
            raise MissingFileError(f"pymrio folder not found: {p}")
        if not p.is_dir():
            raise DataFileError(f"{p}: a pymrio system is a folder written by save_all, not a file", path=p)
        parts, exts, where = _from_folder(p)
    elif hasattr(source, "get_extensions") and hasattr(source, "Y"):
        parts, exts, where = _from_iosystem(source)
    else:
        raise TypeError(f"source must be a folder path or a pymrio.IOSystem, got {type(source).__name__}")
    Z, A, Y, x = parts["Z"], parts["A"], parts["Y"], parts["x"]
    if Y is None or (A is None and Z is None):
        raise DataFileError(f"{where}: a pymrio system needs Y and A or Z; save it with IOSystem.save_all",
                            path=where)
    base = A if A is not None else Z
    if base.shape[0] != base.shape[1] or not base.index.equals(base.columns):
        raise ShapeError(f"{where}: {'A' if A is not None else 'Z'} must be square with the same (region, sector) "
                         f"rows and columns, got shape {base.shape}")
    labels = base.index
    if not labels.is_unique:
        raise LabelError(f"{where}: duplicated (region, sector) labels {labels[labels.duplicated()][:3].tolist()}")
    if not Y.index.equals(labels):
        raise LabelError(f"{where}: the rows of Y do not match the products of {'A' if A is not None else 'Z'}; "
                         "save the system again")
    if x is not None:
        x = x.iloc[:, 0] if isinstance(x, pd.DataFrame) else x
        if not x.index.equals(labels):
            raise LabelError(f"{where}: the rows of x do not match the products")
    if A is None:
        xs = x if x is not None else Z.sum(axis=1) + Y.sum(axis=1)
        xv = xs.to_numpy(dtype=float)
        A = Z / np.where(xv == 0, 1.0, xv)[None, :]
    else:
        xv = None if x is None else x.to_numpy(dtype=float)
    S_all, rows, names, units, notes = {}, [], [], [], []
    for e in exts:
        S = e.S
        if S is None and e.F is not None:
            if xv is None:
                xv = np.linalg.solve(np.eye(len(labels)) - A.to_numpy(dtype=float), Y.to_numpy().sum(axis=1))
            S = e.F / np.where(xv == 0, 1.0, xv)[None, :]
        if S is None:
            notes.append(f"extension {e.name!r} has neither S nor F; left out")
            continue
        if not S.columns.equals(labels):
            raise LabelError(f"{e.where}: the columns of S/F of extension {e.name!r} do not match the products")
        S_all[e.name] = S
        unit = e.unit
        for row in S.index:
            pick = _picked(labour, e.name, row)
            vals = S.loc[[row]].to_numpy(dtype=float)[0]
            if not pick:
                continue
            if labour == "auto" and (vals < 0).any():
                notes.append(f"{_row_name(e.name, row)} has negative coefficients; left out of labour "
                             "(pass labour=[(extension, row), ...] to choose rows)")
                continue
            if unit is None or row not in unit.index:
                raise UnitsError(f"{e.where}: no unit for row {row!r} of extension {e.name!r}; the unit table must "
                                 "list every row")
            u = unit.loc[row]
            u = str(u.iloc[0]) if isinstance(u, pd.Series) else str(u)
            rows.append(vals)
            names.append(_row_name(e.name, row))
            units.append(u)
    if isinstance(labour, list):
        missing = [t for t in labour if _row_name(*t) not in names]
        if missing:
            raise LabelError(f"{where}: extension rows {missing} not found; available: "
                             f"{[_row_name(k, r) for k, S in S_all.items() for r in S.index][:10]}")
    Av = A.to_numpy(dtype=float)
    try:
        economy = Economy.adopt(sp.csr_matrix(Av), np.array(rows) if rows else None, labels=labels,
                          labour_names=names or None, labour_units=units or None, check=check)
    except NotProductiveError:
        raise
    except (InvalidEconomyError, ShapeError, LabelError) as exc:
        raise named_error(exc, where) from exc
    unit_s = None
    if parts["unit"] is not None:
        u = parts["unit"]
        unit_s = (u.iloc[:, 0] if isinstance(u, pd.DataFrame) else u).astype(str)
    return PymrioSystem(economy=economy, final_demand=Y.astype(float).copy(),
                        output=None if x is None else x.astype(float).copy(), extensions=S_all, units=unit_s,
                        notes=tuple(notes), source=where)


def _picked(labour, ext: str, row) -> bool:
    if labour is None:
        return False
    if labour == "auto":
        return True
    if isinstance(labour, str):
        return labour == ext
    if isinstance(labour, list):
        return any(tuple(t) == (ext, row) or (len(t) == 2 and t[0] == ext and t[1] == row) for t in labour)
    raise TypeError(f"labour must be 'auto', an extension name, a list of (extension, row) or None, got {labour!r}")


# --------------------------------------------------------------------------- writing


def to_pymrio(economy: Economy, final_demand: pd.DataFrame | pd.Series | None = None, *, name: str = "bigplan"):
    """A ``pymrio.IOSystem`` with ``A``, ``Y`` and the labour rows as the extension ``"labour"``.

    Parameters
    ----------
    economy : Economy
        Labels should be a ``(region, sector)`` MultiIndex; flat labels get the region ``"all"``.
    final_demand : pandas.DataFrame or Series, optional
        Products x plans (plans may be ``(region, category)`` columns).  Default: one zero column.
    name : str

    Returns
    -------
    pymrio.IOSystem
        Call ``calc_all()`` on it for ``x``, ``Z``, ``L`` and the multipliers.

    Raises
    ------
    MissingDependencyError
        pymrio is not installed.
    """
    try:
        import pymrio
    except ImportError as exc:
        raise MissingDependencyError("to_pymrio needs pymrio: pip install 'bigplan[pymrio]'") from exc
    labels = economy.labels if economy.labels is not None else pd.RangeIndex(economy.n)
    if isinstance(labels, pd.MultiIndex) and labels.nlevels == 2:
        idx = labels.set_names(["region", "sector"])
    else:
        idx = pd.MultiIndex.from_arrays([["all"] * economy.n, [str(v) for v in labels]], names=["region", "sector"])
    if final_demand is None:
        Yv, cols = np.zeros((economy.n, 1)), [("all", "final demand")]
    else:
        fd = final_demand.to_frame() if isinstance(final_demand, pd.Series) else final_demand
        if len(fd) != economy.n or (economy.labels is not None and not fd.index.equals(economy.labels)):
            raise LabelError("final_demand must be indexed by the economy's labels (read it with read_plans)")
        Yv = fd.to_numpy(dtype=float)
        cols = [c if isinstance(c, tuple) and len(c) == 2 else ("all", str(c)) for c in fd.columns]
    Y = pd.DataFrame(Yv, index=idx, columns=pd.MultiIndex.from_tuples(cols, names=["region", "category"]))
    A = pd.DataFrame(economy.A.toarray(), index=idx, columns=idx)
    io = pymrio.IOSystem(A=A, Y=Y, name=name)
    if economy.labour is not None:
        rows = pd.Index(list(economy.labour_names), name="stressor")
        S = pd.DataFrame(np.asarray(economy.labour, dtype=float), index=rows, columns=idx)
        unit = pd.DataFrame({"unit": list(economy.labour_units) if economy.labour_units else ["unstated"] * len(rows)},
                            index=rows)
        io.labour = pymrio.Extension(name="labour", S=S, unit=unit)
    return io
