#!/usr/bin/env python
"""Robustness campaign: bad and odd-but-valid inputs at every public entry point, each outcome classified.

About 780 bad inputs (NaN, inf, complex, wrong length or ndim, ragged, strings, None, empty, negative, labels
unknown / missing / duplicated, options out of range) and about 200 odd-but-valid ones (shuffled labels, int and
bool data, float32, magnitudes 1e+-200, one product, empty rows, spectral radius 0.999, int / tuple / MultiIndex
labels), plus ``--random N`` seeded random static problems, run one by one in worker processes with a
per-probe timeout.  A bad input ends as

* ``typed``: a :class:`bigplan.errors.BigplanError` (for the CLI: an exit status other than 0 and 1 with a
  one-line ``error:`` message and no traceback),
* ``plain``: a ``ValueError``/``TypeError`` (or ``OSError``) raised by a ``raise`` statement in bigplan's
  own code, but not a ``BigplanError``,
* ``raw``: any other exception (NumPy, SciPy, pandas, SQLite, json, ``AttributeError``, ``KeyError``, a
  ``ValueError`` NumPy raised inside bigplan's call to it...),
* ``silent``: returned normally (the data was accepted),
* ``hang``: still running after ``--timeout`` seconds (the worker is killed);

an odd-but-valid input as ``ok`` (the answer agrees with an independent dense NumPy computation made in the
probe: ``np.linalg.solve`` on the dense ``I - A``, the relative residual recomputed in long double on scaled
data, labels aligned by value), ``wrong`` (returned, fails the check; the line says whether it was marked
converged), ``refused`` (a typed refusal of a valid input), ``raw`` or ``hang``.  ``n/a``: the probe uses an
option or module the library under test does not have (an older tree).  A typed refusal is also checked for
naming the argument it refuses (where the probe passes it by keyword): the report lists those that do not.

Every probe is one line of Python over a few named fixtures (printed at the top of the report), so each
finding comes with its reproduction.  Seeded and deterministic: the same tree gives the same table.

Examples::

    python benchmarks/probe_campaign.py --json /tmp/probes.json          # the whole campaign (~1 min, 2 cores)
    python benchmarks/probe_campaign.py --random 1500 --only random_static   # 1,500 random static problems
    python benchmarks/probe_campaign.py --quick                          # a smoke subset
    python benchmarks/probe_campaign.py --only solve_output --workers 1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

# -- fixtures: named one-liners the probes refer to ------------------------------------------------------------
FIXTURES = {
    "A2": "A2 = np.array([[.1, .3], [.2, .1]])",
    "e2": "e2 = bigplan.Economy(A2)",
    "A3": "A3 = np.array([[.1, .2, 0.], [.05, .1, .3], [.2, 0., .1]])",
    "L3": "L3 = ['a', 'b', 'c']",
    "l3": "l3 = np.array([1., 2., .5])",
    "y3": "y3 = np.array([1., 2., 3.])",
    "e3": "e3 = bigplan.Economy(A3, labour=l3, labels=L3)",
    "B3": "B3 = np.array([[.5, .2, 0.], [.1, .4, .2], [0., .3, .6]])",
    "ek": "ek = bigplan.Economy(A3, labour=l3, labels=L3, capital=B3, depreciation=.05, capacity=[10., 10., 10.], "
          "stocks=[1., 1., 1.], labour_supply=100.)",
    "en": "en = bigplan.Economy(A3, labour=l3, labels=L3, capital=B3, depreciation=.05)",
    "ys": "ys = pd.Series([3., 1., 2.], index=['c', 'a', 'b'])",
    "Ac": "Ac = 0.999 * np.roll(np.eye(50), 1, axis=0)",
    "ec": "ec = bigplan.Economy(Ac)",
    "S": "S = bigplan.inventory.open_store(os.path.join(T, 's')); S.commit(ek, author='p', reason='init'); "
         "S.add_plans({'base': pd.Series(y3, index=L3)}, author='p')",
    "tech": "tech = bigplan.activity.Technology(A3, [0, 1, 2], l3, products=L3)",
    "E71": "E71 = bigplan.io.default_economy()",
    "csv_ok": "csv_ok = write(T, 'd.csv', 'code,p\\n' + ''.join(f'{c},{1.0 + i % 7}\\n' for i, c in "
              "enumerate(E71.labels[::-1])))",
}
_NAMES = re.compile(r"\b(" + "|".join(sorted(FIXTURES, key=len, reverse=True)) + r")\b")


@dataclass(frozen=True)
class Probe:
    """One call: ``code`` (Python, the result bound to ``_``), ``check`` for a valid input (an expression
    returning ``(ok, message)``; ``None`` for a bad input)."""

    id: str
    entry: str
    kind: str  # "bad" or "valid"
    code: str
    check: str | None = None
    static: bool = False  # static core: in the CI subset
    hang_prone: bool = False


def fixture_code(code: str) -> list[str]:
    """The fixture lines a probe needs, dependencies first."""
    need, todo = [], list(_NAMES.findall(code))
    while todo:
        name = todo.pop()
        if name in need:
            continue
        need.append(name)
        todo.extend(d for d in _NAMES.findall(FIXTURES[name].split("=", 1)[1]) if d not in need)
    order = list(FIXTURES)
    return [FIXTURES[n] for n in sorted(need, key=order.index)]


def repro(p: Probe) -> str:
    return "; ".join(fixture_code(p.code + " " + (p.check or "")) + [p.code])


# -- independent checks (dense NumPy, long double) ------------------------------------------------------------
def _scaled_residual(M, X, Y) -> float:
    """max over plans of ||Y - M X|| / ||Y|| in long double on data scaled by max|Y| (no overflow)."""
    Y = np.asarray(Y, dtype=np.longdouble).reshape(len(M), -1)
    X = np.asarray(X, dtype=np.longdouble).reshape(len(M), -1)
    s = np.max(np.abs(Y)) if np.any(Y) else np.longdouble(1)
    R = Y / s - np.asarray(M, dtype=np.longdouble) @ (X / s)
    ny = np.sqrt(np.sum((Y / s) ** 2, axis=0))
    nr = np.sqrt(np.sum(R ** 2, axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(ny > 0, nr / np.where(ny > 0, ny, 1), nr)
    return float(np.max(rel))


def _verdict(ok: bool, msg: str, result) -> tuple[bool, str]:
    if not ok:
        conv = getattr(result, "converged", None)
        if conv is not None:
            msg += f" [marked converged={bool(np.all(conv))}]"
    return ok, msg


def chk_out(sol, A, Y, tol=1e-7, labels=None):
    """``sol.output`` against ``solve(I - A, Y)``; ``labels``: expected ``to_frame()`` index."""
    A = np.asarray(A, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    M = np.eye(len(A)) - A
    s = np.max(np.abs(Y)) if np.any(Y) else 1.0
    ref = np.linalg.solve(M, Y / s)
    X = np.asarray(sol.output, dtype=np.float64)
    if X.shape != np.shape(Y):
        return _verdict(False, f"output shape {X.shape}, expected {np.shape(Y)}", sol)
    Xs = X / s
    if not np.all(np.isfinite(Xs)):
        return _verdict(False, "output has NaN/inf", sol)
    den = np.max(np.abs(ref)) or 1.0
    err = float(np.max(np.abs(Xs - ref)) / den) if ref.size else 0.0
    res = _scaled_residual(M, X, Y)
    ok = err <= tol and res <= max(tol, 1e-12)
    msg = f"rel.err {err:.2e}, recomputed residual {res:.2e}"
    if ok and labels is not None and list(sol.to_frame().index) != list(labels):
        ok, msg = False, f"to_frame index {list(sol.to_frame().index)} != {list(labels)}"
    if ok and not bool(np.all(sol.converged)):
        ok, msg = False, msg + " but converged=False"
    return _verdict(ok, msg, sol)


def chk_val(vs, A, Lrows, tol=1e-7):
    """``vs.values`` against ``solve((I - A)^T, l)`` for each labour row."""
    A = np.asarray(A, dtype=np.float64)
    Lrows = np.atleast_2d(np.asarray(Lrows, dtype=np.float64))
    ref = np.linalg.solve((np.eye(len(A)) - A).T, Lrows.T).T
    V = np.atleast_2d(np.asarray(vs.values, dtype=np.float64))
    if V.shape != ref.shape:
        return _verdict(False, f"values shape {V.shape}, expected {ref.shape}", vs)
    err = float(np.max(np.abs(V - ref)) / (np.max(np.abs(ref)) or 1.0))
    return _verdict(err <= tol and bool(np.all(vs.converged)), f"rel.err {err:.2e}", vs)


def chk_vec(got, expected, tol=1e-9):
    """Equal by value (arrays, or anything ``np.asarray`` takes)."""
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        return False, f"shape {g.shape}, expected {e.shape}"
    err = float(np.max(np.abs(g - e)) / (np.max(np.abs(e)) or 1.0)) if e.size else 0.0
    return err <= tol, f"rel.diff {err:.2e}: got {np.round(g.ravel()[:6], 6).tolist()}, " \
                       f"expected {np.round(e.ravel()[:6], 6).tolist()}"


def chk_growth(g, A, B, delta, tol=1e-5):
    """``g.rate`` against ``1 / rho((I - A - B diag(delta))^{-1} B)`` (dense eigenvalues)."""
    A, B = np.asarray(A, float), np.asarray(B, float)
    Aeff = A + B * np.asarray(delta, float)[None, :]
    rho = max(abs(np.linalg.eigvals(np.linalg.solve(np.eye(len(A)) - Aeff, B))))
    ref = 1.0 / rho
    err = abs(g.rate - ref) / ref
    ok = err <= tol and g.lower <= ref * (1 + 1e-9) and g.upper >= ref * (1 - 1e-9)
    return ok, f"rate {g.rate:.8g}, dense {ref:.8g}, bounds [{g.lower:.8g}, {g.upper:.8g}]"


def chk_res(sol, A, Y, rtol):
    """Random problems: the answer finite, marked converged, and its residual, recomputed in long double on
    scaled data, within ``rtol`` (x 10 for rounding); the error against the dense solve within the residual
    times the condition number."""
    A = np.asarray(A, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    X = np.asarray(sol.output, dtype=np.float64)
    if X.shape != Y.shape or not np.all(np.isfinite(X)):
        return _verdict(False, f"output shape {X.shape} (expected {Y.shape}) or not finite", sol)
    M = np.eye(len(A)) - A
    res = _scaled_residual(M, X, Y)
    cond = np.linalg.cond(M)
    Yc = Y.reshape(len(A), -1)
    s = np.max(np.abs(Yc), axis=0)
    s[s == 0] = 1.0
    ref = np.linalg.solve(M, Yc / s)
    Xs = X.reshape(len(A), -1) / s
    den = np.maximum(np.linalg.norm(ref, axis=0), 1e-300)
    err = float(np.max(np.linalg.norm(Xs - ref, axis=0) / den))
    ok = res <= 10 * rtol and err <= 10 * cond * rtol + 1e-12 and bool(np.all(sol.converged))
    return _verdict(ok, f"recomputed residual {res:.2e} (rtol {rtol:g}), rel.err {err:.2e}, cond {cond:.2e}", sol)


def rand_A(seed, dtype=np.float64):
    """A random productive economy (dense, n in 1..40, spectral radius in [0, 0.99]), rounded to ``dtype``."""
    rng = np.random.default_rng([14, seed])
    n = int(rng.integers(1, 41))
    A = rng.random((n, n)) * (rng.random((n, n)) < rng.uniform(0.05, 1.0))
    rho = max(abs(np.linalg.eigvals(A))) if A.any() else 0.0
    if rho > 0:
        A *= rng.uniform(0.0, 0.99) / rho
    return A.astype(dtype).astype(np.float64)


def rand_y(seed, span=250.0):
    """Random plans for ``rand_A(seed)``: 1-4 plans, magnitudes 10^+-span (mixed within a plan by up to
    10^+-span/5), signs, zeros; every entry and every answer finite in float64."""
    rng = np.random.default_rng([15, seed])
    n = rand_A(seed).shape[0]
    k = int(rng.integers(1, 5))
    Y = rng.random((n, k)) * 10.0 ** rng.uniform(-span, span, size=k)
    if rng.random() < 0.3:
        Y *= 10.0 ** rng.uniform(-span / 5, span / 5, size=(n, k))
    if rng.random() < 0.3:
        Y *= np.where(rng.random((n, k)) < 0.3, -1.0, 1.0)
    if rng.random() < 0.2:
        Y[rng.random((n, k)) < 0.5] = 0.0
    return Y[:, 0] if k == 1 and rng.random() < 0.5 else Y


def random_probes(count: int) -> list[Probe]:
    """``count`` random static problems (seeded by index): solve_output checked by its recomputed residual."""
    P = []
    for i in range(count):
        rng = np.random.default_rng([16, i])
        meth = ["auto", "bicgstab", "neumann", "direct", "refined"][int(rng.integers(5))]
        store32 = rng.random() < 0.2
        work32 = rng.random() < 0.15 and meth != "refined"  # refined is float64 outside by definition
        rtol = 1e-5 if work32 else float(10.0 ** -rng.integers(6, 11))
        y = f"rand_y({i})" if not work32 else f"rand_y({i}, 15.0)"  # magnitudes float32 can carry
        econ = f"bigplan.Economy(rand_A({i}){', dtype=np.float32' if store32 else ''})"
        code = (f"_ = bigplan.solve_output({econ}, {y}, method='{meth}', rtol={rtol:g}"
                f"{', dtype=np.float32' if work32 else ''})")
        P.append(Probe(f"random_static:{i}", "random_static", "valid", code,
                       f"chk_res(_, rand_A({i}{', np.float32' if store32 else ''}), {y}, {rtol:g})"))
    return P


def chk_true(cond, msg="condition"):
    return bool(cond), msg


def write(folder, name, text):
    path = os.path.join(folder, name)
    with open(path, "w") as fh:
        fh.write(text)
    return path


def cli(*argv):
    """Run ``bigplan.cli.main`` with stdout/stderr captured: (rc, stdout, stderr).  SystemExit is returned as rc."""
    import contextlib
    import io

    import bigplan.cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = bigplan.cli.main(list(argv))
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 2
    return CliResult(rc, out.getvalue(), err.getvalue())


@dataclass
class CliResult:
    rc: int
    stdout: str
    stderr: str


def chk_cli_plan(res, path_out, demand_csv, plan="p"):
    """A CLI run's CSV output column ``plan`` against the dense solve of the default economy."""
    import pandas as pd

    import bigplan

    if res.rc != 0:
        return False, f"rc {res.rc}: {res.stderr.strip()[:200]}"
    e = bigplan.io.default_economy()
    d = pd.read_csv(demand_csv, index_col=0)[plan].reindex(e.labels).to_numpy(float)
    ref = np.linalg.solve(np.eye(e.n) - e.A.toarray(), d)
    table = pd.read_csv(path_out, index_col=0)
    cols = [c for c in table.columns if str(c) in (plan, f"output {plan}", f"{plan} output", f"output_{plan}")]
    if not cols:
        return False, f"no output column for plan {plan!r} in {list(table.columns)[:8]}"
    got = table[cols[0]].reindex(e.labels).to_numpy(float)
    err = float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))
    return err <= 1e-6, f"rel.err {err:.2e} (CSV rounding allowed)"


# -- probe generation -----------------------------------------------------------------------------------------
NAN, INF = "float('nan')", "float('inf')"
VEC_BAD = {  # bad values for one-number-per-product arguments on e3 / ek (labels a, b, c)
    "nan": "[1., float('nan'), 3.]",
    "inf": "[1., float('inf'), 3.]",
    "-inf": "[1., -np.inf, 3.]",
    "complex": "np.array([1 + 1j, 2, 3])",
    "complex0j": "np.array([1 + 0j, 2, 3])",
    "short": "[1., 2.]",
    "long": "[1., 2., 3., 4.]",
    "ndim3": "np.ones((3, 1, 1))",
    "ragged": "[[1., 2.], [3.]]",
    "strings": "['1', 'x', '3']",
    "objects": "np.array([object()] * 3)",
    "none-entry": "[1., None, 3.]",
    "empty": "[]",
    "string": "'abc'",
    "series-unknown": "pd.Series([1., 2., 3.], index=['a', 'b', 'zz'])",
    "series-missing": "pd.Series([1., 2.], index=['a', 'b'])",
    "series-dup": "pd.Series([1., 2., 3.], index=['a', 'a', 'b'])",
    "series-extra": "pd.Series([1., 2., 3., 4.], index=['a', 'b', 'c', 'zz'])",
    "series-nan": "pd.Series([1., np.nan, 3.], index=['c', 'a', 'b'])",
    "series-str": "pd.Series(['x', 'y', 'z'], index=L3)",
    "series-complex": "pd.Series([1 + 1j, 2, 3], index=L3)",
    "map-unknown": "{'a': 1., 'b': 2., 'zz': 3.}",
    "map-missing": "{'a': 1., 'b': 2.}",
    "map-nan": "{'a': 1., 'b': float('nan'), 'c': 3.}",
}
CORE = ("nan", "complex", "short", "ndim3", "strings", "string", "series-unknown", "series-missing", "series-dup",
        "map-unknown")  # the families tried on secondary arguments
VEC_CORE = {k: VEC_BAD[k] for k in CORE}
NEG = {"negative": "[1., -2., 3.]", "series-negative": "pd.Series([1., -2., 3.], index=['c', 'a', 'b'])"}
BLOCK_BAD = {  # extra bad values for plan blocks (products x plans)
    "df-dup-columns": "pd.DataFrame([[1., 1.], [2., 2.], [3., 3.]], index=L3, columns=['p', 'p'])",
    "df-dup-index": "pd.DataFrame({'p': [1., 2., 3.]}, index=['a', 'a', 'b'])",
    "df-unknown": "pd.DataFrame({'p': [1., 2., 3.]}, index=['a', 'b', 'zz'])",
    "df-missing": "pd.DataFrame({'p': [1., 2.]}, index=['a', 'b'])",
    "df-nan": "pd.DataFrame({'p': [1., np.nan, 3.]}, index=L3)",
    "df-str": "pd.DataFrame({'p': ['x', 'y', 'z']}, index=L3)",
    "df-empty": "pd.DataFrame(index=L3)",
    "2d-cols0": "np.ones((3, 0))",
    "2d-transposed": "np.ones((2, 3))",
}
RTOL_BAD = {"0": "0", "1": "1", "2": "2", "inf": INF, "nan": NAN, "-1": "-1", "str": "'x'", "bool": "True"}
ATOL_BAD = {"-1": "-1", "inf": INF, "nan": NAN, "str": "'x'", "bool": "True"}
DTYPE_BAD = {"int": "int", "bool": "bool", "float16": "np.float16", "complex": "complex", "str": "'x'",
             "object": "object", "int32": "np.int32"}
INT_BAD = {"0": "0", "-1": "-1", "2.7": "2.7", "str": "'x'", "bool": "True", "nan": NAN}
METHOD_BAD = {"unknown": "'x'", "int": "3", "object": "object()", "none": "None"}
BACKEND_BAD = {"unknown": "'x'", "int": "3", "cupy-absent": "'cupy'"}


def _bad(out, entry, fam, code, static=False, hang=False):
    out.append(Probe(f"{entry}:{fam}", entry, "bad", code, None, static, hang))


def _ok(out, entry, name, code, check, static=False, hang=False):
    out.append(Probe(f"{entry}:{name}", entry, "valid", code, check, static, hang))


def bad_probes() -> list[Probe]:
    P: list[Probe] = []
    # Economy
    E = "Economy"
    for fam, v in {**VEC_BAD, "nan": "[[.1, float('nan')], [.2, .1]]", "inf": "[[.1, np.inf], [.2, .1]]",
                   "complex": "np.array([[.1, .3j], [.2, .1]])", "non-square": "np.ones((2, 3)) * .1",
                   "ndim3": "np.zeros((2, 2, 2))", "ragged": "[[.1, .2], [.3]]", "strings": "[['a', 'b'], ['c', 'd']]",
                   "none": "None", "empty": "np.zeros((0, 0))", "negative": "[[.1, -.3], [.2, .1]]",
                   "unproductive": "[[.6, .5], [.5, .6]]", "rho1": "[[0., 1.], [1., 0.]]",
                   "objects": "np.array([[object()] * 2] * 2)", "scalar": "0.5", "1d": "[.1, .2]",
                   "sparse-nan": "sp.csr_matrix(np.array([[.1, np.nan], [.2, .1]]))",
                   "sparse-complex": "sp.csr_matrix(np.array([[.1, .3j], [.2, .1]]))",
                   "sparse-neg": "sp.csr_matrix(np.array([[.1, -.3], [.2, .1]]))",
                   "bool-unproductive": "np.ones((2, 2), dtype=bool)"}.items():
        if fam.startswith(("series", "map", "string")) or fam in ("short", "long", "none-entry"):
            continue
        _bad(P, E, f"A-{fam}", f"_ = bigplan.Economy({v})", True)
    for arg in ("labour", "capacity", "stocks"):
        for fam, v in {**(VEC_BAD if arg == "labour" else VEC_CORE), **NEG}.items():
            lead = "A3, labels=L3, " if arg != "labour" else "A3, labels=L3, labour="
            code = f"_ = bigplan.Economy({lead}{v})" if arg == "labour" else f"_ = bigplan.Economy({lead}{arg}={v})"
            _bad(P, E, f"{arg}-{fam}", code, True)
    for fam, v in {"nan": NAN, "-0.1": "-0.1", "1.5": "1.5", "short": "[.1, .1]", "complex": "0.1j",
                   "series-unknown": VEC_BAD["series-unknown"], "series-missing": VEC_BAD["series-missing"],
                   "str": "'x'"}.items():
        _bad(P, E, f"depreciation-{fam}", f"_ = bigplan.Economy(A3, labels=L3, capital=B3, depreciation={v})", True)
    for fam, v in {"nan": "[[np.nan] * 3] * 3", "negative": "-B3", "shape": "np.ones((2, 2))",
                   "complex": "B3 * 1j", "str": "'x'"}.items():
        _bad(P, E, f"capital-{fam}", f"_ = bigplan.Economy(A3, labels=L3, capital={v})", True)
    for fam, v in {"nan": NAN, "-1": "-1.", "short": "[1., 2.]", "str": "'x'", "inf": INF}.items():
        _bad(P, E, f"labour_supply-{fam}", f"_ = bigplan.Economy(A3, labour=l3, labour_supply={v})", True)
    for fam, v in {"string-ab": "'ab'", "short": "['a', 'b']", "dup": "['a', 'a', 'b']",
                   "unhashable": "[[1], [2], [3]]", "none-label": "['a', None, 'c']", "nan-label": "['a', np.nan, 'c']",
                   "scalar": "5", "dup-int": "[1, 1, 2]"}.items():
        _bad(P, E, f"labels-{fam}", f"_ = bigplan.Economy(A3, labels={v})", True)
    for fam, v in {"short": "['x']", "dup": "['w', 'w']", "string": "'ab'"}.items():
        _bad(P, E, f"labour_names-{fam}", f"_ = bigplan.Economy(A3, labour=np.ones((2, 3)), labour_names={v})", True)
    for fam, v in DTYPE_BAD.items():
        _bad(P, E, f"dtype-{fam}", f"_ = bigplan.Economy(A3, dtype={v})", True)
    _bad(P, E, "check-str", "_ = bigplan.Economy(A3, check='x')", True)
    _bad(P, E, "labour-2d-wrong", "_ = bigplan.Economy(A3, labour=np.ones((3, 2)))", True)
    _bad(P, E, "labour-df-dup-columns", "_ = bigplan.Economy(A3, labels=L3, labour=pd.DataFrame(np.ones((3, 2)), "
                                        "index=L3, columns=['w', 'w']))", True)
    # solve_output
    E = "solve_output"
    for fam, v in {**VEC_BAD, **BLOCK_BAD}.items():
        _bad(P, E, f"demand-{fam}", f"_ = bigplan.solve_output(e3, {v})", True)
    _bad(P, E, "demand-none", "_ = bigplan.solve_output(e3, None)", True)
    _bad(P, E, "demand-map-empty", "_ = bigplan.solve_output(e3, {})", True)
    _bad(P, E, "demand-jagged-map", "_ = bigplan.solve_output(e3, {'p': [1., 2., 3.], 'q': [1., 2.]})", True)
    for fam, v in VEC_CORE.items():
        _bad(P, E, f"x0-{fam}", f"_ = bigplan.solve_output(e3, y3, x0={v})", True)
    _bad(P, E, "x0-2plans-for-1", "_ = bigplan.solve_output(e3, y3, x0=np.ones((3, 2)))", True)
    for opt, fams in (("rtol", RTOL_BAD), ("atol", ATOL_BAD), ("dtype", DTYPE_BAD), ("method", METHOD_BAD),
                      ("backend", BACKEND_BAD)):
        for fam, v in fams.items():
            _bad(P, E, f"{opt}-{fam}", f"_ = bigplan.solve_output(e3, y3, {opt}={v})", True)
    for cls in ("BiCGSTAB", "Neumann"):
        for fam, v in INT_BAD.items():
            _bad(P, E, f"{cls}-maxiter-{fam}", f"_ = bigplan.solve_output(e3, y3, method=bigplan.{cls}(maxiter={v}))",
                 True)
    for fam, v in {"0": "0", "-1": "-1", "2.7": "2.7", "str": "'x'"}.items():
        _bad(P, E, f"Direct-max_n-{fam}", f"_ = bigplan.solve_output(e3, y3, method=bigplan.Direct(max_n={v}))", True)
        _bad(P, E, f"BiCGSTAB-max_restarts-{fam}" if fam != "0" else "BiCGSTAB-max_restarts--2",
             f"_ = bigplan.solve_output(e3, y3, method=bigplan.BiCGSTAB(max_restarts={v if fam != '0' else -2}))",
             True)
        _bad(P, E, f"Refined-max_outer-{fam}", f"_ = bigplan.solve_output(e3, y3, method=bigplan.Refined(max_outer={v}))",
             True)
    for fam, v in RTOL_BAD.items():
        _bad(P, E, f"Refined-inner_rtol-{fam}", f"_ = bigplan.solve_output(e3, y3, method=bigplan.Refined(inner_rtol={v}))",
             True)
    for fam, v in {"ndarray": "A3", "none": "None", "str": "'e3'"}.items():
        _bad(P, E, f"economy-{fam}", f"_ = bigplan.solve_output({v}, y3)", True)
    for opt in ("raise_on_failure", "keep_on_device"):
        _bad(P, E, f"{opt}-str", f"_ = bigplan.solve_output(e3, y3, {opt}='x')", True)
    _bad(P, E, "neumann-rho-0.999999", "_ = bigplan.solve_output(bigplan.Economy(0.999999 * np.roll(np.eye(50), 1, "
                                      "axis=0)), np.ones(50), method='neumann')", True, True)
    for fam, v in {"default-rtol": "", "rtol-1e-9": ", rtol=1e-9"}.items():  # float32 cannot resolve the tolerance
        _bad(P, E, f"dtype32-{fam}", f"_ = bigplan.solve_output(e3, y3, dtype=np.float32{v})", True)
        _bad(P, "labour_values", f"dtype32-{fam}", f"_ = bigplan.labour_values(e3, dtype=np.float32{v})", True)
    _bad(P, E, "too-large-for-float32", "_ = bigplan.solve_output(bigplan.Economy(A3, dtype=np.float32), "
                                       "np.full(3, 1e300), dtype=np.float32)", True)
    # labour_values
    E = "labour_values"
    for fam, v in VEC_BAD.items():
        _bad(P, E, f"labour-{fam}", f"_ = bigplan.labour_values(e3, labour={v})", True)
    _bad(P, E, "labour-df-dup-columns", "_ = bigplan.labour_values(e3, labour=pd.DataFrame(np.ones((3, 2)), index=L3, "
                                       "columns=['w', 'w']))", True)
    _bad(P, E, "labour-df-unknown", "_ = bigplan.labour_values(e3, labour=pd.DataFrame({'w': [1., 1., 1.]}, "
                                   "index=['a', 'b', 'zz']))", True)
    _bad(P, E, "no-labour", "_ = bigplan.labour_values(e2)", True)
    for fam, v in {k: VEC_BAD[k] for k in ("nan", "short", "complex", "strings", "series-unknown", "series-missing",
                                             "series-dup", "string")}.items():
        _bad(P, E, f"x0-{fam}", f"_ = bigplan.labour_values(e3, x0={v})", True)
    _bad(P, E, "x0-list-shape", "_ = bigplan.labour_values(e3, x0=[1., 1.])", True)
    for opt, fams in (("rtol", RTOL_BAD), ("atol", ATOL_BAD), ("dtype", DTYPE_BAD), ("method", METHOD_BAD),
                      ("backend", BACKEND_BAD)):
        for fam, v in fams.items():
            _bad(P, E, f"{opt}-{fam}", f"_ = bigplan.labour_values(e3, {opt}={v})", True)
    _bad(P, E, "economy-ndarray", "_ = bigplan.labour_values(A3)", True)
    # choose_method
    E = "choose_method"
    for fam, v in INT_BAD.items():
        _bad(P, E, f"k-{fam}", f"_ = bigplan.choose_method(e3, {v})", True)
    for fam, v in RTOL_BAD.items():
        _bad(P, E, f"rtol-{fam}", f"_ = bigplan.choose_method(e3, 1, rtol={v})", True)
    for fam, v in BACKEND_BAD.items():
        _bad(P, E, f"backend-{fam}", f"_ = bigplan.choose_method(e3, 1, backend={v})", True)
    _bad(P, E, "economy-ndarray", "_ = bigplan.choose_method(A3, 1)", True)
    # with_changes
    E = "with_changes"
    for fam, v in {"float-positions": "{(0.9, 1.7): .25}", "bool-positions": "{(True, 0): .25}",
                   "unknown-label": "{('zz', 'a'): .1}", "nan": "{('a', 'b'): float('nan')}",
                   "inf": "{('a', 'b'): np.inf}", "negative": "{('a', 'b'): -.1}", "complex": "{('a', 'b'): .1j}",
                   "str-value": "{('a', 'b'): 'x'}", "unproductive": "{('a', 'a'): 1.5}", "string": "'ab'",
                   "bad-key": "{'a': .1}", "triple-key": "{('a', 'b', 'c'): .1}", "position-on-labelled": "{(0, 1): .1}",
                   "list-short": "[('a', 'b')]", "none-value": "{('a', 'b'): None}"}.items():
        _bad(P, E, fam, f"_ = e3.with_changes({v})", True)
    for fam, v in {"float-positions": "{(0.9, 1.7): .25}", "out-of-range": "{(0, 5): .1}", "negative-pos": "{(-1, 0): .1}",
                   "label-on-unlabelled": "{('a', 'b'): .1}"}.items():
        _bad(P, E, f"e2-{fam}", f"_ = e2.with_changes({v})", True)
    for fam, v in {"capacity-nan": "capacity=[1., np.nan, 1.]", "capacity-series-unknown":
                   f"capacity={VEC_BAD['series-unknown']}", "labour-short": "labour=[1., 2.]",
                   "labour-nan": "labour=[1., np.nan, 1.]", "stocks-neg": "stocks=[1., -1., 1.]",
                   "bogus-kw": "bogus=1", "dtype-int": "dtype=int", "check-str": "check='x'"}.items():
        _bad(P, E, fam, f"_ = e3.with_changes({v})", True)
    # positions
    E = "positions"
    for fam, v in {"float": "[0.9]", "float-1.7": "[1.7]", "bool": "[True]", "string": "'ab'", "unknown": "['zz']",
                   "none": "None", "nested": "[['a']]"}.items():
        _bad(P, E, fam, f"_ = e3.positions({v})", True)
    for fam, v in {"float": "[0.9]", "out-of-range": "[5]", "negative": "[-1]", "label": "['a']", "bool": "[True]",
                   "nan": "[np.nan]"}.items():
        _bad(P, E, f"e2-{fam}", f"_ = e2.positions({v})", True)
    # dynamic
    E = "dynamic.max_growth_rate"
    D = "bigplan.dynamic"
    for opt, fams in (("g_max", {"-1": "-1", "0": "0", "nan": NAN, "str": "'x'"}),
                      ("shift", {"nan": NAN, "-1": "-1", "inf": INF, "str": "'x'"}),
                      ("rtol", RTOL_BAD), ("maxiter", INT_BAD), ("depreciation", {"str": "'x'", "nan": NAN}),
                      ("backend", {"unknown": "'x'"})):
        for fam, v in fams.items():
            _bad(P, E, f"{opt}-{fam}", f"_ = {D}.max_growth_rate(ek, {opt}={v})")
    _bad(P, E, "no-capital", f"_ = {D}.max_growth_rate(e3)")
    _bad(P, E, "not-economy", f"_ = {D}.max_growth_rate(A3)")
    E = "dynamic.plan"
    for fam, v in {**VEC_CORE, **NEG}.items():
        _bad(P, E, f"consumption-{fam}", f"_ = {D}.plan(ek, {v}, horizon=3)")
    for arg in ("capacity", "growth"):
        for fam in ("nan", "short", "complex", "strings", "series-unknown", "series-missing", "series-dup", "string"):
            _bad(P, E, f"{arg}-{fam}", f"_ = {D}.plan(ek, y3, horizon=3, {arg}={VEC_BAD[fam]})")
    for opt, fams in (("horizon", INT_BAD), ("growth", {"scalar-nan": NAN, "inf": INF, "-2": "-2", "str": "'x'"}),
                      ("terminal", {"unknown": "'x'", "int": "3"}), ("terminal_growth", {"nan": NAN, "str": "'x'"}),
                      ("method", {"unknown": "'x'"}), ("solver", {"unknown": "'x'"}), ("rtol", RTOL_BAD),
                      ("shortfall_tol", {"-1": "-1", "nan": NAN, "str": "'x'"}),
                      ("max_sweeps", {"0": "0", "-1": "-1", "2.7": "2.7"}),
                      ("expectation_rtol", {"0": "0", "2": "2", "nan": NAN}),
                      ("max_n_exact", {"-1": "-1", "2.7": "2.7"}), ("max_lp_variables", {"-1": "-1", "2.7": "2.7"}),
                      ("time_limit", {"0": "0", "-1": "-1", "nan": NAN}),
                      ("labour_supply", {"nan": NAN, "-1": "-1.", "str": "'x'"})):
        for fam, v in fams.items():
            hz = "" if opt == "horizon" else "horizon=3, "
            _bad(P, E, f"{opt}-{fam}", f"_ = {D}.plan(ek, y3, {hz}{opt}={v})")
    _bad(P, E, "no-capital", f"_ = {D}.plan(e3, y3, horizon=3)")
    E = "dynamic.balanced_plan"
    for opt, fams in (("investment_share", {"-0.1": "-0.1", "1.5": "1.5", "nan": NAN, "str": "'x'"}),
                      ("growth", {"nan": NAN, "-2": "-2", "inf": INF}),
                      ("public_share", {"-0.1": "-0.1", "1.5": "1.5", "nan": NAN}),
                      ("horizon", {"0": "0", "-1": "-1", "2.7": "2.7"}), ("workers", {"-1": "-1", "nan": NAN, "0": "0"}),
                      ("rtol", {"0": "0", "2": "2", "nan": NAN, "str": "'x'"}),
                      ("prices", {k: VEC_BAD[k] for k in ("nan", "short", "series-unknown", "series-missing",
                                                          "series-dup", "complex", "strings")}),
                      ("public", {k: VEC_BAD[k] for k in ("nan", "short", "series-unknown")})):
        for fam, v in fams.items():
            extra = ", growth=0.01" if opt not in ("growth", "investment_share") else ""
            _bad(P, E, f"{opt}-{fam}", f"_ = {D}.balanced_plan(ek, y3{extra}, {opt}={v})")
    for fam in ("nan", "short", "series-unknown", "series-missing", "series-dup", "complex"):
        _bad(P, E, f"consumption-{fam}", f"_ = {D}.balanced_plan(ek, {VEC_BAD[fam]}, growth=0.01)")
    E = "dynamic.frontier"
    for opt, fams in (("growth_rates", {"nan": "[np.nan]", "empty": "[]", "str": "'x'", "-2": "[-2.]", "inf": "[np.inf]",
                                        "2d": "[[0.01]]"}),
                      ("investment_shares", {"1.5": "[1.5]", "nan": "[np.nan]", "-0.1": "[-0.1]"}),
                      ("points", {"0": "0", "-1": "-1", "2.7": "2.7", "str": "'x'"}),
                      ("horizon", {"0": "0", "2.7": "2.7"})):
        for fam, v in fams.items():
            _bad(P, E, f"{opt}-{fam}", f"_ = {D}.frontier(ek, y3, {opt}={v})")
    E = "dynamic.compare"
    for fam, v in {"empty": "{}", "string": "'x'", "list-empty": "[]", "growth-nan": "{'a': {'growth': np.nan}}",
                   "unknown-option": "{'a': {'bogus': 1}}", "not-mapping": "{'a': 3}",
                   "share-1.5": "{'a': {'investment_share': 1.5}}"}.items():
        _bad(P, E, f"proposals-{fam}", f"_ = {D}.compare(ek, {v}, y3)")
    for fam in ("series-unknown", "series-missing", "series-dup", "short", "map-missing"):
        v = VEC_BAD[fam].replace("[1., 2., 3., 4.]", "['x', 'y', 'x', 'y']").replace("[1., 2., 3.]", "['x', 'y', 'x']") \
            .replace("[1., 2.]", "['x', 'y']").replace("1.", "'x'").replace("2.", "'y'")
        _bad(P, E, f"sectors-{fam}", f"_ = {D}.compare(ek, {{'a': {{'growth': .01}}}}, y3, sectors={v})")
    # inventory
    E = "inventory.replan"
    I = "bigplan.inventory"
    for fam, v in {**VEC_CORE, **{k: BLOCK_BAD[k] for k in ("df-dup-columns", "df-dup-index",
                                                                                       "df-unknown")}}.items():
        _bad(P, E, f"demand-{fam}", f"_ = {I}.replan(e3, {v})")
    for fam, v in {"threshold--1": "threshold=-1", "threshold-nan": "threshold=np.nan", "threshold-str": "threshold='x'",
                   "abs_threshold--1": "abs_threshold=-1", "abs_threshold-nan": "abs_threshold=np.nan",
                   "rtol-0": "rtol=0", "rtol-2": "rtol=2", "rtol-nan": "rtol=np.nan", "rtol-1": "rtol=1",
                   "method-unknown": "method='x'", "solver-unknown": "solver='x'", "inner_dtype-str": "inner_dtype='x'",
                   "inner_dtype-int": "inner_dtype=int", "previous-short": "previous=[1., 2.]",
                   "previous-nan": "previous=[1., np.nan, 1.]", "plans-dup": "plans=['p', 'p']",
                   "version-2.7": "version=2.7"}.items():
        _bad(P, E, fam, f"_ = {I}.replan(e3, y3, {v})")
    E = "inventory.Replanner"
    for fam, v in {"demand-nan": "[1., np.nan, 1.]", "demand-series-unknown": VEC_BAD["series-unknown"],
                   "demand-short": "[1., 2.]", "demand-df-dup-columns": BLOCK_BAD["df-dup-columns"]}.items():
        _bad(P, E, fam, f"_ = {I}.Replanner(e3, {v})")
    for fam, v in {"outputs-short": "outputs=[1., 2.]", "outputs-nan": "outputs=[1., np.nan, 1.]",
                   "rtol-2": "rtol=2", "bogus-option": "bogus=1", "threshold-nan": "threshold=np.nan"}.items():
        _bad(P, E, fam, f"_ = {I}.Replanner(e3, y3, {v}).update(e3.with_changes({{('a', 'b'): .25}}))")
    E = "inventory.stock_change"
    for fam, v in VEC_CORE.items():
        _bad(P, E, f"output-{fam}", f"_ = {I}.stock_change(e3, {v})")
    for fam in ("nan", "short", "series-unknown", "series-missing", "complex", "strings"):
        _bad(P, E, f"final_use-{fam}", f"_ = {I}.stock_change(e3, y3, {VEC_BAD[fam]})")
    E = "inventory.simulate_consumer_demand"
    for fam in ("nan", "short", "complex", "strings", "series-unknown", "series-missing", "series-dup", "negative"):
        v = {**VEC_BAD, **NEG}[fam]
        _bad(P, E, f"planned-{fam}", f"_ = {I}.simulate_consumer_demand(ek, {v}, y3, periods=3)")
        _bad(P, E, f"actual-{fam}", f"_ = {I}.simulate_consumer_demand(ek, y3, {v}, periods=3)")
    _bad(P, E, "actual-df-unknown", f"_ = {I}.simulate_consumer_demand(ek, y3, pd.DataFrame(np.ones((3, 3)), "
                                    "index=['a', 'b', 'zz']), periods=3)")
    _bad(P, E, "actual-df-shuffled-columns-products",
         f"_ = {I}.simulate_consumer_demand(ek, y3, pd.DataFrame(np.ones((3, 3)), columns=['zz', 'a', 'b']), periods=3)")
    for opt, fams in (("periods", {"0": "0", "-1": "-1", "2.7": "2.7", "str": "'x'", "bool": "True"}),
                      ("adjustment", {"nan": NAN, "-1": "-1"}), ("price_response", {"nan": NAN}),
                      ("elasticity", {"nan": NAN, "-1": "-1"}), ("min_price", {"-1": "-1", "nan": NAN}),
                      ("tol", {"-1": "-1", "nan": NAN, "0": "0"}), ("rtol", {"2": "2", "0": "0"}),
                      ("target_stocks", {"nan": "[1., np.nan, 1.]", "unknown": VEC_BAD["series-unknown"]}),
                      ("initial_stocks", {"neg": "[1., -1., 1.]", "short": "[1., 2.]"})):
        for fam, v in fams.items():
            _bad(P, E, f"{opt}-{fam}", f"_ = {I}.simulate_consumer_demand(ek, y3, y3, {opt}={v}"
                                       f"{', periods=3' if opt != 'periods' else ''})")
    # store
    E = "store"
    for fam, v in {"none": "None", "int": "3", "file": "write(T, 'f', 'x')"}.items():
        _bad(P, E, f"open_store-path-{fam}", f"_ = {I}.open_store({v}); _.commit(ek, author='p', reason='r')")
    for opt, fams in (("timeout", {"-1": "-1", "nan": NAN, "str": "'x'"}),
                      ("snapshot_every", {"0": "0", "-1": "-1", "2.7": "2.7"}),
                      ("snapshot_changes", {"0": "0", "2.7": "2.7"})):
        for fam, v in fams.items():
            _bad(P, E, f"open_store-{opt}-{fam}", f"_ = {I}.open_store(os.path.join(T, 'x'), {opt}={v})")
    for fam, v in {"empty": "{}", "none": "None", "string": "'ab'", "unknown-label": "{('zz', 'a'): .1}",
                   "float-positions": "{(0.9, 1.7): .25}", "nan": "{('a', 'b'): np.nan}", "negative": "{('a', 'b'): -1}",
                   "unproductive": "{('a', 'a'): 1.5}", "complex": "{('a', 'b'): 1j}", "list-empty": "[]",
                   "nul-label-economy": "bigplan.Economy(A3, labels=['a', 'b', 'c\\x00'])",
                   "uint64-label-economy": "bigplan.Economy(A3, labels=np.array([1, 2, 2**63 + 5], dtype=np.uint64))",
                   "tuple-label-economy": "bigplan.Economy(A3, labels=pd.Index([('a', 1), ('b', 2), ('c', 3)], "
                                          "tupleize_cols=False))"}.items():
        _bad(P, E, f"commit-{fam}", f"S; _ = S.commit({v}, author='p', reason='r')")
    _bad(P, E, "commit-author-none", "S; _ = S.commit({('a', 'b'): .1}, author=None, reason='r')")
    for fam, v in {"none": "None", "1.7": "1.7", "99": "99", "-1-is-head": "-1", "head": "1", "str": "'x'", "bool": "True",
                   "0": "0"}.items():  # rolling back to the head itself records no change
        _bad(P, E, f"rollback-{fam}", f"S; _ = S.rollback({v}, author='p')")
    for fam, v in {"df-dup-index": BLOCK_BAD["df-dup-index"], "df-dup-columns": BLOCK_BAD["df-dup-columns"],
                   "series-unknown": "{'q': " + VEC_BAD["series-unknown"] + "}", "nan": "{'q': [1., np.nan, 1.]}",
                   "short": "{'q': [1., 2.]}", "complex": "{'q': np.array([1j, 1, 1])}", "empty": "{}",
                   "names-dup": "np.ones((3, 2)), names=['q', 'q']", "existing-name": "{'base': y3}",
                   "string": "'abc'", "series-missing": "{'q': " + VEC_BAD["series-missing"] + "}"}.items():
        _bad(P, E, f"add_plans-{fam}", f"S; _ = S.add_plans({v}, author='p')")
    for fam, v in {"threshold--1": "threshold=-1", "rtol-2": "rtol=2", "rtol-0": "rtol=0", "plans-unknown":
                   "plans=['zz']", "version-99": "version=99", "version-1.7": "version=1.7", "method-x": "method='x'",
                   "threshold-nan": "threshold=np.nan"}.items():
        _bad(P, E, f"replan-{fam}", f"S; _ = S.replan({v})")
    for fam, v in {"99": "1, 99", "str": "'x', 1", "1.7": "1.7, 1", "-5": "-5, 1"}.items():  # None, -1: the head
        _bad(P, E, f"diff-{fam}", f"S; _ = S.diff({v})")
    for fam, v in {"economy-99": "S.economy(99)", "economy-1.7": "S.economy(1.7)", "changes-99": "S.changes(99)",
                   "final_demand-unknown": "S.final_demand(['zz'])", "remove_plans-unknown": "S.remove_plans(['zz'])"}.items():
        _bad(P, E, fam, f"S; _ = {v}")
    for meth in ("record_counts", "record_capacity"):  # stock-taking: aligned by label, never negative
        for fam in ("nan", "complex", "short", "strings", "string", "series-unknown", "series-dup", "map-unknown",
                    "negative"):
            _bad(P, E, f"{meth}-{fam}", f"S; _ = S.{meth}({ {**VEC_BAD, **NEG}[fam]}, author='p', reason='r')")
    for fam, v in {"unit-int": "unit=3", "unit-empty": "unit=''"}.items():
        _bad(P, E, f"record_counts-{fam}", f"S; _ = S.record_counts(y3, {v}, author='p', reason='r')")
    for fam, v in {"production-nan": "production=[1., np.nan, 1.]", "use-series-unknown":
                   f"use={VEC_BAD['series-unknown']}", "none": "", "production-negative": "production=[1., -1., 1.]"}.items():
        _bad(P, E, f"record_flows-{fam}", f"S; _ = S.record_flows({v}{', ' if v else ''}author='p', reason='r')")
    for fam, v in {"years--1": "-1.", "years-nan": "np.nan", "years-str": "'x'", "rates-nan": "1., rates=[np.nan, .1, .1]",
                   "rates-1.5": "1., rates=[1.5, .1, .1]", "rates-series-unknown": f"1., rates={VEC_BAD['series-unknown']}"}.items():
        _bad(P, E, f"depreciate-{fam}", f"S; _ = S.depreciate({v}, author='p')")
    for fam, v in {"by-x": "by='x'", "version-99": "99"}.items():
        _bad(P, E, f"inventory-{fam}", f"S; _ = S.inventory({v})")
    for fam, v in {"series-unknown": "pd.Series(['x', 'y', 'x'], index=['a', 'b', 'zz'])",
                   "series-dup": "pd.Series(['x', 'y', 'x'], index=['a', 'a', 'b'])", "short": "['x', 'y']",
                   "string": "'xyz'"}.items():
        _bad(P, E, f"set_sectors-{fam}", f"S; _ = S.set_sectors({v})")
    _bad(P, E, "damaged-ledger", "S; S.close(); open(os.path.join(T, 's', 'ledger.sqlite'), 'r+b').write(b'junk' * 64); "
                                 f"_ = {I}.open_store(os.path.join(T, 's')).economy()")
    _bad(P, E, "truncated-ledger", "S; S.close(); open(os.path.join(T, 's', 'ledger.sqlite'), 'r+b').truncate(100); "
                                   f"_ = {I}.open_store(os.path.join(T, 's')).economy()")
    # activity analysis (choice of technique)
    E = "activity"
    X = "bigplan.activity"
    for fam, v in {"inputs-nan": "np.where(A3 > .15, np.nan, A3), [0, 1, 2]", "inputs-negative": "-A3, [0, 1, 2]",
                   "inputs-complex": "A3 * 1j, [0, 1, 2]", "inputs-ragged": "[[.1, .2], [.3]], [0, 1]",
                   "makes-out-of-range": "A3, [0, 1, 7]", "makes-float": "A3, [0, 1, 1.5]", "makes-short": "A3, [0, 1]",
                   "makes-string": "A3, 'abc'", "labour-nan": "A3, [0, 1, 2], [1., np.nan, 1.]",
                   "labour-short": "A3, [0, 1, 2], [1., 1.]", "labour-negative": "A3, [0, 1, 2], [1., -1., 1.]",
                   "products-dup": "A3, [0, 1, 2], l3, products=['a', 'a', 'b']", "products-string":
                   "A3, [0, 1, 2], l3, products='abc'", "no-process-for-a-product": "A3[:, :2], [0, 1], l3[:2]"}.items():
        _bad(P, E, f"Technology-{fam}", f"_ = {X}.Technology({v})")
    for fam in ("nan", "complex", "short", "strings", "string", "series-unknown", "series-missing", "series-dup"):
        _bad(P, E, f"plan_activities-demand-{fam}", f"_ = {X}.plan_activities(tech, {VEC_BAD[fam]})")
    for fam, v in {"capacity-nan": "capacity=[1., np.nan, 1.]", "capacity-negative": "capacity=[1., -1., 1.]",
                   "rtol-2": "rtol=2", "rtol-0": "rtol=0", "solver-x": "solver='x'", "time_limit-0": "time_limit=0",
                   "time_limit-nan": "time_limit=np.nan", "weights-nan": "weights=[np.nan]",
                   "raise_on_failure-str": "raise_on_failure='x'"}.items():
        _bad(P, E, f"plan_activities-{fam}", f"_ = {X}.plan_activities(tech, y3, {v})")
    for fam, v in {"rtol-2": "rtol=2", "rtol-nan": "rtol=np.nan", "maxiter-0": "maxiter=0", "maxiter-2.7": "maxiter=2.7",
                   "weights-nan": "weights=[np.nan]", "weights-negative": "weights=[-1.]", "method-x": "method='x'"}.items():
        _bad(P, E, f"choose_technique-{fam}", f"_ = {X}.choose_technique(tech, {v})")
    for fam, v in {"empty": "{}", "string": "'x'", "plan-nan": "{'p': [1., np.nan, 1.]}",
                   "plan-series-unknown": "{'p': " + VEC_BAD["series-unknown"] + "}", "time_limit--1":
                   "{'p': y3}, time_limit=-1"}.items():
        _bad(P, E, f"check_proposals-{fam}", f"_ = {X}.check_proposals(tech, {v})")
    # CLI
    E = "cli"
    for fam, argv in {"rtol-2": "'--rtol', '2'", "rtol-0": "'--rtol', '0'", "rtol-nan": "'--rtol', 'nan'",
                      "rtol-1": "'--rtol', '1'", "rtol-str": "'--rtol', 'x'", "level-3": "'--level', '3'",
                      "top--1": "'--top', '-1'", "top-2.7": "'--top', '2.7'", "method-x": "'--method', 'x'",
                      "backend-cupy": "'--backend', 'cupy'", "bogus-flag": "'--bogus'",
                      "demand-missing": "'--demand', os.path.join(T, 'none.csv')",
                      "demand-truncated": "'--demand', write(T, 't.csv', 'code,p\\n111CA,1')",
                      "demand-empty": "'--demand', write(T, 'e.csv', '')",
                      "demand-unknown": "'--demand', write(T, 'u.csv', 'code,p\\nZZZ,1\\n')",
                      "demand-dup-columns": "'--demand', write(T, 'dc.csv', 'code,p,p\\n' + ''.join(f'{c},1,1\\n' "
                                            "for c in E71.labels))",
                      "demand-dup-rows": "'--demand', write(T, 'dr.csv', 'code,p\\n' + ''.join(f'{c},1\\n' "
                                         "for c in list(E71.labels) + [E71.labels[0]]))",
                      "demand-nan": "'--demand', write(T, 'n.csv', 'code,p\\n' + ''.join(f'{c},nan\\n' "
                                    "for c in E71.labels))",
                      "demand-text": "'--demand', write(T, 'x.csv', 'code,p\\n' + ''.join(f'{c},abc\\n' "
                                     "for c in E71.labels))",
                      "demand-binary": "'--demand', write(T, 'b.csv', '\\x00\\x01\\x02' * 50)",
                      "demand-directory": "'--demand', T",
                      "csv-directory": "'--csv', T",
                      "csv-missing-dir": "'--csv', os.path.join(T, 'no', 'such', 'x.csv')",
                      "csv-devnull-fifo": "'--csv', (os.mkfifo(os.path.join(T, 'fifo')) or os.path.join(T, 'fifo'))",
                      "top-0": "'--top', '0'",
                      "csv-symlink": "'--csv', (os.symlink(write(T, 'real.csv', 'x'), os.path.join(T, 'link.csv')) or "
                                     "os.path.join(T, 'link.csv'))"}.items():
        _bad(P, E, fam, f"_ = cli({argv})")
    # io
    E = "io"
    for fam, v in {"read_bea-missing": f"bigplan.io.read_bea_tables(os.path.join(T, 'u.csv'), os.path.join(T, 'm.csv'))",
                   "read_bea-truncated": "bigplan.io.read_bea_tables(write(T, 'u.csv', 'a,b\\n1'), write(T, 'm.csv', 'a,b\\n1'))",
                   "read_bea-empty": "bigplan.io.read_bea_tables(write(T, 'u.csv', ''), write(T, 'm.csv', ''))",
                   "read_bea-binary": "bigplan.io.read_bea_tables(write(T, 'u.csv', '\\x00' * 99), write(T, 'm.csv', '\\x00' * 99))",
                   "read_bea-directory": "bigplan.io.read_bea_tables(T, T)",
                   "bea_tables-level-3": "bigplan.io.bea_tables(3)", "bea_tables-level-str": "bigplan.io.bea_tables('x')",
                   "bea_tables-path-missing": "bigplan.io.bea_tables(71, path=os.path.join(T, 'nope'))",
                   "bea_economy-level-2.7": "bigplan.io.bea_economy(2.7)",
                   "bea_economy-path-empty-dir": "bigplan.io.bea_economy(71, path=T)",
                   "bea_final_demand-level-0": "bigplan.io.bea_final_demand(0)"}.items():
        _bad(P, E, fam, f"_ = {v}")
    return P


def valid_probes() -> list[Probe]:
    P: list[Probe] = []
    E = "solve_output"
    forms = {  # name: (demand code, expected aligned Y code, labels)
        "array": ("y3", "y3"), "list": ("[1., 2., 3.]", "y3"), "series-shuffled": ("ys", "y3"),
        "map-of-plans": ("{'p': ys, 'q': [1., 2., 3.]}", "np.column_stack([y3, y3])"),
        "df-shuffled": ("pd.DataFrame({'p': [3., 1., 2.], 'q': [6., 2., 4.]}, index=['c', 'a', 'b'])",
                        "np.column_stack([y3, 2 * y3])"),
        "int": ("np.array([1, 2, 3])", "y3"), "bool": ("np.array([True, False, True])", "[1., 0., 1.]"),
        "float32": ("y3.astype(np.float32)", "y3"), "float16": ("y3.astype(np.float16)", "y3"),
        "column": ("y3[:, None]", "y3[:, None]"), "scaled-1e200": ("y3 * 1e200", "y3 * 1e200"),
        "scaled-1e-200": ("y3 * 1e-200", "y3 * 1e-200"), "mixed-magnitudes": ("np.array([1e150, 1., 1e-150])",
                                                                             "np.array([1e150, 1., 1e-150])"),
        "zero": ("np.zeros(3)", "np.zeros(3)"), "negative-mixed": ("np.array([-1., 2., -3.])", "np.array([-1., 2., -3.])"),
    }
    for meth in ("auto", "bicgstab", "neumann", "direct", "refined"):
        for name, (d, y) in forms.items():
            if meth not in ("auto", "bicgstab") and name not in ("array", "series-shuffled", "int", "scaled-1e200",
                                                                  "scaled-1e-200", "mixed-magnitudes", "zero"):
                continue
            _ok(P, E, f"{meth}-{name}", f"_ = bigplan.solve_output(e3, {d}, method='{meth}')", f"chk_out(_, A3, {y})",
                True)
    forms["scaled-1e30"] = ("y3 * 1e30", "y3 * 1e30")  # float32 carries it (1e200 would not: a typed refusal)
    for name in ("array", "series-shuffled", "scaled-1e30", "int", "zero"):
        d, y = forms[name]
        _ok(P, E, f"dtype32-{name}", f"_ = bigplan.solve_output(e3, {d}, dtype=np.float32, rtol=1e-5)",
            f"chk_out(_, A3, {y}, 1e-5)", True)
        _ok(P, E, f"econ32-{name}", f"_ = bigplan.solve_output(bigplan.Economy(A3, labels=L3, dtype=np.float32), {d})",
            f"chk_out(_, A3.astype(np.float32), {y}, 1e-6)", True)
    for name, code, y in (("x0-series-shuffled", "x0=pd.Series([5., 2., 4.], index=['c', 'a', 'b'])", "y3"),
                          ("x0-exact", "x0=np.linalg.solve(np.eye(3) - A3, y3)", "y3"), ("x0-zero", "x0=np.zeros(3)", "y3"),
                          ("rtol-1e-6", "rtol=1e-6", "y3"), ("rtol-0.5-loose", "rtol=0.5, method='direct'", "y3"),
                          ("atol-small", "atol=1e-14", "y3"), ("keep_on_device", "keep_on_device=False", "y3"),
                          ("bicgstab-object", "method=bigplan.BiCGSTAB(maxiter=100)", "y3"),
                          ("neumann-object", "method=bigplan.Neumann(maxiter=10000)", "y3"),
                          ("refined-object", "method=bigplan.Refined(inner_rtol=1e-4)", "y3")):
        _ok(P, E, name, f"_ = bigplan.solve_output(e3, y3, {code})", f"chk_out(_, A3, {y}, "
                                                                       f"{0.5 if 'loose' in name else 1e-5 if 'dtype32' in name else 1e-7})", True)
    econs = {  # name: (economy code, dense A code, demand code)
        "one-product": ("bigplan.Economy([[.5]])", "np.array([[.5]])", "np.array([2.])"),
        "one-product-zero-A": ("bigplan.Economy([[0.]])", "np.array([[0.]])", "np.array([2.])"),
        "empty-rows-cols": ("bigplan.Economy(np.array([[.1, 0., .2], [0., 0., 0.], [.3, 0., .1]]))",
                            "np.array([[.1, 0., .2], [0., 0., 0.], [.3, 0., .1]])", "y3"),
        "zero-A": ("bigplan.Economy(np.zeros((3, 3)))", "np.zeros((3, 3))", "y3"),
        "int-A-zero": ("bigplan.Economy(np.zeros((3, 3), dtype=int))", "np.zeros((3, 3))", "y3"),
        "sparse-A": ("bigplan.Economy(sp.csr_matrix(A3))", "A3", "y3"),
        "int-labels": ("bigplan.Economy(A3, labels=[10, 20, 30])", "A3",
                       "pd.Series([3., 1., 2.], index=[30, 10, 20])"),
        "tuple-labels": ("bigplan.Economy(A3, labels=pd.Index([('a', 1), ('b', 2), ('c', 3)], tupleize_cols=False))",
                         "A3", "pd.Series([3., 1., 2.], index=pd.Index([('c', 3), ('a', 1), ('b', 2)], "
                               "tupleize_cols=False))"),
        "multiindex-labels": ("bigplan.Economy(A3, labels=pd.MultiIndex.from_tuples([('x', 1), ('x', 2), ('y', 1)]))",
                              "A3", "pd.Series([3., 1., 2.], index=pd.MultiIndex.from_tuples([('y', 1), ('x', 1), "
                                    "('x', 2)]))"),
        "dataframe-demand-int-labels": ("bigplan.Economy(A3, labels=[2, 0, 1])", "A3",
                                        "pd.DataFrame({'p': [2., 3., 1.]}, index=[0, 1, 2])"),
    }
    expected = {"int-labels": "y3", "tuple-labels": "y3", "multiindex-labels": "y3",
                "dataframe-demand-int-labels": "np.array([[1.], [2.], [3.]])"}
    for name, (ec, Ad, d) in econs.items():
        for meth in ("auto", "direct"):
            _ok(P, E, f"{name}-{meth}", f"_ = bigplan.solve_output({ec}, {d}, method='{meth}')",
                f"chk_out(_, {Ad}, {expected.get(name, d)})", True)
    _ok(P, "Economy", "cycle-1000-rho-0.999", "_ = bigplan.Economy(0.999 * sp.eye(1000, k=1, format='csr') + "
                                              "0.999 * sp.eye(1000, k=-999, format='csr'))",
        "chk_true(_.productivity.upper < 1, repr(_.productivity))", True)
    _ok(P, E, "cycle-1000-rho-0.999", "_ = bigplan.solve_output(bigplan.Economy(0.999 * sp.eye(1000, k=1, format='csr') + "
                                      "0.999 * sp.eye(1000, k=-999, format='csr')), np.ones(1000))",
        "chk_out(_, 0.999 * (np.eye(1000, k=1) + np.eye(1000, k=-999)), np.ones(1000), 1e-6)", True)
    for meth in ("auto", "bicgstab", "neumann", "direct", "refined"):
        _ok(P, E, f"rho-0.999-{meth}", f"_ = bigplan.solve_output(ec, np.ones(50), method='{meth}')",
            "chk_out(_, Ac, np.ones(50), 1e-6)", True, meth == "neumann")
    # labour_values
    E = "labour_values"
    for meth in ("auto", "bicgstab", "neumann", "direct", "refined"):
        for name, code, L in (("default", "", "l3"), ("series-shuffled", "labour=pd.Series([.5, 1., 2.], index=['c', 'a', 'b'])", "l3"),
                              ("int", "labour=np.array([1, 2, 3])", "[1., 2., 3.]"),
                              ("2d", "labour=np.array([[1., 2., .5], [0., 1., 1.]])", "[[1., 2., .5], [0., 1., 1.]]")):
            _ok(P, E, f"{meth}-{name}", f"_ = bigplan.labour_values(e3, {code}{', ' if code else ''}method='{meth}')",
                f"chk_val(_, A3, {L})", True)
    for name, code, L in (("df-shuffled", "labour=pd.DataFrame({'w': [.5, 1., 2.], 'v': [1., 0., 1.]}, "
                                          "index=['c', 'a', 'b'])", "[[1., 2., .5], [0., 1., 1.]]"),
                          ("series-int-shuffled", "labour=pd.Series([3, 1, 2], index=['c', 'a', 'b'])", "[1., 2., 3.]"),
                          ("float32", "labour=l3.astype(np.float32)", "l3"), ("scaled-1e200", "labour=l3 * 1e200", "l3 * 1e200"),
                          ("scaled-1e-200", "labour=l3 * 1e-200", "l3 * 1e-200"), ("dtype32", "dtype=np.float32, rtol=1e-5", "l3"),
                          ("x0-list", "x0=[1., 1., 1.]", "l3"), ("x0-series", "x0=pd.Series([1., 1., 1.], index=['c', 'b', 'a'])", "l3")):
        tol = "1e-5" if name.startswith("dtype32") else "1e-7"
        _ok(P, E, name, f"_ = bigplan.labour_values(e3, {code})", f"chk_val(_, A3, {L}, {tol})", True)
    # Economy
    E = "Economy"
    for name, code, chk in (
            ("labour-series-shuffled", "bigplan.Economy(A3, labels=L3, labour=pd.Series([.5, 1., 2.], index=['c', 'a', 'b']))",
             "chk_vec(_.labour.ravel(), l3)"),
            ("capacity-series-shuffled", "bigplan.Economy(A3, labels=L3, capacity=pd.Series([3., 1., 2.], index=['c', 'a', 'b']))",
             "chk_vec(_.capacity, y3)"),
            ("stocks-map-shuffled", "bigplan.Economy(A3, labels=L3, stocks={'b': 2., 'c': 3., 'a': 1.})", "chk_vec(_.stocks, y3)"),
            ("depreciation-series-shuffled", "bigplan.Economy(A3, labels=L3, capital=B3, depreciation=pd.Series([.3, .1, .2], "
                                             "index=['c', 'a', 'b']))", "chk_vec(_.depreciation, [.1, .2, .3])"),
            ("labour-df-shuffled", "bigplan.Economy(A3, labels=L3, labour=pd.DataFrame({'w': [.5, 1., 2.]}, index=['c', 'a', 'b']))",
             "chk_vec(_.labour.ravel(), l3)"),
            ("int-labels", "bigplan.Economy(A3, labels=[3, 1, 2], capacity=pd.Series([1., 2., 3.], index=[3, 1, 2]))",
             "chk_vec(_.capacity, y3)"),
            ("float32", "bigplan.Economy(A3, dtype=np.float32)", "chk_vec(_.A.toarray(), A3.astype(np.float32), 0)"),
            ("int-A", "bigplan.Economy(np.zeros((2, 2), dtype=np.int64))", "chk_vec(_.A.toarray(), np.zeros((2, 2)))"),
            ("float16-A", "bigplan.Economy(A3.astype(np.float16))", "chk_vec(_.A.toarray(), A3.astype(np.float16))"),
            ("A-dataframe", "bigplan.Economy(pd.DataFrame(A3, index=L3, columns=L3))", "chk_vec(_.A.toarray(), A3)"),
            ("labour-int", "bigplan.Economy(A3, labour=[1, 2, 3])", "chk_vec(_.labour.ravel(), y3)"),
            ("labour-supply-int", "bigplan.Economy(A3, labour=l3, labour_supply=5)", "chk_vec(_.labour_supply, [5.])")):
        _ok(P, E, name, f"_ = {code}", chk, True)
    # with_changes and positions
    E = "with_changes"
    for name, code, chk in (
            ("label", "e3.with_changes({('b', 'a'): .25})", "chk_vec(_.A.toarray(), A3 + np.array([[0, 0, 0], [.2, 0, 0], [0, 0, 0]]))"),
            ("position-unlabelled", "e2.with_changes({(0, 1): .25})", "chk_vec(_.A.toarray(), [[.1, .25], [.2, .1]])"),
            ("remove", "e3.with_changes({('a', 'b'): 0})", "chk_vec(_.A.toarray(), A3 * np.array([[1, 0, 1], [1, 1, 1], [1, 1, 1]]))"),
            ("triples", "e3.with_changes([('a', 'c', .05)])", "chk_vec(_.A.toarray(), A3 + np.array([[0, 0, .05], [0, 0, 0], [0, 0, 0]]))"),
            ("np-int-positions", "e2.with_changes({(np.int64(1), np.int32(0)): .3})", "chk_vec(_.A.toarray(), [[.1, .3], [.3, .1]])"),
            ("capacity-series-shuffled", "e3.with_changes(capacity=pd.Series([3., 1., 2.], index=['c', 'a', 'b']))",
             "chk_vec(_.capacity, y3)"),
            ("labour-series-shuffled", "e3.with_changes(labour=pd.Series([3., 1., 2.], index=['c', 'a', 'b']))",
             "chk_vec(_.labour.ravel(), y3)")):
        _ok(P, E, name, f"_ = {code}", chk, True)
    E = "positions"
    for name, code, exp in (("labels", "e3.positions(['c', 'a'])", "[2, 0]"), ("ints", "e2.positions([1, 0])", "[1, 0]"),
                            ("np-ints", "e2.positions(np.array([1]))", "[1]"), ("index", "e3.positions(pd.Index(['b']))", "[1]")):
        _ok(P, E, name, f"_ = {code}", f"chk_vec(_, {exp})", True)
    E = "choose_method"
    for name, code in (("k1", "bigplan.choose_method(e3)"), ("k5", "bigplan.choose_method(e3, 5)"),
                       ("rtol", "bigplan.choose_method(e3, 1, rtol=1e-6)"), ("rho", "bigplan.choose_method(ec, 2)")):
        _ok(P, E, name, f"_ = {code}", "chk_true(_[0] in ('bicgstab', 'neumann', 'direct', 'refined'), repr(_))", True)
    # dynamic
    D = "bigplan.dynamic"
    _ok(P, "dynamic.max_growth_rate", "dense", f"_ = {D}.max_growth_rate(ek)", "chk_growth(_, A3, B3, [.05] * 3)")
    _ok(P, "dynamic.max_growth_rate", "no-depreciation", f"_ = {D}.max_growth_rate(ek, depreciation=False)",
        "chk_growth(_, A3, B3, [0.] * 3)")
    _ok(P, "dynamic.max_growth_rate", "float32", f"_ = {D}.max_growth_rate(bigplan.Economy(A3, capital=B3, "
                                                "depreciation=.05, dtype=np.float32))", "chk_growth(_, A3, B3, [.05] * 3, 1e-4)")
    E = "dynamic.plan"
    for name, code in (("series-shuffled", f"{D}.plan(ek, ys, horizon=3)"),
                       ("map-shuffled", f"{D}.plan(ek, {{'c': 3., 'a': 1., 'b': 2.}}, horizon=3)"),
                       ("int", f"{D}.plan(ek, np.array([1, 2, 3]), horizon=3)"),
                       ("capacity-shuffled", f"{D}.plan(ek, y3, horizon=3, capacity=pd.Series([10., 10., 10.], index=['c', 'b', 'a']))")):
        _ok(P, E, name, f"_ = {code}", f"chk_vec(_.output, {D}.plan(ek, y3, horizon=3).output)")
    _ok(P, E, "growth-series-shuffled", f"_ = {D}.plan(ek, y3, horizon=3, growth=pd.Series([.03, .01, .02], index=['c', 'a', 'b']))",
        f"chk_vec(_.output, {D}.plan(ek, y3, horizon=3, growth=np.array([.01, .02, .03])).output)")
    _ok(P, E, "scaled-1e160", f"_ = {D}.plan(en, y3 * 1e160, horizon=3)",
        f"chk_vec(_.output / 1e160, {D}.plan(en, y3, horizon=3).output, 1e-6)")
    _ok(P, E, "scaled-1e-160", f"_ = {D}.plan(en, y3 * 1e-160, horizon=3)",
        f"chk_vec(_.output / 1e-160, {D}.plan(en, y3, horizon=3).output, 1e-6)")
    _ok(P, E, "huge-beyond-capacity", f"_ = {D}.plan(ek, np.full(3, 1e160), horizon=3)",
        "chk_true(np.all(np.isfinite(_.output)) and np.all(_.output > 0) and not _.feasible, repr(_))")
    _ok(P, E, "static-check", f"_ = {D}.plan(ek, y3, horizon=1)",
        "chk_true(np.all(_.output[0] >= np.linalg.solve(np.eye(3) - A3, y3) * (1 - 1e-9)), repr(_.output[0]))")
    _ok(P, E, "lp-small", f"_ = {D}.plan(en, y3, horizon=3, method='lp')",
        "chk_true(np.all(np.isfinite(_.output)) and np.all(_.output >= np.linalg.solve(np.eye(3) - A3, y3) * (1 - 1e-7)), "
        "repr(_.output))")
    E = "dynamic.balanced_plan"
    _ok(P, E, "prices-series-shuffled", f"_ = {D}.balanced_plan(ek, y3, growth=.01, prices=pd.Series([3., 1., 2.], index=['c', 'a', 'b']))",
        f"chk_vec(_.output, {D}.balanced_plan(ek, y3, growth=.01, prices=y3).output)")
    _ok(P, E, "consumption-series-shuffled", f"_ = {D}.balanced_plan(ek, ys, growth=.01)",
        f"chk_vec(_.output, {D}.balanced_plan(ek, y3, growth=.01).output)")
    _ok(P, "dynamic.frontier", "rates", f"_ = {D}.frontier(ek, ys, growth_rates=[0., .01])",
        f"chk_vec(_.select_dtypes('number').to_numpy(dtype=float, na_value=0), {D}.frontier(ek, y3, growth_rates=[0., .01])"
        ".select_dtypes('number').to_numpy(dtype=float, na_value=0))")
    _ok(P, "dynamic.compare", "sectors-shuffled",
        f"_ = {D}.compare(ek, {{'a': {{'growth': .01}}}}, y3, sectors=pd.Series(['x', 'y', 'x'], index=['c', 'b', 'a']))",
        f"chk_vec(_.sector_output.loc[['x', 'y'], 'a'], {D}.compare(ek, {{'a': {{'growth': .01}}}}, y3, "
        "sectors=pd.Series(['x', 'y', 'x'], index=['a', 'b', 'c'])).sector_output.loc[['x', 'y'], 'a'])")
    # inventory
    I = "bigplan.inventory"
    E = "inventory.stock_change"
    _ok(P, E, "series-shuffled", f"_ = {I}.stock_change(e3, ys, pd.Series([.1, .2, .3], index=['b', 'c', 'a']))",
        "chk_vec(_, y3 - A3 @ y3 - np.array([.3, .1, .2]))")
    _ok(P, E, "int", f"_ = {I}.stock_change(e3, np.array([1, 2, 3]))", "chk_vec(_, y3 - A3 @ y3)")
    E = "inventory.replan"
    for name, d, y in (("series-shuffled", "ys", "y3"), ("int", "np.array([1, 2, 3])", "y3"),
                       ("df-shuffled", "pd.DataFrame({'p': [3., 1., 2.]}, index=['c', 'a', 'b'])", "y3[:, None]"),
                       ("scaled-1e200", "y3 * 1e200", "y3 * 1e200"), ("scaled-1e-200", "y3 * 1e-200", "y3 * 1e-200")):
        _ok(P, E, name, f"_ = {I}.replan(e3, {d})",
            f"chk_vec(np.asarray(_.output).reshape(3, -1) / np.max({y}), np.linalg.solve(np.eye(3) - A3, "
            f"np.reshape({y}, (3, -1)) / np.max({y})), 1e-7)")
    _ok(P, E, "previous-shuffled", f"_ = {I}.replan(e3.with_changes({{('a', 'b'): .25}}), ys, "
                                   "previous=pd.Series(np.linalg.solve(np.eye(3) - A3, y3), index=L3), old_economy=e3)",
        "chk_vec(np.asarray(_.output).ravel(), np.linalg.solve(np.eye(3) - (A3 + np.array([[0, .05, 0], [0, 0, 0], "
        "[0, 0, 0]])), y3), 1e-7)")
    E = "inventory.simulate_consumer_demand"
    _ok(P, E, "planned-shuffled", f"_ = {I}.simulate_consumer_demand(ek, ys, y3 * 1.1, periods=4)",
        f"chk_vec(_.output, {I}.simulate_consumer_demand(ek, y3, y3 * 1.1, periods=4).output)")
    _ok(P, E, "actual-shuffled", f"_ = {I}.simulate_consumer_demand(ek, y3, ys * 1.1, periods=4)",
        f"chk_vec(_.output, {I}.simulate_consumer_demand(ek, y3, y3 * 1.1, periods=4).output)")
    # store
    E = "store"
    _ok(P, E, "add_plans-shuffled", "S; S.add_plans({'q': ys * 2}, author='p'); _ = S.replan()",
        "chk_vec(S.outputs(['q']).to_numpy().ravel(), np.linalg.solve(np.eye(3) - A3, 2 * y3), 1e-7)")
    _ok(P, E, "commit-label-change", "S; v = S.commit({('b', 'a'): .25}, author='p', reason='r'); _ = S.economy(v)",
        "chk_vec(_.A.toarray(), A3 + np.array([[0, 0, 0], [.2, 0, 0], [0, 0, 0]]))")
    _ok(P, E, "rollback", "S; S.commit({('b', 'a'): .25}, author='p', reason='r'); v = S.rollback(1, author='p'); "
                          "_ = S.economy(v)", "chk_vec(_.A.toarray(), A3)")
    _ok(P, E, "replace-economy-keeps-records", "S; v = S.commit(ek.with_changes({('a', 'b'): .25}), author='p', reason='r'); "
                                               "_ = S.economy(v)",
        "chk_true(_.labour is not None and _.capital is not None and _.capacity is not None, 'records kept: labour '"
        " + str(_.labour is not None) + ', capital ' + str(_.capital is not None) + ', capacity ' + str(_.capacity is not None))")
    _ok(P, E, "record_counts-shuffled", "S; S.record_counts(ys, author='p', reason='r'); _ = S.economy()",
        "chk_vec(_.stocks, y3)")
    _ok(P, E, "record_capacity-shuffled", "S; S.record_capacity(ys * 10, author='p', reason='r'); _ = S.economy()",
        "chk_vec(_.capacity, y3 * 10)")
    _ok(P, E, "replace-drops-records-listed", "S; v = S.commit(bigplan.Economy(A3, labels=L3), author='p', reason='r'); "
                                              "_ = (S.economy(v), S.diff(1, v))",
        "chk_true(_[0].labour is not None or 'labour' in set(_[1]['kind']), 'labour dropped and diff kinds ' "
        "+ str(sorted(set(_[1]['kind']))))")
    _ok(P, E, "diff-lists-change", "S; v = S.commit({('b', 'a'): .25}, author='p', reason='r'); _ = S.diff(1, v)",
        "chk_true(len(_) >= 1, repr(_))")
    _ok(P, E, "open_store-creates-nested", f"_ = {I}.open_store(os.path.join(T, 'no', 'such', 'dir')); "
                                           "_.commit(ek, author='p', reason='r')", "chk_vec(_.economy().A.toarray(), A3)")
    _ok(P, E, "reopen", "S; S.close(); _ = bigplan.inventory.open_store(os.path.join(T, 's')).economy()",
        "chk_vec(_.A.toarray(), A3)")
    _ok(P, E, "int-labels-roundtrip", f"S2 = {I}.open_store(os.path.join(T, 'i')); S2.commit(bigplan.Economy(A3, "
                                      "labels=[10, 20, 30]), author='p', reason='r'); S2.close(); "
                                      f"_ = {I}.open_store(os.path.join(T, 'i')).economy()",
        "chk_true(list(_.labels) == [10, 20, 30], repr(_.labels))")
    # activity
    X = "bigplan.activity"
    _ok(P, "activity", "plan_activities-shuffled", f"_ = {X}.plan_activities(tech, ys)",
        "chk_vec(_.activity, np.linalg.solve(np.eye(3) - A3, y3), 1e-7)")
    _ok(P, "activity", "plan_activities-int", f"_ = {X}.plan_activities(tech, np.array([1, 2, 3]))",
        "chk_vec(_.activity, np.linalg.solve(np.eye(3) - A3, y3), 1e-7)")
    _ok(P, "activity", "choose_technique-values", f"_ = {X}.choose_technique(tech)",
        "chk_vec(_.values, np.linalg.solve((np.eye(3) - A3).T, l3), 1e-7)")
    _ok(P, "activity", "choose_technique-two-processes",
        f"_ = {X}.choose_technique({X}.Technology(np.column_stack([A3, A3[:, 0] * 2]), [0, 1, 2, 0], "
        "np.append(l3, 5.), products=L3))", "chk_vec(_.values, np.linalg.solve((np.eye(3) - A3).T, l3), 1e-7)")
    # CLI
    _ok(P, "cli", "default", "_ = cli('--top', '3')", "chk_true(_.rc == 0, _.stderr)")
    _ok(P, "cli", "csv-stdout-dash", "_ = cli('--csv', '-', '--top', '2')",
        "chk_true(_.rc == 0 and _.stdout.count(',') > 71 and not os.path.exists('-'), "
        "f'rc {_.rc}, file named - created: {os.path.exists(\"-\")}, {_.stderr[:150]}')")
    _ok(P, "cli", "csv-overwrite-keeps-mode", "p = write(T, 'old.csv', 'old'); os.chmod(p, 0o644); "
                                              "_ = cli('--csv', p, *(['--overwrite'] if '[--overwrite]' in cli('--help').stdout else []))",
        "chk_true(_.rc == 0 and oct(os.stat(p).st_mode & 0o777) == '0o644' and open(p).read() != 'old', "
        "f'rc {_.rc}, mode {oct(os.stat(p).st_mode & 0o777)}, {_.stderr[:150]}')")
    _ok(P, "cli", "demand-shuffled-csv", "_ = cli('--demand', csv_ok, '--csv', os.path.join(T, 'o.csv'))",
        "chk_cli_plan(_, os.path.join(T, 'o.csv'), csv_ok)")
    return P


def all_probes() -> list[Probe]:
    return bad_probes() + valid_probes()


# -- running one probe ----------------------------------------------------------------------------------------
def _raised_by_bigplan(tb) -> bool:
    """The innermost frame is bigplan code and its line is a ``raise`` statement (a deliberate refusal)."""
    import linecache

    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None or _origin_frame(last) != "bigplan":
        return False
    line = linecache.getline(last.tb_frame.f_code.co_filename, last.tb_lineno).strip()
    return line.startswith("raise ")


def _origin_frame(tb) -> str:
    fname = tb.tb_frame.f_code.co_filename.replace("\\", "/")
    return "bigplan" if "/bigplan/" in fname and "/benchmarks/" not in fname else "other"


def _origin(tb) -> str:
    """'bigplan' when the innermost frame of the traceback lies in the bigplan package, else 'other'."""
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return "other"
    fname = last.tb_frame.f_code.co_filename.replace("\\", "/")
    return "bigplan" if "/bigplan/" in fname and "/benchmarks/" not in fname else "other"


_PLAIN_ARGS = {"demand": ("demand",), "consumption": ("consumption",), "output": ("output",),
               "final_use": ("final_use", "final use"), "planned": ("planned",), "actual": ("actual",)}


def argument_of(p: Probe) -> str | None:
    """The argument a bad probe gets wrong, from its id (``entry:arg-family``) when the code passes it by name."""
    if p.kind != "bad" or ":" not in p.id:
        return None
    word = p.id.split(":", 1)[1].split("-", 1)[0]
    if word in _PLAIN_ARGS or re.search(rf"\b{re.escape(word)}=", p.code):
        return word
    return None


def _spellings(arg: str) -> tuple[str, ...]:
    a = arg.lower()
    return _PLAIN_ARGS.get(arg, (a, a.replace("_", " "), a.rstrip("s")))


def run_probe(p: Probe, tmpdir: str) -> dict:
    """Run one probe in this process (in a fresh folder under ``tmpdir``, the working directory restored after);
    returns {'outcome', 'message', 'seconds'}."""
    cwd = os.getcwd()
    try:
        return _run_probe(p, tmpdir)
    finally:
        os.chdir(cwd)


def _run_probe(p: Probe, tmpdir: str) -> dict:
    import tempfile
    import warnings

    import pandas as pd
    import scipy.sparse as sp

    import bigplan
    from bigplan.errors import BigplanError

    T = tempfile.mkdtemp(dir=tmpdir)
    os.chdir(T)  # a probe that writes a relative path ('-') writes it here
    ns = {"np": np, "pd": pd, "sp": sp, "bigplan": bigplan, "os": os, "T": T, "write": write, "cli": cli,
          "chk_out": chk_out, "chk_val": chk_val, "chk_vec": chk_vec, "chk_growth": chk_growth, "chk_true": chk_true,
          "chk_cli_plan": chk_cli_plan, "chk_res": chk_res, "rand_A": rand_A, "rand_y": rand_y}
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for line in fixture_code(p.code + " " + (p.check or "")):
                exec(line, ns)
        except Exception as exc:  # noqa: BLE001
            na = isinstance(exc, AttributeError) and "module 'bigplan' has no attribute" in str(exc)
            return {"outcome": "n/a" if na else "setup-error", "message": f"{type(exc).__name__}: {exc}"[:300],
                    "seconds": time.perf_counter() - t0}
        try:
            exec(p.code, ns)
            exc = None
        except AssertionError as err:  # a probe's own post-condition (CLI rc, finite plan): the input was accepted
            exc, silent_msg = None, f"accepted: {err}"[:300]
        except BaseException as err:  # noqa: BLE001
            exc, tb = err, err.__traceback__
        else:
            silent_msg = None
    warn = "; ".join(str(w.message) for w in caught[:2])
    dt = time.perf_counter() - t0
    if exc is not None:
        name = type(exc).__name__
        msg = " ".join(f"{name}: {exc}".split())[:300]
        if isinstance(exc, TypeError) and "unexpected keyword argument" in str(exc) and _origin(tb) == "other":
            return {"outcome": "n/a", "message": msg, "seconds": dt}
        if isinstance(exc, AttributeError) and "module 'bigplan' has no attribute" in str(exc):
            return {"outcome": "n/a", "message": msg, "seconds": dt}  # an older bigplan without this module
        if isinstance(exc, KeyboardInterrupt):
            raise exc
        typed = isinstance(exc, BigplanError)
        if p.kind == "bad":
            outcome = "typed" if typed else ("plain" if isinstance(exc, (ValueError, TypeError, OSError))
                                            and _raised_by_bigplan(tb) else "raw")
        else:
            outcome = "refused" if typed else "raw"
        arg = argument_of(p)
        named = arg is None or any(v in str(exc).lower() for v in _spellings(arg))
        return {"outcome": outcome, "message": msg, "seconds": dt, "argument": arg, "names_argument": named}
    if p.kind == "bad":
        res = ns.get("_")
        if isinstance(res, CliResult):
            if res.rc not in (0, 1) and "error:" in res.stderr and "Traceback" not in res.stderr:
                return {"outcome": "typed", "message": " ".join(res.stderr.split())[:300], "seconds": dt}
            if res.rc != 0:
                return {"outcome": "raw", "message": f"rc {res.rc}: " + " ".join(res.stderr.split())[:250], "seconds": dt}
        msg = silent_msg or f"returned {type(res).__name__}: {' '.join(repr(res).split())[:200]}"
        return {"outcome": "silent", "message": msg + (f" (warning: {warn[:120]})" if warn else ""), "seconds": dt}
    try:
        ok, msg = eval(p.check, ns)
    except Exception as err:  # noqa: BLE001
        ok, msg = False, f"check raised {type(err).__name__}: {err}"
    if silent_msg:
        ok, msg = False, silent_msg
    return {"outcome": "ok" if ok else "wrong", "message": " ".join(str(msg).split())[:300], "seconds": dt}


# -- the pool ------------------------------------------------------------------------------------------------
def _worker(conn, tmpdir):
    while True:
        job = conn.recv()
        if job is None:
            return
        p = Probe(**job)
        try:
            res = run_probe(p, tmpdir)
        except BaseException as err:  # noqa: BLE001
            res = {"outcome": "raw", "message": f"worker: {type(err).__name__}: {err}"[:300], "seconds": 0.0}
        conn.send(res)


def run_all(probes: list[Probe], *, workers: int = 2, timeout: float = 20.0, progress: bool = True) -> list[dict]:
    """Run probes in ``workers`` processes; a probe past ``timeout`` s is a hang and its worker is killed."""
    import multiprocessing as mp
    import shutil
    import tempfile
    from multiprocessing.connection import wait

    ctx = mp.get_context("fork")
    tmpdir = tempfile.mkdtemp(prefix="bigplan-probes-")
    results: list[dict | None] = [None] * len(probes)
    todo = list(range(len(probes)))[::-1]
    slots: list[dict] = []

    def start():
        a, b = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(b, tmpdir), daemon=True)
        proc.start()
        return {"proc": proc, "conn": a, "job": None, "t0": 0.0}

    slots = [start() for _ in range(max(1, workers))]
    done = 0
    t_start = time.perf_counter()
    try:
        while done < len(probes):
            for s in slots:
                if s["job"] is None and todo:
                    i = todo.pop()
                    s["job"], s["t0"] = i, time.perf_counter()
                    s["conn"].send(asdict(probes[i]))
            busy = [s for s in slots if s["job"] is not None]
            ready = wait([s["conn"] for s in busy], timeout=0.25)
            now = time.perf_counter()
            for k, s in enumerate(slots):
                if s["job"] is None:
                    continue
                i = s["job"]
                res = None
                if s["conn"] in ready:
                    try:
                        res = s["conn"].recv()
                    except (EOFError, OSError):
                        res = {"outcome": "raw", "message": "worker died (crash)", "seconds": now - s["t0"]}
                elif now - s["t0"] > timeout:
                    res = {"outcome": "hang", "message": f"still running after {timeout:g} s (killed)",
                           "seconds": now - s["t0"]}
                elif not s["proc"].is_alive():
                    res = {"outcome": "raw", "message": f"worker died (exit {s['proc'].exitcode})",
                           "seconds": now - s["t0"]}
                if res is None:
                    continue
                if res["outcome"] == "hang" or "worker died" in res["message"]:
                    s["proc"].kill()
                    s["proc"].join()
                    slots[k] = start()
                else:
                    s["job"] = None
                results[i] = {**asdict(probes[i]), **res, "repro": repro(probes[i])}
                done += 1
                if progress and (sys.stderr.isatty() or done % 100 == 0 or done == len(probes)):
                    print(f"\r{done}/{len(probes)} probes, {time.perf_counter() - t_start:.0f} s", end="",
                          file=sys.stderr, flush=True)
    finally:
        for s in slots:
            try:
                s["conn"].send(None)
            except (OSError, BrokenPipeError):
                pass
            s["proc"].join(timeout=2)
            if s["proc"].is_alive():
                s["proc"].kill()
        shutil.rmtree(tmpdir, ignore_errors=True)
        if progress:
            print(file=sys.stderr)
    return [r for r in results if r is not None]


# -- report --------------------------------------------------------------------------------------------------
BAD_CLASSES = ["typed", "plain", "raw", "silent", "hang", "n/a", "setup-error"]
VALID_CLASSES = ["ok", "wrong", "refused", "raw", "hang", "n/a", "setup-error"]


def counts(results: list[dict]) -> dict:
    out = {"bad": Counter(), "valid": Counter(), "by_entry": defaultdict(Counter)}
    for r in results:
        out[r["kind"]][r["outcome"]] += 1
        out["by_entry"][r["entry"]][f"{r['kind']}:{r['outcome']}"] += 1
    return out


def report(results: list[dict], file=sys.stdout) -> None:
    c = counts(results)
    w = lambda s="": print(s, file=file)  # noqa: E731
    w("fixtures:")
    for line in FIXTURES.values():
        w(f"  {line}")
    w()
    nb, nv = sum(c["bad"].values()), sum(c["valid"].values())
    w(f"bad inputs ({nb}): " + ", ".join(f"{k} {c['bad'][k]}" for k in BAD_CLASSES if c["bad"][k]))
    w(f"odd-but-valid inputs ({nv}): " + ", ".join(f"{k} {c['valid'][k]}" for k in VALID_CLASSES if c["valid"][k]))
    w()
    w("| entry point | bad | typed | plain | raw | silent | hang | n/a | valid | ok | wrong | refused | raw | hang | n/a |")
    w("| --- | " + " | ".join(["---:"] * 15) + " |")
    for entry in sorted(c["by_entry"]):
        e = c["by_entry"][entry]
        b = [e[f"bad:{k}"] for k in ("typed", "plain", "raw", "silent", "hang", "n/a")]
        v = [e[f"valid:{k}"] for k in ("ok", "wrong", "refused", "raw", "hang", "n/a")]
        w(f"| {entry} | {sum(b)} | " + " | ".join(map(str, b)) + f" | {sum(v)} | " + " | ".join(map(str, v)) + " |")
    w()
    unnamed = [r for r in results if r["outcome"] == "typed" and r.get("names_argument") is False]
    named_of = sum(1 for r in results if r["outcome"] == "typed" and r.get("argument"))
    w(f"typed refusals whose message does not name the argument: {len(unnamed)} of {named_of} checked")
    for r in sorted(unnamed, key=lambda r: r["id"]):
        w(f"- [unnamed {r['argument']}] {r['id']}: `{r['code']}` -> {r['message']}")
    w()
    findings = [r for r in results if r["outcome"] not in ("typed", "ok", "n/a")]
    w(f"findings ({len(findings)}: every probe that is not typed / ok):")
    for r in sorted(findings, key=lambda r: (r["outcome"], r["entry"], r["id"])):
        w(f"- [{r['outcome']}] {r['id']}: `{r['code']}` -> {r['message']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", help="write every result (and the counts) to this JSON file")
    ap.add_argument("--quick", action="store_true", help="a smoke subset (every 6th probe)")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds before a probe counts as a hang (default 20)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--only", action="append", help="entry point (e.g. solve_output, store, dynamic.plan); repeatable; "
                                                    "a prefix matches (dynamic)")
    ap.add_argument("--random", type=int, default=0, metavar="N",
                    help="also solve N random static problems (seeded; magnitudes 1e+-250, every method), each "
                         "checked by its residual recomputed in long double (entry point random_static)")
    ap.add_argument("--list", action="store_true", help="list the probes and exit")
    args = ap.parse_args(argv)
    probes = all_probes() + random_probes(args.random)
    if args.only:
        probes = [p for p in probes if any(p.entry == o or p.entry.startswith(o + ".") for o in args.only)]
    if args.quick:
        probes = probes[::6]
    if args.list:
        for p in probes:
            print(p.kind, p.id, p.code)
        return 0
    import bigplan

    t0 = time.perf_counter()
    results = run_all(probes, workers=args.workers, timeout=args.timeout)
    wall = time.perf_counter() - t0
    report(results)
    print(f"\n{len(results)} probes in {wall:.0f} s ({args.workers} workers, timeout {args.timeout:g} s); "
          f"bigplan from {os.path.dirname(bigplan.__file__)}")
    if args.json:
        c = counts(results)
        payload = {"bigplan": os.path.dirname(bigplan.__file__), "seconds": wall, "workers": args.workers,
                   "timeout": args.timeout, "bad": dict(c["bad"]), "valid": dict(c["valid"]),
                   "by_entry": {k: dict(v) for k, v in c["by_entry"].items()}, "fixtures": FIXTURES,
                   "results": results}
        tmp = args.json + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(payload, fh, indent=1, default=str)
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
