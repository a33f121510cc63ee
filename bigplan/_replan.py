"""Re-planning: re-solve plans after a revision of the coefficients, warm-started, and report what moved.

Built on the static layer only (:func:`~bigplan.solve_output` and the solvers'
operator); the store (:mod:`bigplan._store.plans`) calls it for its stored
plans, and :mod:`bigplan.inventory` re-exports it.

How re-planning is fast
-----------------------
After a change ``A -> A' = A + dA`` the old outputs ``X`` leave the residual
``Y - (I - A') X = E + dA X`` (``E`` is the old, already tiny residual).  A
Krylov solve started there needs about ``log(rtol ||y|| / ||dA X||) /
log(rate)`` iterations instead of ``log(rtol) / log(rate)``: for 1,000 changed
coefficients of a 10^6-product economy ``||dA X|| / ||y||`` is about 1e-4, so a
warm start saves only a third to a half of the iterations.  The large savings
come from the *structure* of the change.  The correction ``dX`` solves
``(I - A') dX = dA X``, and ``dA X`` factors through the changed columns
(``dA X = dA[:, Q] X[Q, :]``) or rows (``dA X = I[:, P] (dA[P, :] X)``).  When
a revision touches fewer columns or rows than there are plans (new methods for
a few products; one input saved by many products), :func:`replan`

1. solves ``(I - A') W = U`` for only those ``r`` columns ``U``, to an absolute
   tolerance derived from every plan's ``rtol * ||y||`` (optionally in float32
   stages, with float64 residuals in between);
2. sets ``X' = X + W C`` and hands it to :func:`bigplan.solve_output` as the
   warm start, which computes the true residual of every plan and finishes any
   plan not yet within ``rtol`` (usually none).

Otherwise (``r > k / 2``) it warm-starts :func:`bigplan.solve_output` from the
previous outputs.  Either way the answer carries exactly the guarantee of a
cold solve (every plan's relative residual is at most ``rtol``), on any backend.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._evidence import Evidence, Status, WithEvidence
from ._inputs import plan_block, product_positions
from ._krylov_ops import krylov_backend
from ._methods import working_dtype
from ._options import check_int, check_real, check_rtol
from .backend import get_backend
from .economy import Economy
from .errors import ConvergenceError, InvalidOptionError, LabelError, ShapeError
from .solvers import operator
from .static import solve_output

__all__ = ["Correction", "ReplanReport", "Replanner", "replan", "sector_codes"]

_DENSE_BELOW = 2000  # like Auto: below this a dense LU re-solve is exact and cheap
_STAGE_RTOL = 3e-6  # what a float32 Krylov solve reliably reaches (inner_dtype=float32)
_NO_RTOL = 1e-300  # the correction stages stop on atol (the scaled budget) alone; rtol must be > 0
#: The methods :func:`replan` accepts (the store checks its ``method=`` against these up front).
REPLAN_METHODS = ("auto", "correction", "warm", "cold", "verify", "unchanged")


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


# ---------------------------------------------------------------------------
# the update
# ---------------------------------------------------------------------------
def _block(economy: Economy, data: Any, what: str) -> tuple[np.ndarray, pd.Index | None]:
    """Plans as a float64 host block aligned to the economy, and their names."""
    pb = plan_block(economy, data, what, host=True)
    return np.asarray(pb.values, dtype=np.float64), pb.names


def _delta_matrix(economy: Economy, delta: Any, old_economy: Economy | None) -> sp.csr_matrix | None:
    n = economy.n
    if delta is None and old_economy is None:
        return None
    if delta is None:
        if old_economy.n != n:
            raise ShapeError(f"old economy has {old_economy.n} products, the new one {n}")
        D = (economy.A.astype(np.float64) - old_economy.A.astype(np.float64)).tocsr()
    elif sp.issparse(delta):
        D = sp.csr_matrix(delta, dtype=np.float64)
    else:
        try:
            r, c, d = (np.asarray(a) for a in delta)
            D = sp.csr_matrix((d.astype(np.float64), (r.astype(np.int64), c.astype(np.int64))), shape=(n, n))
        except (TypeError, ValueError, IndexError) as exc:
            raise InvalidOptionError(
                f"delta must be a scipy.sparse matrix or (rows, cols, change) arrays of positions < {n} ({exc})"
            ) from None
    D.sum_duplicates()
    D.eliminate_zeros()
    if D.shape != (n, n):
        raise ShapeError(f"delta must be {n} x {n}, got {D.shape}")
    return D


def _f64_residual(bk, economy: Economy, B: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``B - (I - A) X`` in the economy's precision on backend ``bk``, returned on the host."""
    dt = np.dtype(economy.dtype)
    op = operator(bk, economy, dtype=dt)  # the same cached operator the solvers use
    R, _ = krylov_backend(bk).residual(op, bk.as_block(B, dt), bk.as_block(X, dt))  # fused where bk has it
    return np.asarray(bk.to_numpy(R), dtype=np.float64)


def _factor(D: sp.csr_matrix, k: int) -> tuple[Correction, np.ndarray, np.ndarray]:
    """How ``D X`` factors through the fewest columns: the correction, changed rows, changed columns."""
    P = np.flatnonzero(np.diff(D.indptr))  # rows holding a change
    Q = np.unique(D.indices)  # columns holding a change
    if len(Q) < min(len(P), k):
        return Correction("columns", len(Q)), P, Q
    if len(P) < k:
        return Correction("rows", len(P)), P, Q
    return Correction("plans", k), P, Q


def _correction(economy: Economy, Y: np.ndarray, X_old: np.ndarray, D: sp.csr_matrix, budget: np.ndarray, *,
                backend: Any, solver: Any, inner: np.dtype) -> tuple[np.ndarray, int, int, Correction]:
    """``X_old + dX`` with ``(I - A') dX = D X_old`` solved to absolute residual ``budget`` per plan."""
    n, k = Y.shape
    corr, P, Q = _factor(D, k)
    active = budget > 0
    if corr.kind == "columns":
        U = D.tocsc()[:, Q].toarray()  # n x q
        C = X_old[Q, :]
    elif corr.kind == "rows":
        U = np.zeros((n, len(P)))
        U[P, np.arange(len(P))] = 1.0
        C = np.asarray(D[P, :] @ X_old)  # p x k
    else:
        U = np.asarray(D @ X_old)  # n x k
        C = None
    if C is None:
        scale = np.where(active, 1.0 / np.where(active, budget, 1.0), 0.0)
    else:
        c1 = np.abs(C).sum(axis=0)  # ||R_W c_j|| <= tau ||c_j||_1 for a uniform column tolerance tau
        ok = active & (c1 > 0)
        if not ok.any():  # the changed coefficients meet no output of any plan
            return X_old.copy(), 0, 0, Correction(corr.kind, 0)
        tau = float(np.min(budget[ok] / c1[ok]))
        scale = np.full(U.shape[1], 1.0 / tau)
    Us = U * scale[None, :]
    del U
    r = Us.shape[1]
    bk = get_backend(backend)
    mixed = np.dtype(inner) != np.dtype(economy.dtype)
    matvecs = iters = 0
    # Stage 0 solves in ``inner`` precision.  A float32 solve reaches a relative residual of about
    # 1e-6, so then the float64 residual of what it found is solved again in float32 down to the
    # absolute tolerance (stage 1).  Whatever is left the float64 check in ``replan`` finishes.
    stages = 2 if mixed else 1
    W = None
    Rk = Us
    for stage in range(stages):
        norms = np.linalg.norm(Rk, axis=0)
        live = np.flatnonzero(norms > 1.0)
        if live.size == 0:
            break
        whole = live.size == r
        sol = solve_output(
            economy, Rk if whole else Rk[:, live], backend=bk, method=solver,
            rtol=_STAGE_RTOL if mixed and stage == 0 else _NO_RTOL, atol=1.0, dtype=inner, raise_on_failure=False,
            keep_on_device=False,
        )
        part = np.asarray(sol.output).reshape(n, -1)
        if W is None and whole:
            W = part.astype(np.float64)
        else:
            if W is None:
                W = np.zeros((n, r))
            if whole:
                W += part
            else:
                W[:, live] += part
        matvecs += sol.matvecs
        iters += sol.iterations
        if stage + 1 < stages:
            Rk = _f64_residual(bk, economy, Us, W)
            matvecs += r
    corr = Correction(corr.kind, r)
    if W is None:
        return X_old.copy(), matvecs, iters, corr
    W *= np.where(scale > 0, 1.0 / np.where(scale > 0, scale, 1.0), 0.0)[None, :]
    dX = W if C is None else W @ C
    dX += X_old
    return dX, matvecs, iters, corr


def _moved(X: np.ndarray, X_old: np.ndarray, labels: pd.Index | None, plans: pd.Index, codes: np.ndarray,
           names: pd.Index, threshold: float, abs_threshold: float, noise: float) -> pd.DataFrame:
    """Entries with ``|new - old| > max(threshold |old|, abs_threshold, noise max_i |new_ij|)``, in one pass.

    The pass runs over blocks of rows small enough (about 1 MB) that the
    temporaries stay in the cache, and gathers each plan's largest output on the
    way; the solve's noise floor (``noise`` times that) is applied to the few
    candidates afterwards.  Every output is read once.
    """
    n, k = X.shape
    step = max(256, (1 << 17) // max(k, 1))
    R, Cc = [], []
    top = np.zeros(k)
    for i0 in range(0, n, step):
        old, new = X_old[i0:i0 + step], X[i0:i0 + step]
        d = np.subtract(new, old)
        np.abs(d, out=d)
        lim = np.abs(old)
        lim *= threshold
        np.maximum(lim, abs_threshold, out=lim)
        hit = d > lim
        np.maximum(top, np.abs(new).max(axis=0, initial=0.0), out=top)
        if hit.any():
            r, c = np.nonzero(hit)
            R.append(r + i0)
            Cc.append(c)
    cat = (lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64))
    r, c = cat(R), cat(Cc)
    old, new = X_old[r, c], X[r, c]
    keep = np.abs(new - old) > noise * top[c]
    r, c, old, new = r[keep], c[keep], old[keep], new[keep]
    change = new - old
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(old != 0, change / np.abs(old), np.sign(change) * np.inf)
    sec = codes[r]
    order = np.lexsort((c, -np.abs(rel), sec))
    r, c, old, new, change, rel, sec = (a[order] for a in (r, c, old, new, change, rel, sec))
    prod = labels[r] if labels is not None else r
    return pd.DataFrame({"sector": names[sec] if len(names) else sec, "product": prod, "plan": plans[c],
                         "old": old, "new": new, "change": change, "relative": rel})


def _choose(meth: str, X_old, D, n: int, k: int, notes: list) -> str:
    """The method ``"auto"`` stands for (and the others checked)."""
    if meth not in REPLAN_METHODS:
        raise InvalidOptionError(
            f"method must be 'auto', 'correction', 'warm', 'cold', 'verify' or 'unchanged', got {meth!r}")
    if X_old is None:
        return "cold"
    if meth == "auto":
        if n <= _DENSE_BELOW:
            return "cold"
        if D is None:
            return "warm"
        r = _factor(D, k)[0].rank
        # solving for the correction pays when it needs at most half as many columns as there
        # are plans; otherwise its initial residual is the warm start's and a warm start is cheaper
        if 2 * r <= k:
            return "correction"
        notes.append(f"the change has rank {r} >= {k}/2 plans: warm start from the previous outputs")
        return "warm"
    if meth == "unchanged" and (D is not None and D.nnz):
        raise InvalidOptionError("method='unchanged' is for coefficients that did not change; delta= holds changes")
    if meth == "correction" and D is None:
        raise InvalidOptionError("method='correction' needs delta= or old_economy= (what changed)")
    return meth


def _inner_dtype(inner_dtype: Any) -> np.dtype | None:
    """``inner_dtype`` checked: None for ``"auto"``, else float32 or float64 (anything else refused)."""
    if isinstance(inner_dtype, str) and inner_dtype == "auto":
        return None
    if inner_dtype is None:
        raise InvalidOptionError("inner_dtype must be 'auto', numpy.float32 or numpy.float64, got None")
    try:
        return working_dtype(inner_dtype)
    except InvalidOptionError:
        raise InvalidOptionError(
            f"inner_dtype must be 'auto', numpy.float32 or numpy.float64 (the inner solves' precision), "
            f"got {inner_dtype!r}") from None


def replan(
    economy: Economy,
    final_demand: Any,
    previous: Any = None,
    *,
    delta: Any = None,
    old_economy: Economy | None = None,
    residual: Any = None,
    method: str = "auto",
    threshold: float = 0.01,
    abs_threshold: float = 0.0,
    sectors: Any = None,
    backend: Any = "auto",
    solver: Any = "auto",
    rtol: float = 1e-10,
    inner_dtype: Any = "auto",
    plans: Sequence | None = None,
    version: int | None = None,
    raise_on_failure: bool = True,
) -> ReplanReport:
    """Re-solve plans after a revision of the coefficients, warm-started, and report what moved.

    Parameters
    ----------
    economy : Economy
        The revised economy.
    final_demand : array_like (n,) or (n, k), pandas Series/DataFrame, or mapping ``{plan: vector}``
        The plans' final-demand targets, aligned by label as in :func:`~bigplan.solve_output`.
    previous : same forms, optional
        Their outputs before the revision (None: solve cold).
    delta : scipy.sparse matrix or (rows, cols, change) arrays, optional
        ``A_new - A_old`` (the store passes the ledger's changes).
    old_economy : Economy, optional
        The economy before the revision (``delta`` is then computed from it).
    residual : array_like (k,), optional
        The previous outputs' relative residuals on the old economy (tightens the budget).
    method : {"auto", "correction", "warm", "cold", "verify", "unchanged"}
        ``"correction"`` solves for the change through its changed columns or rows
        (see the module notes); ``"warm"`` calls :func:`~bigplan.solve_output` with
        ``x0=previous``; ``"cold"`` ignores the previous outputs; ``"verify"`` only
        checks them; ``"unchanged"`` (the coefficients did not change since
        ``previous`` was solved; needs ``residual``) keeps them and their recorded
        residuals without a solve.  ``"auto"``: ``"cold"`` for small economies (dense LU is exact),
        ``"correction"`` when the change is known and has rank at most half the
        number of plans, else ``"warm"``.
    threshold : float
        Report a product of a plan when its output moved by more than this
        fraction of its old value...
    abs_threshold : float
        ...and by more than this amount.  Moves under ``10 * rtol * max|x|`` (the
        solve's own precision) are never reported.
    sectors : see :func:`sector_codes`
    backend : {"auto", "numpy", "cupy", "jax"} or Backend
    solver : str or method object
        The method of :func:`~bigplan.solve_output` (``"auto"``, ``"bicgstab"``...).
    rtol : float
        Every plan ends with ``||y - (I - A') x|| <= rtol ||y||``, as a cold solve.
    inner_dtype : {"auto", numpy.float32, numpy.float64}
        Precision of the correction's inner solves (``"auto"``: the economy's).
        float32 halves the memory traffic (worth it on GPUs; about 1.4x per
        product on CPUs); the float64 check keeps the final guarantee.
    plans : sequence, optional
        Plan names (default the DataFrame's columns, or 0..k-1).
    version : int, optional
        Recorded in the report.
    raise_on_failure : bool
        Raise :class:`~bigplan.ConvergenceError` when a plan misses ``rtol``.

    Returns
    -------
    ReplanReport

    Raises
    ------
    UnknownProductError, LabelError
        Labelled plans name a product the economy lacks, or lack one.
    ShapeError, InvalidDemandError
        Plans of the wrong shape, or with NaN or infinite targets.
    InvalidOptionError
        An option out of range (``method``, ``inner_dtype`` not float32/float64,
        ``version`` not a whole number >= 1...), checked before any solve.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.inventory import replan
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labels=["grain", "iron"])
    >>> Y = np.array([[10.0, 12.0], [5.0, 4.0]])
    >>> X = bigplan.solve_output(e, Y).output
    >>> e2 = e.with_changes({("iron", "grain"): 0.3})
    >>> rep = replan(e2, Y, X, old_economy=e, threshold=0.01)
    >>> sorted(set(rep.moved["product"])), bool(np.allclose(rep.output, bigplan.solve_output(e2, Y).output))
    (['grain', 'iron'], True)
    """
    t0 = time.perf_counter()
    rtol = check_rtol(rtol)
    if not isinstance(economy, Economy):
        raise InvalidOptionError(f"economy must be a bigplan.Economy, got {type(economy).__name__}")
    inner_req = _inner_dtype(inner_dtype)
    version = check_int(version, "version", lo=1, allow_none=True)
    Y, cols = _block(economy, final_demand, "final demand")
    n, k = Y.shape
    if plans is None:
        plans = cols if cols is not None else pd.RangeIndex(k)
    plans = pd.Index(plans, name="plan")
    if len(plans) != k:
        raise ShapeError(f"{len(plans)} plan names for {k} plans")
    X_old = None
    if previous is not None:
        X_old, _ = _block(economy, previous, "previous outputs")
        if X_old.shape != Y.shape:
            raise ShapeError(f"previous outputs have shape {X_old.shape}; final demand {Y.shape}")
    threshold = check_real(threshold, "threshold", lo=0.0)
    abs_threshold = check_real(abs_threshold, "abs_threshold", lo=0.0)
    D = _delta_matrix(economy, delta, old_economy)
    notes: list[str] = []
    meth = _choose(method, X_old, D, n, k, notes)
    matvecs = iters = 0
    corr = Correction(meth)
    inner = np.dtype(economy.dtype)
    x0 = None if meth == "cold" else X_old
    if meth == "correction":
        inner = np.dtype(economy.dtype) if inner_req is None else inner_req
        if D.nnz == 0:
            corr = Correction("nothing changed")
        else:
            ynorm = np.linalg.norm(Y, axis=0)
            res_old = np.full(k, np.nan) if residual is None else np.asarray(residual, np.float64).reshape(k)
            slack = np.where(np.isfinite(res_old), np.maximum(rtol - res_old, 0.25 * rtol), 0.5 * rtol)
            budget = 0.9 * slack * ynorm
            x0, matvecs, iters, corr = _correction(economy, Y, X_old, D, budget, backend=backend, solver=solver,
                                                   inner=inner)
    if meth == "unchanged":
        if residual is None:
            raise InvalidOptionError("method='unchanged' needs residual= (the previous outputs' relative residuals)")
        sol = _Kept(X_old, np.asarray(residual, np.float64).reshape(k), rtol, raise_on_failure)
    else:
        sol = solve_output(economy, Y, backend=backend, method=solver, rtol=rtol, x0=x0,
                           raise_on_failure=raise_on_failure, keep_on_device=False)
    X = np.asarray(sol.output, dtype=np.float64).reshape(n, k)
    if meth in ("warm", "cold"):
        corr = Correction(meth, k)
    matvecs += sol.matvecs
    iters += sol.iterations
    if meth in ("correction", "verify") and sol.iterations > 0:
        notes.append(f"the float64 check needed {sol.iterations} more iterations for some plans")
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    codes, names = sector_codes(economy, sectors)
    noise = 10.0 * rtol
    if X_old is None or meth == "unchanged":  # a first solve, or nothing to compare
        if X_old is None:
            notes.append("no previous outputs: every plan was solved from scratch and nothing is reported as moved")
        moved = _moved(X[:0], X[:0], None, plans, codes, names, threshold, abs_threshold, noise)
    else:
        moved = _moved(X, X_old, economy.labels, plans, codes, names, threshold, abs_threshold, noise)
    return ReplanReport(
        output=X,
        previous=X_old,
        plans=plans,
        labels=economy.labels,
        moved=moved,
        threshold=float(threshold),
        abs_threshold=float(abs_threshold),
        evidence=_evidence(sol, meth, iters, matvecs, seconds, notes),
        correction=corr,
        version=version,
        inner_dtype=inner.name,
        report_seconds=time.perf_counter() - t1,
    )


_KEPT_NOTE = "the coefficients did not change since these outputs were solved: they stand, with their recorded residuals"


class _Kept:
    """The previous outputs kept as they are (method ``"unchanged"``): a solution-like record."""

    def __init__(self, X: np.ndarray, residual: np.ndarray, rtol: float, raise_on_failure: bool):
        ok = residual <= rtol
        if raise_on_failure and not ok.all():
            raise ConvergenceError(
                f"method='unchanged': {int((~ok).sum())} plans' recorded residuals exceed rtol={rtol:g}; "
                "re-solve them (method='warm')"
            )
        self.output, self.iterations, self.matvecs = X, 0, 0
        self.evidence = Evidence(
            converged=bool(ok.all()), status=np.where(ok, Status.CONVERGED, Status.MAX_ITERATIONS), iterations=0,
            residual=residual, backend="none", method="unchanged", matvecs=0,
            notes=(_KEPT_NOTE,),
        )


def _evidence(sol, method: str, iterations: int, matvecs: int, seconds: float, notes: list) -> Evidence:
    """The re-plan's evidence: the final check's per-plan status and residual, the whole update's cost."""
    ev = sol.evidence
    return Evidence(converged=ev.converged, status=ev.status, iterations=int(iterations), residual=ev.residual,
                    backend=ev.backend, method=method, matvecs=int(matvecs), seconds=seconds,
                    notes=tuple(notes) + ev.notes)


class Replanner:
    """Keeps plans and their outputs in memory and re-plans them after each revision.

    Parameters
    ----------
    economy : Economy
    final_demand : array_like (n,) or (n, k), pandas Series/DataFrame, or mapping ``{plan: vector}``
    outputs : same forms, optional
        Current outputs (solved now when omitted).
    **options
        Defaults for :func:`replan` (``threshold``, ``sectors``, ``backend``, ``rtol``...);
        another name is an :class:`~bigplan.InvalidOptionError` here, not at the first update.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.inventory import Replanner
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]))
    >>> rp = Replanner(e, np.array([10.0, 5.0]))
    >>> report = rp.update(e.with_changes({(0, 1): 0.35}))
    >>> report.output.shape
    (2, 1)
    """

    def __init__(self, economy: Economy, final_demand: Any, outputs: Any = None, **options: Any):
        _check_option_names(options, "Replanner")
        self.options = options
        self.economy = economy
        self.final_demand, cols = _block(economy, final_demand, "final demand")
        self.plans = pd.Index(cols if cols is not None else pd.RangeIndex(self.final_demand.shape[1]), name="plan")
        if outputs is None:
            rtol = options.get("rtol", 1e-10)
            sol = solve_output(economy, self.final_demand, backend=options.get("backend", "auto"),
                               method=options.get("solver", "auto"), rtol=rtol, keep_on_device=False)
            self.outputs = np.asarray(sol.output, np.float64).reshape(self.final_demand.shape)
            self.residual = np.atleast_1d(sol.residual)
        else:
            self.outputs, _ = _block(economy, outputs, "outputs")
            if self.outputs.shape != self.final_demand.shape:
                raise ShapeError(f"outputs have shape {self.outputs.shape}; final demand {self.final_demand.shape}")
            self.residual = None

    def update(self, economy: Economy, *, delta: Any = None, **options: Any) -> ReplanReport:
        """Re-plan on a revised economy; the new outputs become the current ones."""
        _check_option_names(options, "Replanner.update")
        kw = {**self.options, **options}
        rep = replan(economy, self.final_demand, self.outputs, delta=delta,
                     old_economy=None if delta is not None else self.economy, residual=self.residual,
                     plans=self.plans, **kw)
        self.economy, self.outputs, self.residual = economy, rep.output, rep.residual
        return rep


#: What :class:`Replanner` passes on to :func:`replan` itself (not options).
_FIXED = ("economy", "final_demand", "previous", "delta", "old_economy", "residual", "plans")


def _check_option_names(options: dict, where: str) -> None:
    """Refuse option names :func:`replan` does not take, up front, listing the accepted ones."""
    accepted = [p for p in inspect.signature(replan).parameters if p not in _FIXED]
    bad = sorted(str(k) for k in options if k not in accepted)
    if bad:
        raise InvalidOptionError(f"{where} got unknown option(s) {bad}; accepted: {', '.join(accepted)}")
