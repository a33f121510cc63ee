"""One parquet file per block: written atomically on the worker, checked and skipped on resume, read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import atomic_write
from ..errors import DataFileError, MissingDependencyError, OutputExistsError

__all__ = ["block_path", "evidence_meta", "existing_block", "read_blocks", "read_meta", "require_pyarrow", "write_block"]

_KEY = b"bigplan"


def require_pyarrow():
    """pyarrow, or :class:`MissingDependencyError` naming the extra."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise MissingDependencyError(
            "writing blocks to parquet (out=) needs pyarrow: pip install 'bigplan[parquet]'"
        ) from None
    return pyarrow


def block_path(out: Path, kind: str, start: int, stop: int) -> Path:
    """``out/<kind>-<start>-<stop>.parquet`` (zero-padded, so that names sort in plan order)."""
    return Path(out) / f"{kind}-{start:09d}-{stop:09d}.parquet"


def write_block(path: Path, frame: pd.DataFrame, meta: dict) -> None:
    """Write ``frame`` with ``meta`` (JSON) into ``path`` atomically: temp file, fsync, ``os.replace``."""
    pa = require_pyarrow()
    import pyarrow.parquet as pq

    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    table = pa.Table.from_pandas(frame, preserve_index=frame.index is not None and not isinstance(frame.index, pd.RangeIndex))
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _KEY: json.dumps(meta).encode()})
    atomic_write(path, lambda fh: pq.write_table(table, fh))


def read_meta(path: Path) -> dict:
    """The bigplan metadata of a block file."""
    require_pyarrow()
    import pyarrow.parquet as pq

    try:
        md = pq.read_schema(path).metadata or {}
        return json.loads(md[_KEY])
    except (KeyError, ValueError, OSError) as exc:
        raise DataFileError(
            f"{path} is not a bigplan block file ({type(exc).__name__}: {exc}); remove it or write elsewhere",
            path=path,
        ) from None


def existing_block(path: Path, economy_key: str, plans_key: str) -> dict | None:
    """The metadata of a finished block at ``path`` for this economy and these plans, or None when absent.

    Raises
    ------
    OutputExistsError
        A file is there but was written for another economy or other plans (nothing is overwritten).
    """
    if not Path(path).exists():
        return None
    meta = read_meta(path)
    if meta.get("economy") != economy_key or meta.get("plans") != plans_key:
        raise OutputExistsError(
            f"{path} holds a block of another run (different economy or plans); remove it, or write to an "
            "empty folder with out="
        )
    return meta


def read_blocks(paths) -> pd.DataFrame:
    """The blocks' tables side by side (products x plans, in block order)."""
    require_pyarrow()
    frames = [pd.read_parquet(p) for p in paths]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, axis=1)


def evidence_meta(evidence) -> dict:
    """The per-plan part of an :class:`~bigplan.Evidence` as JSON-ready lists."""
    return {
        "status": [int(s) for s in np.asarray(evidence.status)],
        "residual": [float(r) for r in np.asarray(evidence.residual)],
        "iterations": int(evidence.iterations),
        "backend": evidence.backend,
        "method": evidence.method,
        "matvecs": int(evidence.matvecs),
        "seconds": float(evidence.seconds),
        "notes": list(evidence.notes),
    }
