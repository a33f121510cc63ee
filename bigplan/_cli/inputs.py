"""Reading what the subcommands work on: an economy (``--economy``) and plans (``--plans``).

``--economy`` is a file or folder read by :func:`bigplan.io.read_economy`
(one-file ``.npz`` economies, pymrio folders, Matrix Market, parquet triplets,
CSV), or a built-in: ``bea`` / ``bea:71`` / ``bea:15`` (the embedded BEA 2021
tables) or ``synthetic:N[:SEED]`` (a seeded synthetic economy of ``N``
products with labour, capital, depreciation and a labour supply, for trials
and benchmarks).  ``--plans`` is a file read by :func:`bigplan.io.read_plans`
(products x plans), or ``default`` (the BEA demo plans) or ``synthetic:K[:SEED]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import io as bio
from .. import synthetic
from ..economy import Economy
from ..errors import InvalidDemandError, InvalidOptionError

__all__ = ["Loaded", "load_economy", "load_plans", "load_vector", "plan_names_unique"]


@dataclass(frozen=True)
class Loaded:
    """An economy as the command read it: the economy, where from, product names, BEA level (or None)."""

    economy: Economy
    source: str
    names: pd.Series
    level: int | None = None
    synthetic_seed: int | None = None


def _int_part(text: str, spec: str, what: str, lo: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidOptionError(f"{what} {spec!r}: {text!r} is not an integer") from None
    if value < lo:
        raise InvalidOptionError(f"{what} {spec!r}: {value} must be at least {lo}")
    return value


def synthetic_economy(n: int, seed: int = 0) -> Economy:
    """A seeded synthetic economy with labour, capital, depreciation and labour supply, labelled ``p0..``."""
    A = synthetic.technical_matrix(n, inputs_per_product=min(20, max(1, n // 4)), column_sum=0.7, seed=seed)
    labour = synthetic.labour_coefficients(n, seed=seed + 1)
    capital = synthetic.capital_matrix(n, inputs_per_product=min(5, max(1, n // 4)), capital_output=1.5,
                                       seed=seed + 2)
    width = len(str(n - 1))
    labels = pd.Index([f"p{i:0{width}d}" for i in range(n)], name="product")
    return Economy(A, labour=labour, labels=labels, capital=capital, depreciation=0.05,
                   labour_supply=float(10 * n), labour_names=["labour"])


def load_economy(spec: str, **options) -> Loaded:
    """Read ``--economy``: a built-in name or a file/folder for :func:`bigplan.io.read_economy`."""
    spec = str(spec)
    head, _, rest = spec.partition(":")
    if head == "bea" and not Path(spec).exists():
        level = _int_part(rest, spec, "--economy") if rest else 71
        if level not in (15, 71):
            raise InvalidOptionError(f"--economy {spec!r}: the BEA tables come at level 15 or 71")
        return Loaded(bio.bea_economy(level), f"BEA 2021 US economy ({level} products)",
                      bio.bea_product_names(level), level=level)
    if head == "synthetic" and not Path(spec).exists():
        parts = rest.split(":") if rest else []
        if not 1 <= len(parts) <= 2:
            raise InvalidOptionError(f"--economy {spec!r}: write synthetic:N or synthetic:N:SEED")
        n = _int_part(parts[0], spec, "--economy", lo=2)
        seed = _int_part(parts[1], spec, "--economy", lo=0) if len(parts) == 2 else 0
        econ = synthetic_economy(n, seed)
        return Loaded(econ, f"synthetic economy ({n} products, seed {seed})",
                      pd.Series(econ.labels, index=econ.labels), synthetic_seed=seed)
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"--economy {spec!r}: no such file or folder (or give bea, bea:15, synthetic:N)")
    reader = getattr(bio, "read_economy", None)
    if reader is None:  # pragma: no cover - until bigplan.io has its file readers
        raise InvalidOptionError(f"--economy {spec!r}: this bigplan cannot read economy files yet "
                                 "(bigplan.io.read_economy is missing); use bea or synthetic:N")
    econ = reader(path, **options)
    labels = econ.labels if econ.labels is not None else pd.RangeIndex(econ.n, name="product")
    return Loaded(econ, f"{path} ({econ.n} products)", pd.Series(labels.map(str), index=labels))


def plan_names_unique(plans: pd.DataFrame, source: str) -> pd.DataFrame:
    """Refuse duplicated plan names (they would overwrite each other in every output)."""
    cols = [str(c) for c in plans.columns]
    if len(set(cols)) != len(cols):
        dup = sorted({c for c in cols if cols.count(c) > 1})
        raise InvalidDemandError(f"{source}: duplicated plan names {dup[:5]}; give every plan its own name")
    out = plans.copy(deep=False)
    out.columns = pd.Index(cols, name="plan")
    return out


def load_plans(spec: str | None, loaded: Loaded) -> pd.DataFrame:
    """Read ``--plans`` for ``loaded``: products (the economy's order) x plans, float64."""
    econ = loaded.economy
    labels = econ.labels if econ.labels is not None else pd.RangeIndex(econ.n, name="product")
    if spec is None or spec == "default":
        if loaded.level is None:
            raise InvalidOptionError("--plans is needed for this economy (a file, or synthetic:K)")
        from .default import default_plans

        return default_plans(bio.bea_final_demand(loaded.level, margins="distribute")).reindex(econ.labels)
    head, _, rest = str(spec).partition(":")
    if head == "synthetic" and not Path(spec).exists():
        parts = rest.split(":") if rest else []
        if not 1 <= len(parts) <= 2:
            raise InvalidOptionError(f"--plans {spec!r}: write synthetic:K or synthetic:K:SEED")
        k = _int_part(parts[0], spec, "--plans")
        seed = _int_part(parts[1], spec, "--plans", lo=0) if len(parts) == 2 else 0
        Y = np.asarray(synthetic.final_demand(econ.n, k, seed=seed), dtype=float).reshape(econ.n, k)
        width = len(str(k - 1))
        return pd.DataFrame(Y, index=labels, columns=pd.Index([f"plan{j:0{width}d}" for j in range(k)], name="plan"))
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"--plans {spec!r}: no such file")
    if path.suffix.lower() == ".csv":  # names as written: pandas would rename a duplicate "p" to "p.1"
        from .default import header_names

        written = header_names(path)
        if written is not None and len(written) > 1:
            plan_names_unique(pd.DataFrame(columns=written[1:]), str(path))
    reader = getattr(bio, "read_plans", None)
    if reader is not None:
        plans = reader(path, econ)
    else:  # pragma: no cover - until bigplan.io has its file readers: CSV as the default job reads it
        from .default import read_demand

        plans = read_demand(path, labels, loaded.names)
    return plan_names_unique(plans, str(path))


def load_vector(spec: str | None, loaded: Loaded, what: str) -> np.ndarray | None:
    """A product vector from a plans file's first column (or None); ``default``: BEA consumption."""
    if spec is None:
        return None
    if spec == "default":
        if loaded.level is None:
            raise InvalidOptionError(f"{what} default is the BEA consumption: give a file for this economy")
        return bio.bea_final_demand(loaded.level, margins="distribute")["consumption"].reindex(loaded.economy.labels).to_numpy(float)
    plans = load_plans(spec, loaded)
    return plans.iloc[:, 0].to_numpy(dtype=float)

