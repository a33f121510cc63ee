"""One entry point for economies on disk: :func:`read_economy`, :func:`load`, :func:`save`, economy folders.

An *economy folder* (written by :func:`write_economy_folder`) holds one file per part, each optional but
``A``: ``A.parquet`` (triplets) or ``A.mtx``/``A.mtx.gz``/``A.csv``; ``labels.parquet``/``.csv``;
``labour.parquet``/``.csv`` (products x kinds); ``capital.parquet`` (triplets); ``capacity``, ``stocks``,
``depreciation`` (``product, value``); and ``economy.json`` with ``{"format": "bigplan-economy-folder",
"version": 1, "labour_units": [...], "labour_supply": [...]}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from .._econfile import read_economy_file
from ..economy import Economy
from ..errors import (
    DataFileError,
    InvalidEconomyError,
    LabelError,
    MissingFileError,
    NotProductiveError,
    OutputExistsError,
    ShapeError,
    UnitsError,
)
from ._common import (
    CSV_SUFFIXES,
    MTX_SUFFIXES,
    PARQUET_SUFFIXES,
    PathLike,
    atomic_write,
    named_error,
    suffix,
)
from .matrix import read_matrix_market, read_triplets, sidecar_labels, write_triplets
from .tables import (
    read_labels,
    read_labour,
    read_square,
    read_vector,
    write_labels,
    write_table,
)

__all__ = ["load", "save", "read_economy", "write_economy_folder", "is_pymrio_folder"]

FOLDER_FORMAT = "bigplan-economy-folder"
FOLDER_VERSION = 1
_PARTS = ("A", "labels", "labour", "capital", "capacity", "stocks", "depreciation")


def load(path: PathLike, *, check: bool = True) -> Economy:
    """Read an economy written by :meth:`Economy.save` (``.npz``, format in :mod:`bigplan._econfile`).

    Parameters
    ----------
    path : str or os.PathLike
    check : bool, default True
        Certify productivity again (the file carries no certificate, so a damaged or edited file cannot
        pass as productive).

    Returns
    -------
    Economy

    Raises
    ------
    MissingFileError, DataFileError, NotProductiveError
    """
    kwargs = read_economy_file(path)
    A = kwargs.pop("A")
    labour = kwargs.pop("labour", None)
    return _build(path, A, labour, check=check, **kwargs)


def save(economy: Economy, path: PathLike, *, overwrite: bool = True, compress: bool = False) -> Path:
    """Write ``economy`` to one file; the same as :meth:`Economy.save`."""
    return economy.save(path, overwrite=overwrite, compress=compress)


def _build(path, A, labour, **kwargs) -> Economy:
    """``Economy(...)`` whose validation errors name the file they came from."""
    try:
        return Economy.adopt(A, labour, **kwargs)
    except NotProductiveError as exc:
        raise NotProductiveError(f"{path}: {exc}", spectral_radius=exc.spectral_radius, sectors=exc.sectors) from exc
    except (InvalidEconomyError, ShapeError, LabelError) as exc:
        raise named_error(exc, path) from exc


def is_pymrio_folder(path: PathLike) -> bool:
    """True for a folder written by pymrio's ``save_all`` (it holds ``file_parameters.json``)."""
    p = Path(path)
    return p.is_dir() and (p / "file_parameters.json").is_file()


def _matrix_file(p: Path, layout, labels, dtype):
    """(csr, labels or None) from one matrix file, by suffix."""
    s = suffix(p)
    if s in MTX_SUFFIXES:
        return read_matrix_market(p, dtype=dtype), labels
    if s in PARQUET_SUFFIXES and layout != "long" and _integer_triplets(p):
        return read_triplets(p, n=None if labels is None else len(labels), dtype=dtype), labels
    if s in PARQUET_SUFFIXES + CSV_SUFFIXES:
        A, labs = read_square(p, layout=layout, labels=labels)
        return A.astype(dtype), labs
    raise DataFileError(f"{p}: unknown economy format {s!r}; use .npz, .mtx, .mtx.gz, .parquet, .csv, a pymrio "
                        "folder or an economy folder", path=p)


def _integer_triplets(p: Path) -> bool:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(p)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataFileError(f"{p}: not a readable parquet file ({str(exc)[:200]}); it may be truncated", path=p) from exc
    names = schema.names
    return "row" in names and "col" in names and pa.types.is_integer(schema.field("row").type)


def _labels_of(labels, path: Path | None) -> pd.Index | None:
    if labels is None:
        side = sidecar_labels(path) if path is not None else None
        return read_labels(side) if side is not None else None
    if isinstance(labels, (str, Path)):
        return read_labels(labels)
    return labels if isinstance(labels, pd.Index) else pd.Index(list(labels))


def read_economy(
    path: PathLike,
    *,
    labels: Any = None,
    labour: Any = None,
    labour_names: Any = None,
    labour_units: Any = None,
    capital: Any = None,
    depreciation: Any = None,
    capacity: Any = None,
    stocks: Any = None,
    labour_supply: Any = None,
    layout: str | None = None,
    check: bool = True,
    dtype: Any = np.float64,
) -> Economy:
    """Read an economy from any supported format, chosen by suffix or folder.

    Parameters
    ----------
    path : str or os.PathLike
        ``*.npz`` (one-file economy, :meth:`Economy.save`); a pymrio ``save_all`` folder (text or parquet);
        an economy folder (:func:`write_economy_folder`); ``*.mtx``/``*.mtx.gz`` (Matrix Market);
        ``*.parquet`` (triplets ``row, col, value`` with integer positions, or a dense/long table);
        ``*.csv``/``*.tsv``/``*.csv.gz`` (dense, or long ``row, col, value``).
    labels : path, sequence or pandas.Index, optional
        Product labels.  Default for matrix files: ``<stem>.labels.parquet`` or ``<stem>.labels.csv`` beside
        the file when present; for tables: the table's own labels.
    labour, capital, capacity, stocks, depreciation : path or array-like, optional
        Extra parts: a file (CSV/parquet tables aligned by label, triplets or Matrix Market for ``capital``) or
        what :class:`Economy` accepts.  For ``.npz`` and pymrio they replace the file's parts.
    labour_names, labour_units, labour_supply : optional
        As in :class:`Economy`.  ``labour_units`` that disagree with units recorded in the file raise
        :class:`~bigplan.errors.UnitsError`.
    layout : {None, "dense", "long"}
        Layout of a CSV/parquet ``A`` (None: detected).
    check : bool
        Certify productivity.
    dtype : numpy dtype
        float64 or float32 coefficients.

    Returns
    -------
    Economy

    Raises
    ------
    MissingFileError, DataFileError, LabelError, ShapeError, UnitsError, InvalidEconomyError

    Examples
    --------
    >>> import numpy as np, tempfile, os, bigplan
    >>> from bigplan.io import read_economy, write_triplets
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labels=["grain", "iron"])
    >>> f = write_triplets(e, os.path.join(tempfile.mkdtemp(), "A.parquet"))
    >>> back = read_economy(f)
    >>> list(back.labels), back.A.toarray().tolist() == e.A.toarray().tolist()
    (['grain', 'iron'], True)
    """
    p = Path(path)
    if not p.exists():
        raise MissingFileError(f"economy not found: {p} (check the path)")
    extras = dict(labour=labour, capital=capital, depreciation=depreciation, capacity=capacity, stocks=stocks)
    if p.is_dir() and is_pymrio_folder(p):
        from .mrio import read_pymrio

        base = read_pymrio(p, check=check).economy
        return _override(base, p, extras, labels, labour_names, labour_units, labour_supply, check)
    if p.is_dir():
        return _read_folder(p, extras, labels, labour_names, labour_units, labour_supply, layout, check, dtype)
    if suffix(p) == ".npz":
        return _override(load(p, check=check), p, extras, labels, labour_names, labour_units, labour_supply, check)
    labs = _labels_of(labels, p)
    A, labs = _matrix_file(p, layout, labs, dtype)
    return _assemble(p, A, labs, extras, labour_names, labour_units, labour_supply, check, dtype)


def _resolve(extras: dict, shell, dtype) -> dict:
    """Turn path-valued parts into arrays aligned to ``shell`` (an object with ``n`` and ``labels``)."""
    out = {}
    for key, v in extras.items():
        if not isinstance(v, (str, Path)):
            out[key] = v
            continue
        if key == "labour":
            lab, names = read_labour(v, shell)
            out["labour"], out["_labour_names"] = lab, names
        elif key == "capital":
            out["capital"], _ = _matrix_file(Path(v), None, shell.labels, dtype)
        else:
            out[key] = read_vector(v, shell, key)
    return out


def _check_units(path, recorded, given) -> None:
    if given is None or recorded is None:
        return
    g = (given,) * len(recorded) if isinstance(given, str) else tuple(given)
    if tuple(g) != tuple(recorded):
        raise UnitsError(f"{path}: labour units {list(recorded)} are recorded in the file, {list(g)} were given; "
                         "drop labour_units= or convert the labour coefficients first")


def _assemble(p, A, labels, extras, labour_names, labour_units, labour_supply, check, dtype) -> Economy:
    shell = SimpleNamespace(n=A.shape[0], labels=labels)
    if A.shape[0] != A.shape[1]:
        raise ShapeError(f"{p}: A must be square (products x products), got shape {A.shape}")
    if labels is not None and len(labels) != A.shape[0]:
        raise LabelError(f"{p}: {len(labels)} labels for {A.shape[0]} products; give one label per product")
    parts = _resolve(extras, shell, dtype)
    names = labour_names if labour_names is not None else parts.pop("_labour_names", None)
    parts.pop("_labour_names", None)
    labour = parts.pop("labour")
    return _build(p, A, labour, labels=labels, labour_names=names, labour_units=labour_units,
                  labour_supply=labour_supply, check=check, dtype=dtype, **parts)


def _override(base: Economy, p, extras, labels, labour_names, labour_units, labour_supply, check) -> Economy:
    if labels is not None:
        raise LabelError(f"{p}: the file carries its own labels; do not pass labels=")
    parts = {k: v for k, v in _resolve(extras, base, base.dtype).items() if v is not None}
    if labour_units is not None and "labour" not in parts:
        _check_units(p, base.labour_units, labour_units)
    names = parts.pop("_labour_names", None)
    if labour_names is not None:
        parts["labour_names"] = labour_names
    elif names is not None:
        parts["labour_names"] = names
    if labour_units is not None:
        parts["labour_units"] = labour_units
    if labour_supply is not None:
        parts["labour_supply"] = labour_supply
    if not parts:
        return base
    try:
        return base.with_changes(check=check, **parts)
    except NotProductiveError:
        raise
    except (InvalidEconomyError, ShapeError, LabelError) as exc:
        raise named_error(exc, p) from exc


def _part(folder: Path, name: str) -> Path | None:
    for s in (".parquet", ".csv", ".mtx", ".mtx.gz", ".tsv", ".csv.gz"):
        f = folder / f"{name}{s}"
        if f.is_file():
            return f
    return None


def _read_folder(p, extras, labels, labour_names, labour_units, labour_supply, layout, check, dtype) -> Economy:
    meta_file = p / "economy.json"
    meta: dict = {}
    if meta_file.is_file():
        try:
            meta = json.loads(meta_file.read_text())
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            raise DataFileError(f"{meta_file}: not valid JSON ({exc}); write the folder again", path=meta_file) from exc
        if not isinstance(meta, dict) or meta.get("format") != FOLDER_FORMAT:
            raise DataFileError(f"{meta_file}: not a bigplan economy folder description", path=meta_file)
        if not isinstance(meta.get("version"), int) or meta["version"] > FOLDER_VERSION:
            raise DataFileError(f"{meta_file}: folder format version {meta.get('version')!r}; this bigplan reads "
                                f"1..{FOLDER_VERSION}: upgrade bigplan", path=meta_file)
    a_file = _part(p, "A")
    if a_file is None:
        raise MissingFileError(f"{p}: no A.parquet, A.mtx, A.mtx.gz or A.csv in the folder; an economy folder "
                               "needs its technical coefficients")
    if labels is None and _part(p, "labels") is not None:
        labels = _part(p, "labels")
    labs = _labels_of(labels, None)
    A, labs = _matrix_file(a_file, layout, labs, dtype)
    for key in ("labour", "capital", "capacity", "stocks", "depreciation"):
        if extras[key] is None:
            extras[key] = _part(p, key)
    recorded = meta.get("labour_units")
    _check_units(meta_file, recorded, labour_units)
    units = labour_units if labour_units is not None else recorded
    supply = labour_supply if labour_supply is not None else meta.get("labour_supply")
    return _assemble(a_file, A, labs, extras, labour_names, units, supply, check, dtype)


def write_economy_folder(economy: Economy, folder: PathLike, *, overwrite: bool = False) -> Path:
    """Write ``economy`` as a folder of parquet files (see the module notes); each file atomic.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    f = Path(folder)
    if f.exists() and not overwrite and any(f.iterdir()):
        raise OutputExistsError(f"{f} exists and is not empty; pass overwrite=True to replace its files")
    f.mkdir(parents=True, exist_ok=True)
    write_triplets(economy.A, f / "A.parquet", labels=False, overwrite=True)
    index = economy.labels if economy.labels is not None else pd.RangeIndex(economy.n, name="product")
    if economy.labels is not None:
        write_labels(economy.labels, f / "labels.parquet", overwrite=True)
    levels = _level_frame(index)
    if economy.labour is not None:
        df = levels.assign(**{nm: economy.labour[i] for i, nm in enumerate(economy.labour_names)})
        write_table(df, f / "labour.parquet", overwrite=True, index=False)
    if economy.capital is not None:
        write_triplets(economy.capital, f / "capital.parquet", labels=False, overwrite=True)
    for key in ("capacity", "stocks", "depreciation"):
        v = getattr(economy, key)
        if v is not None:
            write_table(levels.assign(value=np.broadcast_to(v, (economy.n,))), f / f"{key}.parquet",
                        overwrite=True, index=False)
    meta = {"format": FOLDER_FORMAT, "version": FOLDER_VERSION,
            "labour_units": list(economy.labour_units) if economy.labour_units else None,
            "labour_supply": None if economy.labour_supply is None else economy.labour_supply.tolist()}
    atomic_write(f / "economy.json", lambda fh: fh.write(json.dumps(meta, indent=1).encode()))
    return f


def _level_frame(index: pd.Index) -> pd.DataFrame:
    if isinstance(index, pd.MultiIndex):
        return pd.DataFrame({(n or f"level_{k}"): index.get_level_values(k).to_numpy()
                             for k, n in enumerate(index.names)})
    return pd.DataFrame({index.name or "product": index.to_numpy()})

