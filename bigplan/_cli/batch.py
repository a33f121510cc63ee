"""Batch jobs: resumable chunks (``--chunk``), slices for job arrays (``--shard``), and their merge.

A chunked solve keeps its finished chunks in ``OUT.parts/`` (``chunk-000012.npz``:
outputs, labour, residuals; each written atomically) beside a manifest holding a
SHA-256 of the economy, the plans and the options.  Run again with the same
command after a kill, it loads the finished chunks, solves only the rest, writes
``OUT`` (equal to an uninterrupted run: every chunk is solved alone either way)
and removes the parts.  A rerun whose inputs or options differ is refused.

A shard (``--shard i/N``, ``i`` from 0) solves the ``i``-th of ``N`` contiguous
slices of the plans and writes ``OUT`` plus ``OUT.shard.json`` (its index, the
plan names, the hash of the full inputs); :func:`merge` joins the shards of one
job and refuses a missing, duplicated or foreign one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._arrays import to_host
from ..economy import Economy
from ..errors import InvalidOptionError
from .output import (
    atomic_file,
    check_target,
    fsync_dir,
    labour_path,
    read_table,
    table_format,
    write_table,
)

__all__ = ["BatchResult", "inputs_hash", "merge", "parse_shard", "parts_dir", "shard_path", "shard_slice",
           "solve_batch"]

MANIFEST_FORMAT = 1
_CHUNK = re.compile(r"^chunk-(\d{6})\.npz$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` (``0 <= i < N``) as ``(i, N)``.

    Examples
    --------
    >>> from bigplan._cli.batch import parse_shard
    >>> parse_shard("2/8")
    (2, 8)
    """
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m:
        raise InvalidOptionError(f"--shard {text!r}: write i/N, e.g. 0/8 for the first of 8 slices")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or i >= n:
        raise InvalidOptionError(f"--shard {text!r}: need N >= 1 and 0 <= i < N (SLURM: $SLURM_ARRAY_TASK_ID/N "
                                 "with --array=0-(N-1))")
    return i, n


def shard_slice(k: int, i: int, n: int) -> slice:
    """The ``i``-th of ``n`` contiguous slices of ``k`` plans (the first ``k % n`` one longer).

    Examples
    --------
    >>> from bigplan._cli.batch import shard_slice
    >>> [shard_slice(10, i, 3) for i in range(3)]
    [slice(0, 4, None), slice(4, 7, None), slice(7, 10, None)]
    """
    base, extra = divmod(k, n)
    start = i * base + min(i, extra)
    return slice(start, start + base + (1 if i < extra else 0))


def inputs_hash(economy: Economy, plans: pd.DataFrame, options: dict) -> str:
    """SHA-256 of the economy (coefficients, labour, labels), the plans (values and names) and the options."""
    h = hashlib.sha256()
    A = economy.A
    for arr in (A.indptr, A.indices, A.data):
        a = np.ascontiguousarray(to_host(arr))
        h.update(str(a.dtype).encode())
        h.update(memoryview(a).cast("B"))
    h.update(repr(A.shape).encode())
    if economy.labour is not None:
        h.update(np.ascontiguousarray(to_host(economy.labour), dtype=float).tobytes())
    if economy.labels is not None:
        h.update("\x1f".join(map(str, economy.labels)).encode())
    # plan by plan ((k, n) C order): no copy for pandas' usual column blocks, the same bytes for any layout
    h.update(memoryview(np.ascontiguousarray(plans.to_numpy(dtype=float).T)))
    h.update("\x1f".join(map(str, plans.columns)).encode())
    h.update(json.dumps(options, sort_keys=True, default=str).encode())
    return h.hexdigest()


def parts_dir(out: str | os.PathLike) -> Path:
    """``OUT.parts``: where a chunked run keeps its finished chunks."""
    p = Path(out)
    return p.with_name(p.name + ".parts")


def shard_path(out: str | os.PathLike) -> Path:
    """``OUT.shard.json``: a shard output's description, read by :func:`merge`."""
    p = Path(out)
    return p.with_name(p.name + ".shard.json")


def _write_json(path: Path, data: dict, *, overwrite: bool = True) -> None:
    with atomic_file(path, overwrite=overwrite, what="manifest") as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidOptionError(f"{path}: cannot read the {what} ({exc}); remove it to start over") from None
    if not isinstance(data, dict):
        raise InvalidOptionError(f"{path}: not a bigplan {what}; remove it to start over")
    return data


@dataclass
class BatchResult:
    """What a batch solve produced: tables, evidence, and how much was resumed."""

    output: pd.DataFrame
    labour: pd.DataFrame | None
    residual: np.ndarray
    iterations: int
    methods: list[str]
    backend: str
    seconds: float
    chunks: int = 1
    resumed: int = 0
    notes: list[str] = field(default_factory=list)


Solver = Callable[[np.ndarray], object]


def _solve_block(solve: Solver, Y: np.ndarray, m: int) -> dict:
    sol = solve(Y)
    out = np.asarray(to_host(sol.output), dtype=float).reshape(Y.shape)
    lab = np.zeros((m, Y.shape[1])) if sol.labour is None else np.asarray(to_host(sol.labour), dtype=float)
    return {"output": out, "labour": lab.reshape(m, Y.shape[1]),
            "residual": np.atleast_1d(np.asarray(sol.residual, dtype=float)),
            "iterations": np.array([int(sol.iterations)]), "method": np.array(str(sol.method)),
            "backend": np.array(str(sol.backend))}


def _save_chunk(path: Path, part: dict) -> None:
    with atomic_file(path, what="chunk") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **part)


def _load_chunk(path: Path, n: int, width: int) -> dict | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            part = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError):
        return None  # unreadable: solve that chunk again
    if part.get("output", np.empty(0)).shape != (n, width):
        return None
    return part


def solve_batch(economy: Economy, plans: pd.DataFrame, solve: Solver, *, out: Path, chunk: int | None,
                key: dict, progress: Callable[[int, int], object] | None = None) -> BatchResult:
    """Solve ``plans`` (products x plans) with ``solve``, in resumable chunks when ``chunk`` is given.

    ``key`` (the options and the full inputs' hash) goes into the manifest; a
    rerun with another key is refused.  ``progress(done, total)`` is called as
    chunks finish (with the resumed ones first).
    """
    t0 = time.perf_counter()
    n, k = plans.shape
    m = 0 if economy.labour is None else int(np.atleast_2d(to_host(economy.labour)).shape[0])
    Y = plans.to_numpy(dtype=float)
    if k == 0:
        parts = [{"output": np.zeros((n, 0)), "labour": np.zeros((m, 0)), "residual": np.zeros(0),
                  "iterations": np.array([0]), "method": np.array("none"), "backend": np.array("none")}]
        resumed, nchunks = 0, 0
    elif chunk is None:
        parts, resumed, nchunks = [_solve_block(solve, Y, m)], 0, 1
        if progress:
            progress(k, k)
    else:
        parts, resumed, nchunks = _chunked(Y, m, solve, out=out, chunk=chunk, key=key, progress=progress)

    def cat(name: str) -> np.ndarray:
        return parts[0][name] if len(parts) == 1 else np.concatenate([p[name] for p in parts], axis=-1)

    output = pd.DataFrame(cat("output"), index=plans.index, columns=plans.columns)
    labour = None
    if economy.labour is not None:
        names = list(economy.labour_names) if economy.labour_names is not None else [f"labour{i}" for i in range(m)]
        labour = pd.DataFrame(cat("labour"), index=pd.Index(names, name="labour"), columns=plans.columns)
    return BatchResult(output, labour, cat("residual"), int(max(int(p["iterations"][0]) for p in parts)),
                       sorted({str(p["method"]) for p in parts}), str(parts[0]["backend"]),
                       time.perf_counter() - t0, chunks=nchunks, resumed=resumed)


def _chunked(Y: np.ndarray, m: int, solve: Solver, *, out: Path, chunk: int, key: dict, progress):
    n, k = Y.shape
    folder = parts_dir(out)
    bounds = [(a, min(a + chunk, k)) for a in range(0, k, chunk)]
    manifest = {"format": MANIFEST_FORMAT, "key": key, "plans": k, "chunk": chunk, "chunks": len(bounds),
                "products": n}
    mpath = folder / "manifest.json"
    if folder.exists():
        if not folder.is_dir() or not mpath.is_file():
            raise InvalidOptionError(f"{folder} exists but is not a bigplan parts folder; move it away")
        old = _read_json(mpath, "parts manifest")
        if old != json.loads(json.dumps(manifest, sort_keys=True, default=str)):
            raise InvalidOptionError(
                f"{folder} holds chunks of a run with different inputs or options (economy, plans, --method, "
                f"--rtol, --chunk or --shard); rerun the original command, or remove {folder} to start over")
    else:
        folder.mkdir()
        _write_json(mpath, json.loads(json.dumps(manifest, default=str)))
        fsync_dir(folder.parent)
    parts: list[dict | None] = []
    for i, (a, b) in enumerate(bounds):
        path = folder / f"chunk-{i:06d}.npz"
        parts.append(_load_chunk(path, n, b - a) if path.is_file() else None)
    resumed = sum(p is not None for p in parts)
    done = sum(b - a for (a, b), p in zip(bounds, parts) if p is not None)
    if progress:
        progress(done, k)
    for i, (a, b) in enumerate(bounds):
        if parts[i] is not None:
            continue
        part = _solve_block(solve, Y[:, a:b], m)
        _save_chunk(folder / f"chunk-{i:06d}.npz", part)
        parts[i] = part
        done += b - a
        if progress:
            progress(done, k)
    return parts, resumed, len(bounds)


def remove_parts(out: Path) -> None:
    """Remove ``OUT.parts`` once ``OUT`` is written."""
    folder = parts_dir(out)
    if not folder.is_dir():
        return
    for f in folder.iterdir():
        if f.name == "manifest.json" or _CHUNK.match(f.name) or f.name.startswith("."):
            with contextlib.suppress(FileNotFoundError):
                f.unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()


def write_outputs(result: BatchResult, out: Path, *, overwrite: bool) -> list[Path]:
    """Write the output table (and the labour table beside it) atomically; labour first, then ``OUT``."""
    written = []
    if result.labour is not None:
        written.append(write_table(result.labour, labour_path(out), overwrite=overwrite))
    written.append(write_table(result.output, out, overwrite=overwrite))
    return written


def write_shard_info(out: Path, *, shard: tuple[int, int], plans: Sequence[str], total: int, key: str,
                     index_levels: int, labour: bool, overwrite: bool) -> Path:
    """``OUT.shard.json`` for :func:`merge`."""
    info = {"format": MANIFEST_FORMAT, "shard": shard[0], "of": shard[1], "plans": [str(p) for p in plans],
            "total_plans": int(total), "inputs": key, "index_levels": int(index_levels), "labour": bool(labour)}
    path = shard_path(out)
    _write_json(path, info, overwrite=overwrite)
    return path


def merge(inputs: Sequence[str | os.PathLike], out: str | os.PathLike, *, overwrite: bool = False) -> dict:
    """Join shard outputs into ``out`` (and its labour table), checking that none is missing or duplicated.

    ``inputs`` are the shards' outputs or their ``OUT.shard.json`` descriptions (a glob such as
    ``out-*.shard.json`` does not pick up the labour tables beside the outputs).

    Returns a summary: shards, plans, products, files written.
    """
    out = Path(out)
    fmt = table_format(out)
    check_target(out, overwrite=overwrite)
    infos = []
    for f in inputs:
        f = Path(f)
        if f.name.endswith(".shard.json"):  # a shard's description names its output: OUT.shard.json -> OUT
            f = f.with_name(f.name[: -len(".shard.json")])
        if not f.is_file():
            raise FileNotFoundError(f"merge: no shard output {f}")
        side = shard_path(f)
        if not side.is_file():
            raise InvalidOptionError(f"merge: {f} has no {side.name}; it is not the output of bigplan solve --shard")
        infos.append((_read_json(side, "shard description"), f))
    if not infos:
        raise InvalidOptionError("merge: give the shard outputs to join")
    first = infos[0][0]
    for info, f in infos:
        if info.get("of") != first.get("of") or info.get("inputs") != first.get("inputs"):
            raise InvalidOptionError(f"merge: {f} belongs to another job (other inputs, options or number of "
                                     f"shards than {infos[0][1]})")
    n_shards = int(first["of"])
    seen: dict[int, Path] = {}
    for info, f in infos:
        i = int(info["shard"])
        if i in seen:
            raise InvalidOptionError(f"merge: shard {i}/{n_shards} given twice ({seen[i]} and {f})")
        seen[i] = f
    missing = sorted(set(range(n_shards)) - set(seen))
    if missing:
        raise InvalidOptionError(f"merge: shard(s) {missing} of {n_shards} missing; run them "
                                 f"(bigplan solve ... --shard i/{n_shards}) and merge again")
    infos.sort(key=lambda t: int(t[0]["shard"]))
    names = [p for info, _ in infos for p in info["plans"]]
    if len(set(names)) != len(names) or len(names) != int(first["total_plans"]):
        raise InvalidOptionError(f"merge: the shards hold {len(names)} plan columns ({len(set(names))} distinct), "
                                 f"the job has {first['total_plans']}")
    levels = int(first.get("index_levels", 1))
    tables = [read_table(f, levels) for _, f in infos]
    labour = [read_table(labour_path(f), 1) for _, f in infos] if first.get("labour") else []
    if fmt == "npy" or any(table_format(f) == "npy" for _, f in infos):
        output = pd.DataFrame(np.concatenate([t.to_numpy(float) for t in tables], axis=1), columns=names)
        lab = pd.DataFrame(np.concatenate([t.to_numpy(float) for t in labour], axis=1), columns=names) if labour \
            else None
    else:
        output = pd.concat(tables, axis=1)
        lab = pd.concat(labour, axis=1) if labour else None
        if [str(c) for c in output.columns] != names:
            raise InvalidOptionError("merge: the shard tables' plan columns do not match their descriptions")
    written = []
    if lab is not None:
        written.append(str(write_table(lab, labour_path(out), overwrite=overwrite)))
    written.append(str(write_table(output, out, overwrite=overwrite)))
    return {"command": "merge", "shards": n_shards, "plans": len(names), "products": int(output.shape[0]),
            "written": written}
