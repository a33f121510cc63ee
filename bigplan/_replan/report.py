"""The re-plan's report: what moved, how it was solved, and sector codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._evidence import Evidence, WithEvidence
from .._inputs import product_positions
from ..economy import Economy
from ..errors import InvalidOptionError, LabelError, ShapeError

__all__ = ["Correction", "ReplanReport", "sector_codes"]


# ---------------------------------------------------------------------------
# sectors
# ---------------------------------------------------------------------------
def sector_codes(economy: Economy, sectors: Any = None, *, block: int = 1000) -> tuple[np.ndarray, pd.Index]:
    """Sector of every product as integer codes and sector names.

    Parameters
    ----------
    economy : Economy
    sectors : pandas.Series, array_like, callable, int, (codes, names) or None
        - Series: product label (or position) -> sector; products it lacks go to
          ``"unassigned"`` (a product the economy lacks is an
          :class:`~bigplan.UnknownProductError`);
        - array_like of length ``n``: the sector of each product, by position;
        - callable: ``sector = f(label)`` (``f(position)`` when unlabelled);
        - int: blocks of that many consecutive products;
        - a pair ``(codes, names)`` as this function returns it: taken as is;
        - None: blocks of ``block`` consecutive products.

    Returns
    -------
    codes : numpy.ndarray of int64, shape (n,)
    names : pandas.Index
        ``names[codes[i]]`` is the sector of product ``i``.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.inventory import sector_codes
    >>> e = bigplan.Economy(np.zeros((4, 4)), labels=["a.1", "a.2", "b.1", "b.2"])
    >>> codes, names = sector_codes(e, lambda label: label.split(".")[0])
    >>> codes.tolist(), names.tolist()
    ([0, 0, 1, 1], ['a', 'b'])
    """
    n = economy.n
    if isinstance(sectors, tuple) and len(sectors) == 2 and isinstance(sectors[0], np.ndarray):
        codes, names = sectors  # already codes and names (the store keeps them so)
        codes = np.asarray(codes, np.int64)
        if codes.shape != (n,) or (n and (codes.min() < 0 or codes.max() >= len(names))):
            raise ShapeError(f"sector codes must be {n} integers in [0, {len(names)})")
        return codes, pd.Index(names)
    if sectors is None or isinstance(sectors, (int, np.integer)) and not isinstance(sectors, bool):
        size = int(block if sectors is None else sectors)
        if size < 1:
            raise InvalidOptionError(f"sector block size must be >= 1, got {size}")
        codes = np.arange(n, dtype=np.int64) // size
        names = pd.Index([f"products {i * size}-{min(n, (i + 1) * size) - 1}" for i in range(int(codes[-1]) + 1)])
        return codes, names
    if isinstance(sectors, pd.Series):
        if not sectors.index.is_unique:
            raise LabelError("the sector mapping names some products twice; give one sector per product")
        pos = product_positions(economy, sectors.index, what="products in the sector mapping")
        values = np.full(n, "unassigned", dtype=object)
        given = sectors.to_numpy(dtype=object)
        values[pos] = np.where(pd.isna(given), "unassigned", given)
    elif callable(sectors):
        idx = economy.labels if economy.labels is not None else range(n)
        values = np.asarray([sectors(x) for x in idx], dtype=object)
    else:
        values = np.asarray(sectors, dtype=object)
        if values.shape != (n,):
            raise ShapeError(f"sectors must give one sector per product ({n}), got shape {values.shape}")
    codes, uniq = pd.factorize(pd.Series(values, dtype=object), sort=True)
    return codes.astype(np.int64), pd.Index(uniq)


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Correction:
    """How the update was solved.

    Attributes
    ----------
    kind : str
        ``"columns"`` or ``"rows"`` (the change factored through that many
        changed columns or rows), ``"plans"`` (one column per plan),
        ``"nothing changed"``, ``"warm"``, ``"cold"`` or ``"verify"``.
    rank : int
        Columns solved for (the plans for a warm or cold solve, 0 for a check).
    """

    kind: str
    rank: int = 0

    def __str__(self) -> str:
        if self.kind in ("columns", "rows", "plans"):
            return f"{self.kind} ({self.rank})"
        if self.kind in ("warm", "cold"):
            return f"{self.kind} ({self.rank} plans)"
        return self.kind


@dataclass(frozen=True, eq=False, repr=False)
class ReplanReport(WithEvidence):
    """New outputs of the stored plans after a revision, and what moved.

    Attributes
    ----------
    output : numpy.ndarray, shape (n, k)
        Gross outputs (intermediate targets) solving the new economy.
    previous : numpy.ndarray, shape (n, k), or None
        The outputs before the revision.
    plans : pandas.Index
    rank : int
        Columns solved: the changed columns or rows for a correction, the plans
        for a warm or cold solve, 0 for a check.
    moved : pandas.DataFrame
        One row per (product, plan) whose output moved by more than the threshold:
        ``sector``, ``product``, ``plan``, ``old``, ``new``, ``change``, ``relative``;
        sorted by sector, then by the size of the relative move.
    evidence : Evidence
        Per-plan status and certified relative residual on the new economy,
        iterations, sparse products (per plan column, float32 ones included),
        backend, seconds of the re-solve (without building the report), notes.
        ``converged``, ``residual``, ``iterations``, ``matvecs``, ``seconds``,
        ``backend``, ``status`` and ``notes`` read from it; ``method`` is
        ``"correction"``, ``"warm"``, ``"cold"`` or ``"verify"`` (nothing changed).
    correction : Correction
        How the update was solved (``mode`` is its text, e.g. ``"columns (3)"``).
    labour : pandas.DataFrame or None
        Labour needed per plan and kind before and after: ``plan``, ``kind``,
        ``unit``, ``before``, ``after``, ``change``, ``relative`` (the store fills it).
    values : pandas.DataFrame or None
        Labour values that moved by more than the threshold: ``kind``, ``unit``,
        ``sector``, ``product``, ``old``, ``new``, ``change``, ``relative``.
    capacity : pandas.DataFrame or None
        Products whose recorded capacity is below some plan's output, one row each:
        ``sector``, ``product``, ``capacity``, ``output`` (the largest a plan asks),
        ``shortfall``, ``plans`` (how many plans ask more), ``worst_plan``.
    dynamic : dict or None
        Stored dynamic plans re-run on the new version, by name.
    proposals : dict or None
        Stored proposal sets (:func:`bigplan.dynamic.compare`) re-run on the new version, by name.
    peak : numpy.ndarray, shape (n,), or None
        Each product's largest output over the plans (what a capacity check
        compares with), gathered in the pass that finds the moves.
    factors : tuple (W, C, exact) or None
        The correction in factored form, when it is one: ``W`` (n x r), ``C``
        (r x k) and a boolean mask of the plans whose new outputs are exactly
        ``previous + (W @ C)`` (those certified without a measured check).  The
        store keeps these plans' outputs as such low-rank updates.
    """

    output: np.ndarray
    previous: np.ndarray | None
    plans: pd.Index
    labels: pd.Index | None
    moved: pd.DataFrame
    threshold: float
    abs_threshold: float
    evidence: Evidence
    correction: Correction
    version: int | None = None
    inner_dtype: str = "float64"
    report_seconds: float = 0.0
    labour: pd.DataFrame | None = None
    values: pd.DataFrame | None = None
    capacity: pd.DataFrame | None = None
    dynamic: dict | None = None
    proposals: dict | None = None
    peak: np.ndarray | None = None
    factors: tuple | None = None

    @property
    def rank(self) -> int:
        return self.correction.rank

    @property
    def mode(self) -> str:
        return str(self.correction)

    @property
    def changed(self) -> bool:
        """Whether anything moved: outputs, labour needed, labour values, or a capacity now short."""
        lab = self.labour
        lab_moved = lab is not None and not lab.empty and bool(
            (np.abs(lab["change"].to_numpy()) > self.threshold * np.abs(lab["before"].to_numpy())).any())
        return bool(not self.moved.empty or lab_moved or any(
            f is not None and not f.empty for f in (self.values, self.capacity)))

    def summary(self) -> str:
        """A few lines of text: what moved, labour before and after (with its unit), capacity short."""
        k = self.output.shape[1]
        m = self.moved
        head = (f"re-plan of {k} plans on version {self.version}: {self.method} ({self.mode}), "
                f"{'converged' if self.converged else 'NOT converged'}")
        lines = [head]
        lines.append(f"outputs moved by more than {self.threshold:g}: {m['product'].nunique() if len(m) else 0} "
                     f"products in {m['sector'].nunique() if len(m) else 0} sectors")
        if self.labour is not None and not self.labour.empty:
            g = self.labour.groupby(["kind", "unit"], sort=False)[["before", "after"]].sum()
            for (kind, unit), r in g.iterrows():
                u = f" {unit}" if unit else ""
                lines.append(f"labour {kind} (all plans): {r['before']:.6g}{u} -> {r['after']:.6g}{u}")
        if self.values is not None:
            lines.append(f"labour values moved: {self.values['product'].nunique() if len(self.values) else 0} products")
        if self.capacity is not None:
            c = self.capacity
            lines.append(f"recorded capacity below a plan's output: {len(c)} products")
        if self.dynamic:
            lines.append(f"dynamic plans re-run: {', '.join(map(str, self.dynamic))}")
        if self.proposals:
            lines.append(f"proposal sets re-run: {', '.join(map(str, self.proposals))}")
        return "\n".join(lines)

    def by_sector(self) -> pd.DataFrame:
        """Moves grouped by sector: products moved, entries, plans, largest relative move, total change."""
        m = self.moved
        if m.empty:
            return pd.DataFrame(columns=["products", "entries", "plans", "max_relative", "total_change"])
        g = m.groupby("sector", sort=True, observed=True)
        out = pd.DataFrame(
            {
                "products": g["product"].nunique(),
                "entries": g.size(),
                "plans": g["plan"].nunique(),
                "max_relative": g["relative"].apply(lambda s: float(np.max(np.abs(s)))),
                "total_change": g["change"].sum(),
            }
        )
        return out.sort_values("max_relative", ascending=False)

    def sector(self, name: Any) -> pd.DataFrame:
        """The moves in one sector."""
        return self.moved[self.moved["sector"] == name]

    def to_frame(self) -> pd.DataFrame:
        """New gross outputs: products x plans."""
        return pd.DataFrame(self.output, index=self.labels, columns=self.plans)

    @classmethod
    def combine(cls, parts: list, k: int) -> ReplanReport:
        """Join the reports of groups of plans (``(cols, report)`` pairs, columns of ``k``) into one."""
        first = parts[0][1]
        n = first.output.shape[0]
        X = np.empty((n, k))
        P = np.full((n, k), np.nan)
        plans = [None] * k
        for cols, r in parts:
            X[:, cols] = r.output
            if r.previous is not None:
                P[:, cols] = r.previous
            for j, c in enumerate(cols):
                plans[c] = r.plans[j]
        order = np.argsort(np.concatenate([np.asarray(c) for c, _ in parts]), kind="stable")
        ev = Evidence.combine([r.evidence for _, r in parts], method="+".join(sorted({r.method for _, r in parts})))
        ev = Evidence(converged=ev.converged, status=ev.status[order], iterations=ev.iterations,
                      residual=ev.residual[order], backend=first.backend, method=ev.method, matvecs=ev.matvecs,
                      seconds=ev.seconds, notes=ev.notes)
        return cls(
            output=X,
            previous=P,
            plans=pd.Index(plans, name="plan"),
            labels=first.labels,
            moved=pd.concat([r.moved for _, r in parts], ignore_index=True),
            threshold=first.threshold,
            abs_threshold=first.abs_threshold,
            evidence=ev,
            correction=Correction("+".join(r.correction.kind for _, r in parts), sum(r.rank for _, r in parts)),
            version=first.version,
            peak=X.max(axis=1) if k else None,
        )

    def __repr__(self) -> str:
        k = self.output.shape[1]
        nprod = self.moved["product"].nunique() if not self.moved.empty else 0
        nsec = self.moved["sector"].nunique() if not self.moved.empty else 0
        return (
            f"<ReplanReport {k} plans, method={self.method} (rank {self.rank}, {self.inner_dtype}), "
            f"{'converged' if self.converged else 'NOT converged'}, max residual {float(np.max(self.residual)):.3g}, "
            f"{self.seconds:.3g} s; {nprod} products in {nsec} sectors moved by more than "
            f"{self.threshold:g} (relative)>"
        )

