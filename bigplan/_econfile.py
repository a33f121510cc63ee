"""One file per economy: the array-level writer and reader behind :meth:`Economy.save` and :func:`bigplan.io.load`.

The format is a NumPy ``.npz`` archive (a ZIP of ``.npy`` arrays, readable by any NumPy, and by
any language with a ZIP and ``.npy`` reader) that holds no pickled objects: it is read with
``numpy.load(path, allow_pickle=False)``.  Arrays, by key (``n`` products, ``m`` labour kinds):

===========================  ==================================  =========================================
key                          array                               meaning
===========================  ==================================  =========================================
``format``                   str, ``"bigplan-economy"``          identifies the file
``format_version``           int64 scalar                        :data:`FORMAT_VERSION` (now 1)
``n``                        int64 scalar                        number of products
``A_data``                   float64 or float32 ``(nnz,)``       technical coefficients ``A`` in CSR:
``A_indices``                int32 or int64 ``(nnz,)``           ``A[i, A_indices[k]] = A_data[k]`` for
``A_indptr``                 int32 or int64 ``(n + 1,)``         ``A_indptr[i] <= k < A_indptr[i + 1]``
``labels_nlevels``           int64 scalar, optional              1 for an Index, L for a MultiIndex
``labels_<k>``               ``(n,)`` str or numeric, optional   values of level ``k`` of the product labels
``labels_dtypes``            str ``(L,)``                        pandas dtype of each level (``"str"``,
                                                                 ``"object"`` (all strings), ``"int64"``...)
``labels_names``             str ``(L,)``, ``labels_named``      level names, and whether each is set
                             bool ``(L,)``
``labour``                   ``(m, n)``, optional                labour coefficients
``labour_names``             str ``(m,)``                        names of the labour rows
``labour_units``             str ``(m,)``, optional              unit of each labour row
``B_data/B_indices/B_indptr``  CSR, optional                     capital coefficients ``B``
``depreciation``             float64 ``(n,)``, optional          replacement rates
``capacity``, ``stocks``     float64 ``(n,)``, optional          initial conditions
``labour_supply``            float64 ``(m,)``, optional          labour available per period
===========================  ==================================  =========================================

Strings are NumPy unicode arrays (``<U``): a string label that ends in a NUL character cannot
be stored exactly and is refused.  Writes are atomic: a temporary file in the same folder,
flushed and fsync'ed, then renamed over the target.  A reader of a newer ``format_version``
refuses the file rather than guess.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._atomic import atomic_write
from .errors import DataFileError, InsufficientMemoryError, LabelError, MissingFileError

__all__ = ["FORMAT", "FORMAT_VERSION", "write_economy_file", "read_economy_file", "atomic_write"]

FORMAT = "bigplan-economy"
FORMAT_VERSION = 1

_OPTIONAL_VECTORS = ("depreciation", "capacity", "stocks", "labour_supply")


# --------------------------------------------------------------------------- labels


def _level_arrays(idx: pd.Index, k: int) -> tuple[np.ndarray, str]:
    dtype = idx.dtype
    where = f"level {k} of the product labels" if k >= 0 else "the product labels"
    if idx.hasnans:
        raise LabelError(f"{where} hold missing values (NaN/None); give every product a label before saving")
    if dtype.kind in "iub" or (dtype.kind == "f"):
        return idx.to_numpy(), str(dtype)
    values = idx.to_numpy(dtype=object)
    if dtype.kind == "O" or isinstance(dtype, pd.StringDtype):
        if not all(type(v) is str for v in values):
            kinds = sorted({type(v).__name__ for v in values})
            raise LabelError(
                f"{where} mix types {kinds}; only strings, integers, floats or booleans can be saved exactly: "
                "convert them, e.g. labels.astype(str)"
            )
        arr = np.array(values.tolist(), dtype=str) if len(values) else np.zeros(0, dtype="<U1")
        if len(arr) and np.char.str_len(arr).sum() != sum(len(v) for v in values):
            raise LabelError(f"{where} contain strings ending in a NUL character, which the file format cannot keep")
        return arr, str(dtype)
    raise LabelError(
        f"{where} have dtype {dtype}, which cannot be saved exactly; convert them to strings or integers"
    )


def _labels_to_arrays(labels: pd.Index | None) -> dict[str, np.ndarray]:
    if labels is None:
        return {}
    if isinstance(labels, pd.MultiIndex):
        levels = [labels.get_level_values(k) for k in range(labels.nlevels)]
        names = list(labels.names)
        pairs = [_level_arrays(lv, k) for k, lv in enumerate(levels)]
    else:
        names = [labels.name]
        pairs = [_level_arrays(labels, -1)]
    out = {"labels_nlevels": np.int64(len(pairs))}
    for k, (arr, _) in enumerate(pairs):
        out[f"labels_{k}"] = arr
    out["labels_dtypes"] = np.array([d for _, d in pairs], dtype=str)
    for nm in names:
        if nm is not None and not isinstance(nm, str):
            raise LabelError(f"label level names must be strings or None to be saved, got {nm!r}")
    out["labels_names"] = np.array(["" if nm is None else nm for nm in names], dtype=str)
    out["labels_named"] = np.array([nm is not None for nm in names], dtype=bool)
    return out


def _arrays_to_labels(z, path) -> pd.Index | None:
    if "labels_nlevels" not in z:
        return None
    L = int(_scalar(z, "labels_nlevels", path))
    dtypes = _get(z, "labels_dtypes", path)
    names = _get(z, "labels_names", path)
    named = _get(z, "labels_named", path)
    if L < 1 or dtypes.shape != (L,) or names.shape != (L,) or named.shape != (L,):
        raise DataFileError(f"{path}: entry 'labels_*' is inconsistent (levels {L}); the file is damaged", path=path)
    levels = []
    for k in range(L):
        arr = _get(z, f"labels_{k}", path)
        dt = str(dtypes[k])
        try:
            if arr.dtype.kind == "U":
                idx = pd.Index(arr.tolist(), dtype=object if dt == "object" else dt)
            else:
                idx = pd.Index(arr, dtype=dt)
        except (TypeError, ValueError) as exc:
            raise DataFileError(f"{path}: labels level {k} cannot be rebuilt as {dt} ({exc})", path=path) from exc
        levels.append(idx)
    nms = [str(n) if ok else None for n, ok in zip(names.tolist(), named.tolist())]
    if L == 1:
        return levels[0].rename(nms[0])
    return pd.MultiIndex.from_arrays(levels, names=nms)


# --------------------------------------------------------------------------- write


def write_economy_file(
    path: str | os.PathLike,
    *,
    A: sp.csr_matrix,
    labels: pd.Index | None = None,
    labour: np.ndarray | None = None,
    labour_names=None,
    labour_units=None,
    capital: sp.csr_matrix | None = None,
    depreciation=None,
    capacity=None,
    stocks=None,
    labour_supply=None,
    compress: bool = False,
) -> Path:
    """Write one economy's arrays to ``path`` (see the module notes for the format); atomic."""
    arrays: dict[str, Any] = {
        "format": np.array(FORMAT),
        "format_version": np.int64(FORMAT_VERSION),
        "n": np.int64(A.shape[0]),
        "A_data": A.data,
        "A_indices": A.indices,
        "A_indptr": A.indptr,
    }
    arrays.update(_labels_to_arrays(labels))
    if labour is not None:
        arrays["labour"] = np.asarray(labour)
        arrays["labour_names"] = np.array(list(labour_names), dtype=str)
        if labour_units is not None:
            arrays["labour_units"] = np.array(list(labour_units), dtype=str)
    if capital is not None:
        arrays.update(B_data=capital.data, B_indices=capital.indices, B_indptr=capital.indptr)
    for key, v in zip(_OPTIONAL_VECTORS, (depreciation, capacity, stocks, labour_supply)):
        if v is not None:
            arrays[key] = np.asarray(v, dtype=np.float64)
    saver = np.savez_compressed if compress else np.savez
    return atomic_write(path, lambda fh: saver(fh, **arrays))


# --------------------------------------------------------------------------- read


def _get(z, key: str, path) -> np.ndarray:
    try:
        return z[key]
    except KeyError:
        raise DataFileError(f"{path}: entry {key!r} is missing; the file is damaged or not a bigplan economy",
                            path=path) from None
    except MemoryError as exc:
        raise InsufficientMemoryError(f"{path}: entry {key!r} needs more memory than is available (or its "
                                      "header is damaged)") from exc
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError,
            NotImplementedError) as exc:
        raise DataFileError(f"{path}: entry {key!r} cannot be read ({type(exc).__name__}: {exc}); "
                            "the file is truncated or damaged: save it again", path=path) from exc


def _scalar(z, key: str, path) -> Any:
    a = _get(z, key, path)
    if a.shape != () or a.dtype.kind not in "iu":
        raise DataFileError(f"{path}: entry {key!r} must be an integer scalar, got {a.dtype} {a.shape}", path=path)
    return a[()]


def _csr(z, prefix: str, n: int, path) -> sp.csr_matrix:
    data, ind, ptr = (_get(z, f"{prefix}_{s}", path) for s in ("data", "indices", "indptr"))
    what = "A" if prefix == "A" else "capital B"
    if data.dtype not in (np.float64, np.float32):
        raise DataFileError(f"{path}: {what} values must be float64 or float32, got {data.dtype}", path=path)
    for a, s in ((ind, "indices"), (ptr, "indptr")):
        if a.dtype not in (np.int32, np.int64) or a.ndim != 1:
            raise DataFileError(f"{path}: {what} {s} must be a 1-D int32/int64 array, got {a.dtype} {a.shape}",
                                path=path)
    if data.ndim != 1 or ptr.shape != (n + 1,) or ind.shape != data.shape:
        raise DataFileError(
            f"{path}: {what} arrays do not form a CSR matrix of {n} products "
            f"(data {data.shape}, indices {ind.shape}, indptr {ptr.shape}); the file is damaged", path=path)
    if ptr[0] != 0 or ptr[-1] != len(data) or (n and np.any(np.diff(ptr) < 0)):
        raise DataFileError(f"{path}: {what} indptr is not a valid row pointer; the file is damaged", path=path)
    if len(ind) and (ind.min() < 0 or ind.max() >= n):
        raise DataFileError(f"{path}: {what} has column indices outside 0..{n - 1}; the file is damaged", path=path)
    return sp.csr_matrix((data, ind, ptr), shape=(n, n))


def read_economy_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a file written by :func:`write_economy_file`: the ``Economy`` constructor's arguments.

    Raises
    ------
    MissingFileError
        No such file.
    DataFileError
        Not a bigplan economy file, a newer format version, truncated or damaged.
    """
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"economy file not found: {p} (write one with Economy.save)")
    if not os.access(p, os.R_OK):
        raise MissingFileError(f"economy file {p} cannot be read (permission denied): fix its permissions")
    try:
        z = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError) as exc:
        raise DataFileError(
            f"{p}: not a readable bigplan economy file ({type(exc).__name__}: {exc}); it may be truncated: "
            "save the economy again with Economy.save", path=p) from exc
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise DataFileError(f"{p}: holds a single array, not a bigplan economy (.npz from Economy.save)", path=p)
    with z:
        if "format" not in z.files or str(_get(z, "format", p)) != FORMAT:
            raise DataFileError(f"{p}: not a bigplan economy file (no 'format' = {FORMAT!r} entry)", path=p)
        version = int(_scalar(z, "format_version", p))
        if version > FORMAT_VERSION or version < 1:
            raise DataFileError(
                f"{p}: format version {version}, this bigplan reads versions 1..{FORMAT_VERSION}: upgrade bigplan",
                path=p)
        n = int(_scalar(z, "n", p))
        if n < 1:
            raise DataFileError(f"{p}: entry 'n' = {n}; an economy has at least one product", path=p)
        out: dict[str, Any] = {"A": _csr(z, "A", n, p)}
        out["index_dtype"] = _get(z, "A_indices", p).dtype  # SciPy may narrow int64 indices; keep the file's
        out["labels"] = _arrays_to_labels(z, p)
        if out["labels"] is not None and len(out["labels"]) != n:
            raise DataFileError(f"{p}: {len(out['labels'])} labels for {n} products; the file is damaged", path=p)
        if "labour" in z.files:
            lab = _get(z, "labour", p)
            names = _get(z, "labour_names", p)
            if lab.ndim != 2 or lab.shape[1] != n or names.shape != (lab.shape[0],) or names.dtype.kind != "U":
                raise DataFileError(f"{p}: labour {lab.shape} and labour_names {names.shape} do not fit "
                                    f"{n} products; the file is damaged", path=p)
            out["labour"], out["labour_names"] = lab, names.tolist()
            if "labour_units" in z.files:
                units = _get(z, "labour_units", p)
                if units.shape != names.shape or units.dtype.kind != "U":
                    raise DataFileError(f"{p}: labour_units {units.shape} do not match the labour rows", path=p)
                out["labour_units"] = units.tolist()
        if "B_data" in z.files:
            out["capital"] = _csr(z, "B", n, p)
        for key in _OPTIONAL_VECTORS:
            if key in z.files:
                out[key] = _get(z, key, p)
        out["dtype"] = out["A"].dtype
        return out
