"""The re-plan itself (:func:`replan`) and the in-memory :class:`Replanner`."""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._evidence import Evidence, Status
from .._methods import working_dtype
from .._options import check_bool, check_int, check_real, check_rtol
from ..backend import get_backend
from ..economy import Economy
from ..errors import ConvergenceError, InvalidOptionError, ShapeError
from ..static import solve_output
from .correction import CERTIFY_SHARE, certify, delta_matrix, factor_change, host_block, solve_correction
from .passes import capacity_limit, capacity_table, moved_pass, short_rows
from .report import Correction, ReplanReport, sector_codes

__all__ = ["REPLAN_METHODS", "Replanner", "replan"]

DENSE_BELOW = 2000  # like Auto: below this a dense LU re-solve is exact and cheap
#: The rounding allowance of a certified residual, in units of eps (1 + r) / (1 - r), r the
#: economy's spectral radius bound: about what evaluating the residual in float64 would err by.
ROUNDING = 16.0
#: The methods :func:`replan` accepts (the store checks its ``method=`` against these up front).
REPLAN_METHODS = ("auto", "correction", "warm", "cold", "verify", "unchanged")


def _choose(meth: str, X_old, D, n: int, k: int, notes: list) -> str:
    """The method ``"auto"`` stands for (and the others checked)."""
    if meth not in REPLAN_METHODS:
        raise InvalidOptionError(
            f"method must be 'auto', 'correction', 'warm', 'cold', 'verify' or 'unchanged', got {meth!r}")
    if X_old is None:
        return "cold"
    if meth == "auto":
        if n <= DENSE_BELOW:
            return "cold"
        if D is None:
            return "warm"
        r = factor_change(D, k)[0].rank
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
    measure: bool = False,
    capacity: Any = None,
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
    measure : bool
        After a correction, measure every plan's residual (one product of ``A'``
        with all the outputs).  By default a plan whose ``residual`` was given is
        certified by a bound instead: the previous residual plus what the
        correction's own float64 solve left (``R' = R + R_W C`` exactly; see the
        module notes), and only the plans the bound does not certify are measured.
    capacity : array_like (n,), pandas Series or mapping ``{product: capacity}``, optional
        Recorded capacity (``inf``, or a product left out of a Series or
        mapping: none recorded).  The products some plan asks more of (by more
        than ``rtol`` of the capacity) are found in the pass that finds the moves
        and reported as ``report.capacity``.

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
    measure = check_bool(measure, "measure")
    cap = cap_lim = None
    if capacity is not None:
        cap, cap_lim = capacity_limit(economy, capacity, rtol)
    Y, cols = host_block(economy, final_demand, "final demand")
    n, k = Y.shape
    if plans is None:
        plans = cols if cols is not None else pd.RangeIndex(k)
    plans = pd.Index(plans, name="plan")
    if len(plans) != k:
        raise ShapeError(f"{len(plans)} plan names for {k} plans")
    X_old = None
    if previous is not None:
        X_old, _ = host_block(economy, previous, "previous outputs")
        if X_old.shape != Y.shape:
            raise ShapeError(f"previous outputs have shape {X_old.shape}; final demand {Y.shape}")
    threshold = check_real(threshold, "threshold", lo=0.0)
    abs_threshold = check_real(abs_threshold, "abs_threshold", lo=0.0)
    D = delta_matrix(economy, delta, old_economy)
    notes: list[str] = []
    meth = _choose(method, X_old, D, n, k, notes)
    matvecs = iters = 0
    corr = Correction(meth)
    inner = np.dtype(economy.dtype)
    x0 = None if meth == "cold" else X_old
    certified = bound = factors = None
    if meth == "correction":
        inner = np.dtype(economy.dtype) if inner_req is None else inner_req
        if D.nnz == 0:
            corr = Correction("nothing changed")
        else:
            ynorm = np.sqrt(get_backend("numpy").coldot(Y, Y))  # threaded, no temporary block
            res_old = np.full(k, np.nan) if residual is None else np.asarray(residual, np.float64).reshape(k)
            slack = np.where(np.isfinite(res_old), np.maximum(rtol - res_old, 0.25 * rtol), 0.5 * rtol)
            # a tenth of rtol per revision: the bound below then certifies about ten revisions in a
            # row before one needs the measured check (a smaller budget costs a few iterations)
            budget = 0.9 * np.minimum(slack, CERTIFY_SHARE * rtol) * ynorm
            x0, matvecs, iters, corr, growth, factors = solve_correction(economy, Y, X_old, D, budget, backend=backend,
                                                                    solver=solver, inner=inner)
            r_up = float(economy.productivity.upper)
            if growth is not None and not measure and r_up < 1.0:
                # forming X + W C rounds each output: allow for it as a residual evaluation would err
                allowance = ROUNDING * np.finfo(np.float64).eps * (1.0 + r_up) / (1.0 - r_up)
                with np.errstate(divide="ignore", invalid="ignore"):
                    bound = np.where(ynorm > 0, res_old + growth / np.where(ynorm > 0, ynorm, 1.0) + allowance,
                                     np.inf)
                certified = np.isfinite(bound) & (bound <= rtol)
    if meth == "unchanged":
        if residual is None:
            raise InvalidOptionError("method='unchanged' needs residual= (the previous outputs' relative residuals)")
        sol = _Kept(X_old, np.asarray(residual, np.float64).reshape(k), rtol, raise_on_failure)
    elif certified is not None and certified.any():
        sol = certify(economy, Y, x0, bound, certified, backend=backend, solver=solver, rtol=rtol,
                         raise_on_failure=raise_on_failure)
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
        moved, _, _ = moved_pass(X[:0], X[:0], None, plans, codes, names, threshold, abs_threshold, noise)
        peak = X.max(axis=1) if k else np.full(n, -np.inf)
        short = None
        if cap_lim is not None:
            (rows,) = np.nonzero(peak > cap_lim)
            short = (rows, *short_rows(X, rows, cap_lim))
    else:
        moved, peak, short = moved_pass(X, X_old, economy.labels, plans, codes, names, threshold, abs_threshold,
                                        noise, cap_lim)
    cap_table = None
    if short is not None:
        cap_table = capacity_table(short[0], short[1], short[2], peak[short[0]], cap, economy.labels, plans, codes,
                                   names)
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
        peak=peak,
        capacity=cap_table,
        factors=None if factors is None or certified is None else (*factors, certified.copy()),
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
        self.final_demand, cols = host_block(economy, final_demand, "final demand")
        self.plans = pd.Index(cols if cols is not None else pd.RangeIndex(self.final_demand.shape[1]), name="plan")
        if outputs is None:
            rtol = options.get("rtol", 1e-10)
            sol = solve_output(economy, self.final_demand, backend=options.get("backend", "auto"),
                               method=options.get("solver", "auto"), rtol=rtol, keep_on_device=False)
            self.outputs = np.asarray(sol.output, np.float64).reshape(self.final_demand.shape)
            self.residual = np.atleast_1d(sol.residual)
        else:
            self.outputs, _ = host_block(economy, outputs, "outputs")
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
