"""The robustness campaign's kit: named fixtures, the probe record, dense checks, bad-value tables.

Used by ``probe_list.py`` (the probes) and ``probe_campaign.py`` (the runner); see the latter for the campaign.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

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


def add_bad(out, entry, fam, code, static=False, hang=False):
    out.append(Probe(f"{entry}:{fam}", entry, "bad", code, None, static, hang))


def add_ok(out, entry, name, code, check, static=False, hang=False):
    out.append(Probe(f"{entry}:{name}", entry, "valid", code, check, static, hang))


