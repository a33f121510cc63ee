"""The robustness campaign's probes: bad inputs and odd-but-valid ones at every public entry point.

Each probe is one line of Python over the fixtures of ``probe_kit.py``; ``probe_campaign.py`` runs them.
"""

from __future__ import annotations

from probe_kit import (
    ATOL_BAD,
    BACKEND_BAD,
    BLOCK_BAD,
    DTYPE_BAD,
    INF,
    INT_BAD,
    METHOD_BAD,
    NAN,
    NEG,
    RTOL_BAD,
    VEC_BAD,
    VEC_CORE,
    Probe,
    add_bad,
    add_ok,
)

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
        add_bad(P, E, f"A-{fam}", f"_ = bigplan.Economy({v})", True)
    for arg in ("labour", "capacity", "stocks"):
        for fam, v in {**(VEC_BAD if arg == "labour" else VEC_CORE), **NEG}.items():
            lead = "A3, labels=L3, " if arg != "labour" else "A3, labels=L3, labour="
            code = f"_ = bigplan.Economy({lead}{v})" if arg == "labour" else f"_ = bigplan.Economy({lead}{arg}={v})"
            add_bad(P, E, f"{arg}-{fam}", code, True)
    for fam, v in {"nan": NAN, "-0.1": "-0.1", "1.5": "1.5", "short": "[.1, .1]", "complex": "0.1j",
                   "series-unknown": VEC_BAD["series-unknown"], "series-missing": VEC_BAD["series-missing"],
                   "str": "'x'"}.items():
        add_bad(P, E, f"depreciation-{fam}", f"_ = bigplan.Economy(A3, labels=L3, capital=B3, depreciation={v})", True)
    for fam, v in {"nan": "[[np.nan] * 3] * 3", "negative": "-B3", "shape": "np.ones((2, 2))",
                   "complex": "B3 * 1j", "str": "'x'"}.items():
        add_bad(P, E, f"capital-{fam}", f"_ = bigplan.Economy(A3, labels=L3, capital={v})", True)
    for fam, v in {"nan": NAN, "-1": "-1.", "short": "[1., 2.]", "str": "'x'", "inf": INF}.items():
        add_bad(P, E, f"labour_supply-{fam}", f"_ = bigplan.Economy(A3, labour=l3, labour_supply={v})", True)
    for fam, v in {"string-ab": "'ab'", "short": "['a', 'b']", "dup": "['a', 'a', 'b']",
                   "unhashable": "[[1], [2], [3]]", "none-label": "['a', None, 'c']", "nan-label": "['a', np.nan, 'c']",
                   "scalar": "5", "dup-int": "[1, 1, 2]"}.items():
        add_bad(P, E, f"labels-{fam}", f"_ = bigplan.Economy(A3, labels={v})", True)
    for fam, v in {"short": "['x']", "dup": "['w', 'w']", "string": "'ab'"}.items():
        add_bad(P, E, f"labour_names-{fam}", f"_ = bigplan.Economy(A3, labour=np.ones((2, 3)), labour_names={v})", True)
    for fam, v in DTYPE_BAD.items():
        add_bad(P, E, f"dtype-{fam}", f"_ = bigplan.Economy(A3, dtype={v})", True)
    add_bad(P, E, "check-str", "_ = bigplan.Economy(A3, check='x')", True)
    add_bad(P, E, "labour-2d-wrong", "_ = bigplan.Economy(A3, labour=np.ones((3, 2)))", True)
    add_bad(P, E, "labour-df-dup-columns", "_ = bigplan.Economy(A3, labels=L3, labour=pd.DataFrame(np.ones((3, 2)), "
                                        "index=L3, columns=['w', 'w']))", True)
    # solve_output
    E = "solve_output"
    for fam, v in {**VEC_BAD, **BLOCK_BAD}.items():
        add_bad(P, E, f"demand-{fam}", f"_ = bigplan.solve_output(e3, {v})", True)
    add_bad(P, E, "demand-none", "_ = bigplan.solve_output(e3, None)", True)
    add_bad(P, E, "demand-map-empty", "_ = bigplan.solve_output(e3, {})", True)
    add_bad(P, E, "demand-jagged-map", "_ = bigplan.solve_output(e3, {'p': [1., 2., 3.], 'q': [1., 2.]})", True)
    for fam, v in VEC_CORE.items():
        add_bad(P, E, f"x0-{fam}", f"_ = bigplan.solve_output(e3, y3, x0={v})", True)
    add_bad(P, E, "x0-2plans-for-1", "_ = bigplan.solve_output(e3, y3, x0=np.ones((3, 2)))", True)
    for opt, fams in (("rtol", RTOL_BAD), ("atol", ATOL_BAD), ("dtype", DTYPE_BAD), ("method", METHOD_BAD),
                      ("backend", BACKEND_BAD)):
        for fam, v in fams.items():
            add_bad(P, E, f"{opt}-{fam}", f"_ = bigplan.solve_output(e3, y3, {opt}={v})", True)
    for cls in ("BiCGSTAB", "Neumann"):
        for fam, v in INT_BAD.items():
            add_bad(P, E, f"{cls}-maxiter-{fam}", f"_ = bigplan.solve_output(e3, y3, method=bigplan.{cls}(maxiter={v}))",
                 True)
    for fam, v in {"0": "0", "-1": "-1", "2.7": "2.7", "str": "'x'"}.items():
        add_bad(P, E, f"Direct-max_n-{fam}", f"_ = bigplan.solve_output(e3, y3, method=bigplan.Direct(max_n={v}))", True)
        add_bad(P, E, f"BiCGSTAB-max_restarts-{fam}" if fam != "0" else "BiCGSTAB-max_restarts--2",
             f"_ = bigplan.solve_output(e3, y3, method=bigplan.BiCGSTAB(max_restarts={v if fam != '0' else -2}))",
             True)
        add_bad(P, E, f"Refined-max_outer-{fam}", f"_ = bigplan.solve_output(e3, y3, method=bigplan.Refined(max_outer={v}))",
             True)
    for fam, v in RTOL_BAD.items():
        add_bad(P, E, f"Refined-inner_rtol-{fam}", f"_ = bigplan.solve_output(e3, y3, method=bigplan.Refined(inner_rtol={v}))",
             True)
    for fam, v in {"ndarray": "A3", "none": "None", "str": "'e3'"}.items():
        add_bad(P, E, f"economy-{fam}", f"_ = bigplan.solve_output({v}, y3)", True)
    for opt in ("raise_on_failure", "keep_on_device"):
        add_bad(P, E, f"{opt}-str", f"_ = bigplan.solve_output(e3, y3, {opt}='x')", True)
    add_bad(P, E, "neumann-rho-0.999999", "_ = bigplan.solve_output(bigplan.Economy(0.999999 * np.roll(np.eye(50), 1, "
                                      "axis=0)), np.ones(50), method='neumann')", True, True)
    for fam, v in {"default-rtol": "", "rtol-1e-9": ", rtol=1e-9"}.items():  # float32 cannot resolve the tolerance
        add_bad(P, E, f"dtype32-{fam}", f"_ = bigplan.solve_output(e3, y3, dtype=np.float32{v})", True)
        add_bad(P, "labour_values", f"dtype32-{fam}", f"_ = bigplan.labour_values(e3, dtype=np.float32{v})", True)
    add_bad(P, E, "too-large-for-float32", "_ = bigplan.solve_output(bigplan.Economy(A3, dtype=np.float32), "
                                       "np.full(3, 1e300), dtype=np.float32)", True)
    # labour_values
    E = "labour_values"
    for fam, v in VEC_BAD.items():
        add_bad(P, E, f"labour-{fam}", f"_ = bigplan.labour_values(e3, labour={v})", True)
    add_bad(P, E, "labour-df-dup-columns", "_ = bigplan.labour_values(e3, labour=pd.DataFrame(np.ones((3, 2)), index=L3, "
                                       "columns=['w', 'w']))", True)
    add_bad(P, E, "labour-df-unknown", "_ = bigplan.labour_values(e3, labour=pd.DataFrame({'w': [1., 1., 1.]}, "
                                   "index=['a', 'b', 'zz']))", True)
    add_bad(P, E, "no-labour", "_ = bigplan.labour_values(e2)", True)
    for fam, v in {k: VEC_BAD[k] for k in ("nan", "short", "complex", "strings", "series-unknown", "series-missing",
                                             "series-dup", "string")}.items():
        add_bad(P, E, f"x0-{fam}", f"_ = bigplan.labour_values(e3, x0={v})", True)
    add_bad(P, E, "x0-list-shape", "_ = bigplan.labour_values(e3, x0=[1., 1.])", True)
    for opt, fams in (("rtol", RTOL_BAD), ("atol", ATOL_BAD), ("dtype", DTYPE_BAD), ("method", METHOD_BAD),
                      ("backend", BACKEND_BAD)):
        for fam, v in fams.items():
            add_bad(P, E, f"{opt}-{fam}", f"_ = bigplan.labour_values(e3, {opt}={v})", True)
    add_bad(P, E, "economy-ndarray", "_ = bigplan.labour_values(A3)", True)
    # choose_method
    E = "choose_method"
    for fam, v in INT_BAD.items():
        add_bad(P, E, f"k-{fam}", f"_ = bigplan.choose_method(e3, {v})", True)
    for fam, v in RTOL_BAD.items():
        add_bad(P, E, f"rtol-{fam}", f"_ = bigplan.choose_method(e3, 1, rtol={v})", True)
    for fam, v in BACKEND_BAD.items():
        add_bad(P, E, f"backend-{fam}", f"_ = bigplan.choose_method(e3, 1, backend={v})", True)
    add_bad(P, E, "economy-ndarray", "_ = bigplan.choose_method(A3, 1)", True)
    # with_changes
    E = "with_changes"
    for fam, v in {"float-positions": "{(0.9, 1.7): .25}", "bool-positions": "{(True, 0): .25}",
                   "unknown-label": "{('zz', 'a'): .1}", "nan": "{('a', 'b'): float('nan')}",
                   "inf": "{('a', 'b'): np.inf}", "negative": "{('a', 'b'): -.1}", "complex": "{('a', 'b'): .1j}",
                   "str-value": "{('a', 'b'): 'x'}", "unproductive": "{('a', 'a'): 1.5}", "string": "'ab'",
                   "bad-key": "{'a': .1}", "triple-key": "{('a', 'b', 'c'): .1}", "position-on-labelled": "{(0, 1): .1}",
                   "list-short": "[('a', 'b')]", "none-value": "{('a', 'b'): None}"}.items():
        add_bad(P, E, fam, f"_ = e3.with_changes({v})", True)
    for fam, v in {"float-positions": "{(0.9, 1.7): .25}", "out-of-range": "{(0, 5): .1}", "negative-pos": "{(-1, 0): .1}",
                   "label-on-unlabelled": "{('a', 'b'): .1}"}.items():
        add_bad(P, E, f"e2-{fam}", f"_ = e2.with_changes({v})", True)
    for fam, v in {"capacity-nan": "capacity=[1., np.nan, 1.]", "capacity-series-unknown":
                   f"capacity={VEC_BAD['series-unknown']}", "labour-short": "labour=[1., 2.]",
                   "labour-nan": "labour=[1., np.nan, 1.]", "stocks-neg": "stocks=[1., -1., 1.]",
                   "bogus-kw": "bogus=1", "dtype-int": "dtype=int", "check-str": "check='x'"}.items():
        add_bad(P, E, fam, f"_ = e3.with_changes({v})", True)
    # positions
    E = "positions"
    for fam, v in {"float": "[0.9]", "float-1.7": "[1.7]", "bool": "[True]", "string": "'ab'", "unknown": "['zz']",
                   "none": "None", "nested": "[['a']]"}.items():
        add_bad(P, E, fam, f"_ = e3.positions({v})", True)
    for fam, v in {"float": "[0.9]", "out-of-range": "[5]", "negative": "[-1]", "label": "['a']", "bool": "[True]",
                   "nan": "[np.nan]"}.items():
        add_bad(P, E, f"e2-{fam}", f"_ = e2.positions({v})", True)
    # dynamic
    E = "dynamic.max_growth_rate"
    D = "bigplan.dynamic"
    for opt, fams in (("g_max", {"-1": "-1", "0": "0", "nan": NAN, "str": "'x'"}),
                      ("shift", {"nan": NAN, "-1": "-1", "inf": INF, "str": "'x'"}),
                      ("rtol", RTOL_BAD), ("maxiter", INT_BAD), ("depreciation", {"str": "'x'", "nan": NAN}),
                      ("backend", {"unknown": "'x'"})):
        for fam, v in fams.items():
            add_bad(P, E, f"{opt}-{fam}", f"_ = {D}.max_growth_rate(ek, {opt}={v})")
    add_bad(P, E, "no-capital", f"_ = {D}.max_growth_rate(e3)")
    add_bad(P, E, "not-economy", f"_ = {D}.max_growth_rate(A3)")
    E = "dynamic.plan"
    for fam, v in {**VEC_CORE, **NEG}.items():
        add_bad(P, E, f"consumption-{fam}", f"_ = {D}.plan(ek, {v}, horizon=3)")
    for arg in ("capacity", "growth"):
        for fam in ("nan", "short", "complex", "strings", "series-unknown", "series-missing", "series-dup", "string"):
            add_bad(P, E, f"{arg}-{fam}", f"_ = {D}.plan(ek, y3, horizon=3, {arg}={VEC_BAD[fam]})")
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
            add_bad(P, E, f"{opt}-{fam}", f"_ = {D}.plan(ek, y3, {hz}{opt}={v})")
    add_bad(P, E, "no-capital", f"_ = {D}.plan(e3, y3, horizon=3)")
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
            add_bad(P, E, f"{opt}-{fam}", f"_ = {D}.balanced_plan(ek, y3{extra}, {opt}={v})")
    for fam in ("nan", "short", "series-unknown", "series-missing", "series-dup", "complex"):
        add_bad(P, E, f"consumption-{fam}", f"_ = {D}.balanced_plan(ek, {VEC_BAD[fam]}, growth=0.01)")
    E = "dynamic.frontier"
    for opt, fams in (("growth_rates", {"nan": "[np.nan]", "empty": "[]", "str": "'x'", "-2": "[-2.]", "inf": "[np.inf]",
                                        "2d": "[[0.01]]"}),
                      ("investment_shares", {"1.5": "[1.5]", "nan": "[np.nan]", "-0.1": "[-0.1]"}),
                      ("points", {"0": "0", "-1": "-1", "2.7": "2.7", "str": "'x'"}),
                      ("horizon", {"0": "0", "2.7": "2.7"})):
        for fam, v in fams.items():
            add_bad(P, E, f"{opt}-{fam}", f"_ = {D}.frontier(ek, y3, {opt}={v})")
    E = "dynamic.compare"
    for fam, v in {"empty": "{}", "string": "'x'", "list-empty": "[]", "growth-nan": "{'a': {'growth': np.nan}}",
                   "unknown-option": "{'a': {'bogus': 1}}", "not-mapping": "{'a': 3}",
                   "share-1.5": "{'a': {'investment_share': 1.5}}"}.items():
        add_bad(P, E, f"proposals-{fam}", f"_ = {D}.compare(ek, {v}, y3)")
    for fam in ("series-unknown", "series-missing", "series-dup", "short", "map-missing"):
        v = VEC_BAD[fam].replace("[1., 2., 3., 4.]", "['x', 'y', 'x', 'y']").replace("[1., 2., 3.]", "['x', 'y', 'x']") \
            .replace("[1., 2.]", "['x', 'y']").replace("1.", "'x'").replace("2.", "'y'")
        add_bad(P, E, f"sectors-{fam}", f"_ = {D}.compare(ek, {{'a': {{'growth': .01}}}}, y3, sectors={v})")
    # inventory
    E = "inventory.replan"
    I = "bigplan.inventory"
    for fam, v in {**VEC_CORE, **{k: BLOCK_BAD[k] for k in ("df-dup-columns", "df-dup-index",
                                                                                       "df-unknown")}}.items():
        add_bad(P, E, f"demand-{fam}", f"_ = {I}.replan(e3, {v})")
    for fam, v in {"threshold--1": "threshold=-1", "threshold-nan": "threshold=np.nan", "threshold-str": "threshold='x'",
                   "abs_threshold--1": "abs_threshold=-1", "abs_threshold-nan": "abs_threshold=np.nan",
                   "rtol-0": "rtol=0", "rtol-2": "rtol=2", "rtol-nan": "rtol=np.nan", "rtol-1": "rtol=1",
                   "method-unknown": "method='x'", "solver-unknown": "solver='x'", "inner_dtype-str": "inner_dtype='x'",
                   "inner_dtype-int": "inner_dtype=int", "previous-short": "previous=[1., 2.]",
                   "previous-nan": "previous=[1., np.nan, 1.]", "plans-dup": "plans=['p', 'p']",
                   "version-2.7": "version=2.7"}.items():
        add_bad(P, E, fam, f"_ = {I}.replan(e3, y3, {v})")
    for fam, v in {"capacity-nan": "capacity=[1., np.nan, 1.]", "capacity-negative": "capacity=[1., -1., 1.]",
                   "capacity-short": "capacity=[1., 2.]", "capacity-str": "capacity='x'",
                   "capacity-series-unknown": "capacity=pd.Series([1.], index=['zz'])",
                   "capacity-series-nan": "capacity=pd.Series([np.nan], index=['a'])",
                   "capacity-map-negative": "capacity={'a': -1.}", "measure-str": "measure='x'",
                   "measure-none": "measure=None"}.items():
        add_bad(P, E, fam, f"_ = {I}.replan(e3, y3, {v})")
    E = "dynamic.draw_stocks"
    for fam in ("nan", "short", "complex", "strings", "series-unknown", "series-missing", "series-dup"):
        add_bad(P, E, f"demand-{fam}", f"_ = {D}.draw_stocks(e3, {VEC_BAD[fam]}, y3)")
        add_bad(P, E, f"stocks-{fam}", f"_ = {D}.draw_stocks(e3, y3, {VEC_BAD[fam]})")
    for fam, v in NEG.items():
        add_bad(P, E, f"stocks-{fam}", f"_ = {D}.draw_stocks(e3, y3, {v})")
    add_bad(P, E, "rtol-2", f"_ = {D}.draw_stocks(e3, y3, y3, rtol=2)")
    add_bad(P, E, "economy-array", f"_ = {D}.draw_stocks(A3, y3, y3)")
    E = "inventory.Replanner"
    for fam, v in {"demand-nan": "[1., np.nan, 1.]", "demand-series-unknown": VEC_BAD["series-unknown"],
                   "demand-short": "[1., 2.]", "demand-df-dup-columns": BLOCK_BAD["df-dup-columns"]}.items():
        add_bad(P, E, fam, f"_ = {I}.Replanner(e3, {v})")
    for fam, v in {"outputs-short": "outputs=[1., 2.]", "outputs-nan": "outputs=[1., np.nan, 1.]",
                   "rtol-2": "rtol=2", "bogus-option": "bogus=1", "threshold-nan": "threshold=np.nan"}.items():
        add_bad(P, E, fam, f"_ = {I}.Replanner(e3, y3, {v}).update(e3.with_changes({{('a', 'b'): .25}}))")
    E = "inventory.stock_change"
    for fam, v in VEC_CORE.items():
        add_bad(P, E, f"output-{fam}", f"_ = {I}.stock_change(e3, {v})")
    for fam in ("nan", "short", "series-unknown", "series-missing", "complex", "strings"):
        add_bad(P, E, f"final_use-{fam}", f"_ = {I}.stock_change(e3, y3, {VEC_BAD[fam]})")
    E = "inventory.simulate_consumer_demand"
    for fam in ("nan", "short", "complex", "strings", "series-unknown", "series-missing", "series-dup", "negative"):
        v = {**VEC_BAD, **NEG}[fam]
        add_bad(P, E, f"planned-{fam}", f"_ = {I}.simulate_consumer_demand(ek, {v}, y3, periods=3)")
        add_bad(P, E, f"actual-{fam}", f"_ = {I}.simulate_consumer_demand(ek, y3, {v}, periods=3)")
    add_bad(P, E, "actual-df-unknown", f"_ = {I}.simulate_consumer_demand(ek, y3, pd.DataFrame(np.ones((3, 3)), "
                                    "index=['a', 'b', 'zz']), periods=3)")
    add_bad(P, E, "actual-df-shuffled-columns-products",
         f"_ = {I}.simulate_consumer_demand(ek, y3, pd.DataFrame(np.ones((3, 3)), columns=['zz', 'a', 'b']), periods=3)")
    for opt, fams in (("periods", {"0": "0", "-1": "-1", "2.7": "2.7", "str": "'x'", "bool": "True"}),
                      ("adjustment", {"nan": NAN, "-1": "-1"}), ("price_response", {"nan": NAN}),
                      ("elasticity", {"nan": NAN, "-1": "-1"}), ("min_price", {"-1": "-1", "nan": NAN}),
                      ("tol", {"-1": "-1", "nan": NAN, "0": "0"}), ("rtol", {"2": "2", "0": "0"}),
                      ("target_stocks", {"nan": "[1., np.nan, 1.]", "unknown": VEC_BAD["series-unknown"]}),
                      ("initial_stocks", {"neg": "[1., -1., 1.]", "short": "[1., 2.]"})):
        for fam, v in fams.items():
            add_bad(P, E, f"{opt}-{fam}", f"_ = {I}.simulate_consumer_demand(ek, y3, y3, {opt}={v}"
                                       f"{', periods=3' if opt != 'periods' else ''})")
    # store
    E = "store"
    for fam, v in {"none": "None", "int": "3", "file": "write(T, 'f', 'x')"}.items():
        add_bad(P, E, f"open_store-path-{fam}", f"_ = {I}.open_store({v}); _.commit(ek, author='p', reason='r')")
    for opt, fams in (("timeout", {"-1": "-1", "nan": NAN, "str": "'x'"}),
                      ("snapshot_every", {"0": "0", "-1": "-1", "2.7": "2.7"}),
                      ("snapshot_changes", {"0": "0", "2.7": "2.7"})):
        for fam, v in fams.items():
            add_bad(P, E, f"open_store-{opt}-{fam}", f"_ = {I}.open_store(os.path.join(T, 'x'), {opt}={v})")
    for fam, v in {"empty": "{}", "none": "None", "string": "'ab'", "unknown-label": "{('zz', 'a'): .1}",
                   "float-positions": "{(0.9, 1.7): .25}", "nan": "{('a', 'b'): np.nan}", "negative": "{('a', 'b'): -1}",
                   "unproductive": "{('a', 'a'): 1.5}", "complex": "{('a', 'b'): 1j}", "list-empty": "[]",
                   "nul-label-economy": "bigplan.Economy(A3, labels=['a', 'b', 'c\\x00'])",
                   "uint64-label-economy": "bigplan.Economy(A3, labels=np.array([1, 2, 2**63 + 5], dtype=np.uint64))",
                   "tuple-label-economy": "bigplan.Economy(A3, labels=pd.Index([('a', 1), ('b', 2), ('c', 3)], "
                                          "tupleize_cols=False))"}.items():
        add_bad(P, E, f"commit-{fam}", f"S; _ = S.commit({v}, author='p', reason='r')")
    add_bad(P, E, "commit-author-none", "S; _ = S.commit({('a', 'b'): .1}, author=None, reason='r')")
    for fam, v in {"none": "None", "1.7": "1.7", "99": "99", "-1-is-head": "-1", "head": "1", "str": "'x'", "bool": "True",
                   "0": "0"}.items():  # rolling back to the head itself records no change
        add_bad(P, E, f"rollback-{fam}", f"S; _ = S.rollback({v}, author='p')")
    for fam, v in {"df-dup-index": BLOCK_BAD["df-dup-index"], "df-dup-columns": BLOCK_BAD["df-dup-columns"],
                   "series-unknown": "{'q': " + VEC_BAD["series-unknown"] + "}", "nan": "{'q': [1., np.nan, 1.]}",
                   "short": "{'q': [1., 2.]}", "complex": "{'q': np.array([1j, 1, 1])}", "empty": "{}",
                   "names-dup": "np.ones((3, 2)), names=['q', 'q']", "existing-name": "{'base': y3}",
                   "string": "'abc'", "series-missing": "{'q': " + VEC_BAD["series-missing"] + "}"}.items():
        add_bad(P, E, f"add_plans-{fam}", f"S; _ = S.add_plans({v}, author='p')")
    for fam, v in {"threshold--1": "threshold=-1", "rtol-2": "rtol=2", "rtol-0": "rtol=0", "plans-unknown":
                   "plans=['zz']", "version-99": "version=99", "version-1.7": "version=1.7", "method-x": "method='x'",
                   "threshold-nan": "threshold=np.nan"}.items():
        add_bad(P, E, f"replan-{fam}", f"S; _ = S.replan({v})")
    for fam, v in {"empty": "{}", "string": "'x'", "unknown-key": "{'a': {'bogus': 1}}",
                   "share-1.5": "{'a': {'investment_share': 1.5}}", "week-0": "{'a': {'hours_per_worker': 0.}}",
                   "supply-negative": "{'a': {'labour_supply': -1.}}"}.items():
        add_bad(P, E, f"add_proposals-{fam}", f"S; _ = S.add_proposals('p', {v}, y3, author='p', horizon=2)")
    for fam, v in {"name-empty": "'', {'a': {'growth': .01}}, y3, author='p'",
                   "name-int": "3, {'a': {'growth': .01}}, y3, author='p'",
                   "horizon-0": "'p', {'a': {'growth': .01}}, y3, author='p', horizon=0",
                   "option-unknown": "'p', {'a': {'growth': .01}}, y3, author='p', bogus=1",
                   "capacity-nan": "'p', {'a': {'growth': .01}}, y3, author='p', capacity=[1., np.nan, 1.]",
                   "stocks-negative": "'p', {'a': {'growth': .01}}, y3, author='p', stocks=[1., -1., 1.]"}.items():
        add_bad(P, E, f"add_proposals-{fam}", f"S; _ = S.add_proposals({v})")
    for fam, v in {"unknown": "S.proposals('zz')", "version-99": "S.proposals('zz', version=99)",
                   "remove-unknown": "S.remove_proposals(['zz'])"}.items():
        add_bad(P, E, f"proposals-{fam}", f"S; _ = {v}")
    for fam, v in {"99": "1, 99", "str": "'x', 1", "1.7": "1.7, 1", "-5": "-5, 1"}.items():  # None, -1: the head
        add_bad(P, E, f"diff-{fam}", f"S; _ = S.diff({v})")
    for fam, v in {"economy-99": "S.economy(99)", "economy-1.7": "S.economy(1.7)", "changes-99": "S.changes(99)",
                   "final_demand-unknown": "S.final_demand(['zz'])", "remove_plans-unknown": "S.remove_plans(['zz'])"}.items():
        add_bad(P, E, fam, f"S; _ = {v}")
    for meth in ("record_counts", "record_capacity"):  # stock-taking: aligned by label, never negative
        for fam in ("nan", "complex", "short", "strings", "string", "series-unknown", "series-dup", "map-unknown",
                    "negative"):
            add_bad(P, E, f"{meth}-{fam}", f"S; _ = S.{meth}({ {**VEC_BAD, **NEG}[fam]}, author='p', reason='r')")
    for fam, v in {"unit-int": "unit=3", "unit-empty": "unit=''"}.items():
        add_bad(P, E, f"record_counts-{fam}", f"S; _ = S.record_counts(y3, {v}, author='p', reason='r')")
    for fam, v in {"production-nan": "production=[1., np.nan, 1.]", "use-series-unknown":
                   f"use={VEC_BAD['series-unknown']}", "none": "", "production-negative": "production=[1., -1., 1.]"}.items():
        add_bad(P, E, f"record_flows-{fam}", f"S; _ = S.record_flows({v}{', ' if v else ''}author='p', reason='r')")
    for fam, v in {"years--1": "-1.", "years-nan": "np.nan", "years-str": "'x'", "rates-nan": "1., rates=[np.nan, .1, .1]",
                   "rates-1.5": "1., rates=[1.5, .1, .1]", "rates-series-unknown": f"1., rates={VEC_BAD['series-unknown']}"}.items():
        add_bad(P, E, f"depreciate-{fam}", f"S; _ = S.depreciate({v}, author='p')")
    for fam, v in {"by-x": "by='x'", "version-99": "99"}.items():
        add_bad(P, E, f"inventory-{fam}", f"S; _ = S.inventory({v})")
    for fam, v in {"series-unknown": "pd.Series(['x', 'y', 'x'], index=['a', 'b', 'zz'])",
                   "series-dup": "pd.Series(['x', 'y', 'x'], index=['a', 'a', 'b'])", "short": "['x', 'y']",
                   "string": "'xyz'"}.items():
        add_bad(P, E, f"set_sectors-{fam}", f"S; _ = S.set_sectors({v})")
    add_bad(P, E, "damaged-ledger", "S; S.close(); open(os.path.join(T, 's', 'ledger.sqlite'), 'r+b').write(b'junk' * 64); "
                                 f"_ = {I}.open_store(os.path.join(T, 's')).economy()")
    add_bad(P, E, "truncated-ledger", "S; S.close(); open(os.path.join(T, 's', 'ledger.sqlite'), 'r+b').truncate(100); "
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
        add_bad(P, E, f"Technology-{fam}", f"_ = {X}.Technology({v})")
    for fam in ("nan", "complex", "short", "strings", "string", "series-unknown", "series-missing", "series-dup"):
        add_bad(P, E, f"plan_activities-demand-{fam}", f"_ = {X}.plan_activities(tech, {VEC_BAD[fam]})")
    for fam, v in {"capacity-nan": "capacity=[1., np.nan, 1.]", "capacity-negative": "capacity=[1., -1., 1.]",
                   "rtol-2": "rtol=2", "rtol-0": "rtol=0", "solver-x": "solver='x'", "time_limit-0": "time_limit=0",
                   "time_limit-nan": "time_limit=np.nan", "weights-nan": "weights=[np.nan]",
                   "raise_on_failure-str": "raise_on_failure='x'"}.items():
        add_bad(P, E, f"plan_activities-{fam}", f"_ = {X}.plan_activities(tech, y3, {v})")
    for fam, v in {"rtol-2": "rtol=2", "rtol-nan": "rtol=np.nan", "maxiter-0": "maxiter=0", "maxiter-2.7": "maxiter=2.7",
                   "weights-nan": "weights=[np.nan]", "weights-negative": "weights=[-1.]", "method-x": "method='x'"}.items():
        add_bad(P, E, f"choose_technique-{fam}", f"_ = {X}.choose_technique(tech, {v})")
    for fam, v in {"empty": "{}", "string": "'x'", "plan-nan": "{'p': [1., np.nan, 1.]}",
                   "plan-series-unknown": "{'p': " + VEC_BAD["series-unknown"] + "}", "time_limit--1":
                   "{'p': y3}, time_limit=-1"}.items():
        add_bad(P, E, f"check_proposals-{fam}", f"_ = {X}.check_proposals(tech, {v})")
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
        add_bad(P, E, fam, f"_ = cli({argv})")
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
        add_bad(P, E, fam, f"_ = {v}")
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
            add_ok(P, E, f"{meth}-{name}", f"_ = bigplan.solve_output(e3, {d}, method='{meth}')", f"chk_out(_, A3, {y})",
                True)
    forms["scaled-1e30"] = ("y3 * 1e30", "y3 * 1e30")  # float32 carries it (1e200 would not: a typed refusal)
    for name in ("array", "series-shuffled", "scaled-1e30", "int", "zero"):
        d, y = forms[name]
        add_ok(P, E, f"dtype32-{name}", f"_ = bigplan.solve_output(e3, {d}, dtype=np.float32, rtol=1e-5)",
            f"chk_out(_, A3, {y}, 1e-5)", True)
        add_ok(P, E, f"econ32-{name}", f"_ = bigplan.solve_output(bigplan.Economy(A3, labels=L3, dtype=np.float32), {d})",
            f"chk_out(_, A3.astype(np.float32), {y}, 1e-6)", True)
    for name, code, y in (("x0-series-shuffled", "x0=pd.Series([5., 2., 4.], index=['c', 'a', 'b'])", "y3"),
                          ("x0-exact", "x0=np.linalg.solve(np.eye(3) - A3, y3)", "y3"), ("x0-zero", "x0=np.zeros(3)", "y3"),
                          ("rtol-1e-6", "rtol=1e-6", "y3"), ("rtol-0.5-loose", "rtol=0.5, method='direct'", "y3"),
                          ("atol-small", "atol=1e-14", "y3"), ("keep_on_device", "keep_on_device=False", "y3"),
                          ("bicgstab-object", "method=bigplan.BiCGSTAB(maxiter=100)", "y3"),
                          ("neumann-object", "method=bigplan.Neumann(maxiter=10000)", "y3"),
                          ("refined-object", "method=bigplan.Refined(inner_rtol=1e-4)", "y3")):
        add_ok(P, E, name, f"_ = bigplan.solve_output(e3, y3, {code})", f"chk_out(_, A3, {y}, "
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
            add_ok(P, E, f"{name}-{meth}", f"_ = bigplan.solve_output({ec}, {d}, method='{meth}')",
                f"chk_out(_, {Ad}, {expected.get(name, d)})", True)
    add_ok(P, "Economy", "cycle-1000-rho-0.999", "_ = bigplan.Economy(0.999 * sp.eye(1000, k=1, format='csr') + "
                                              "0.999 * sp.eye(1000, k=-999, format='csr'))",
        "chk_true(_.productivity.upper < 1, repr(_.productivity))", True)
    add_ok(P, E, "cycle-1000-rho-0.999", "_ = bigplan.solve_output(bigplan.Economy(0.999 * sp.eye(1000, k=1, format='csr') + "
                                      "0.999 * sp.eye(1000, k=-999, format='csr')), np.ones(1000))",
        "chk_out(_, 0.999 * (np.eye(1000, k=1) + np.eye(1000, k=-999)), np.ones(1000), 1e-6)", True)
    for meth in ("auto", "bicgstab", "neumann", "direct", "refined"):
        add_ok(P, E, f"rho-0.999-{meth}", f"_ = bigplan.solve_output(ec, np.ones(50), method='{meth}')",
            "chk_out(_, Ac, np.ones(50), 1e-6)", True, meth == "neumann")
    # labour_values
    E = "labour_values"
    for meth in ("auto", "bicgstab", "neumann", "direct", "refined"):
        for name, code, L in (("default", "", "l3"), ("series-shuffled", "labour=pd.Series([.5, 1., 2.], index=['c', 'a', 'b'])", "l3"),
                              ("int", "labour=np.array([1, 2, 3])", "[1., 2., 3.]"),
                              ("2d", "labour=np.array([[1., 2., .5], [0., 1., 1.]])", "[[1., 2., .5], [0., 1., 1.]]")):
            add_ok(P, E, f"{meth}-{name}", f"_ = bigplan.labour_values(e3, {code}{', ' if code else ''}method='{meth}')",
                f"chk_val(_, A3, {L})", True)
    for name, code, L in (("df-shuffled", "labour=pd.DataFrame({'w': [.5, 1., 2.], 'v': [1., 0., 1.]}, "
                                          "index=['c', 'a', 'b'])", "[[1., 2., .5], [0., 1., 1.]]"),
                          ("series-int-shuffled", "labour=pd.Series([3, 1, 2], index=['c', 'a', 'b'])", "[1., 2., 3.]"),
                          ("float32", "labour=l3.astype(np.float32)", "l3"), ("scaled-1e200", "labour=l3 * 1e200", "l3 * 1e200"),
                          ("scaled-1e-200", "labour=l3 * 1e-200", "l3 * 1e-200"), ("dtype32", "dtype=np.float32, rtol=1e-5", "l3"),
                          ("x0-list", "x0=[1., 1., 1.]", "l3"), ("x0-series", "x0=pd.Series([1., 1., 1.], index=['c', 'b', 'a'])", "l3")):
        tol = "1e-5" if name.startswith("dtype32") else "1e-7"
        add_ok(P, E, name, f"_ = bigplan.labour_values(e3, {code})", f"chk_val(_, A3, {L}, {tol})", True)
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
        add_ok(P, E, name, f"_ = {code}", chk, True)
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
        add_ok(P, E, name, f"_ = {code}", chk, True)
    E = "positions"
    for name, code, exp in (("labels", "e3.positions(['c', 'a'])", "[2, 0]"), ("ints", "e2.positions([1, 0])", "[1, 0]"),
                            ("np-ints", "e2.positions(np.array([1]))", "[1]"), ("index", "e3.positions(pd.Index(['b']))", "[1]")):
        add_ok(P, E, name, f"_ = {code}", f"chk_vec(_, {exp})", True)
    E = "choose_method"
    for name, code in (("k1", "bigplan.choose_method(e3)"), ("k5", "bigplan.choose_method(e3, 5)"),
                       ("rtol", "bigplan.choose_method(e3, 1, rtol=1e-6)"), ("rho", "bigplan.choose_method(ec, 2)")):
        add_ok(P, E, name, f"_ = {code}", "chk_true(_[0] in ('bicgstab', 'neumann', 'direct', 'refined'), repr(_))", True)
    # dynamic
    D = "bigplan.dynamic"
    add_ok(P, "dynamic.max_growth_rate", "dense", f"_ = {D}.max_growth_rate(ek)", "chk_growth(_, A3, B3, [.05] * 3)")
    add_ok(P, "dynamic.max_growth_rate", "no-depreciation", f"_ = {D}.max_growth_rate(ek, depreciation=False)",
        "chk_growth(_, A3, B3, [0.] * 3)")
    add_ok(P, "dynamic.max_growth_rate", "float32", f"_ = {D}.max_growth_rate(bigplan.Economy(A3, capital=B3, "
                                                "depreciation=.05, dtype=np.float32))", "chk_growth(_, A3, B3, [.05] * 3, 1e-4)")
    E = "dynamic.plan"
    for name, code in (("series-shuffled", f"{D}.plan(ek, ys, horizon=3)"),
                       ("map-shuffled", f"{D}.plan(ek, {{'c': 3., 'a': 1., 'b': 2.}}, horizon=3)"),
                       ("int", f"{D}.plan(ek, np.array([1, 2, 3]), horizon=3)"),
                       ("capacity-shuffled", f"{D}.plan(ek, y3, horizon=3, capacity=pd.Series([10., 10., 10.], index=['c', 'b', 'a']))")):
        add_ok(P, E, name, f"_ = {code}", f"chk_vec(_.output, {D}.plan(ek, y3, horizon=3).output)")
    add_ok(P, E, "growth-series-shuffled", f"_ = {D}.plan(ek, y3, horizon=3, growth=pd.Series([.03, .01, .02], index=['c', 'a', 'b']))",
        f"chk_vec(_.output, {D}.plan(ek, y3, horizon=3, growth=np.array([.01, .02, .03])).output)")
    add_ok(P, E, "scaled-1e160", f"_ = {D}.plan(en, y3 * 1e160, horizon=3)",
        f"chk_vec(_.output / 1e160, {D}.plan(en, y3, horizon=3).output, 1e-6)")
    add_ok(P, E, "scaled-1e-160", f"_ = {D}.plan(en, y3 * 1e-160, horizon=3)",
        f"chk_vec(_.output / 1e-160, {D}.plan(en, y3, horizon=3).output, 1e-6)")
    add_ok(P, E, "huge-beyond-capacity", f"_ = {D}.plan(ek, np.full(3, 1e160), horizon=3)",
        "chk_true(np.all(np.isfinite(_.output)) and np.all(_.output > 0) and not _.feasible, repr(_))")
    add_ok(P, E, "static-check", f"_ = {D}.plan(ek, y3, horizon=1)",
        "chk_true(np.all(_.output[0] >= np.linalg.solve(np.eye(3) - A3, y3) * (1 - 1e-9)), repr(_.output[0]))")
    add_ok(P, E, "lp-small", f"_ = {D}.plan(en, y3, horizon=3, method='lp')",
        "chk_true(np.all(np.isfinite(_.output)) and np.all(_.output >= np.linalg.solve(np.eye(3) - A3, y3) * (1 - 1e-7)), "
        "repr(_.output))")
    E = "dynamic.balanced_plan"
    add_ok(P, E, "prices-series-shuffled", f"_ = {D}.balanced_plan(ek, y3, growth=.01, prices=pd.Series([3., 1., 2.], index=['c', 'a', 'b']))",
        f"chk_vec(_.output, {D}.balanced_plan(ek, y3, growth=.01, prices=y3).output)")
    add_ok(P, E, "consumption-series-shuffled", f"_ = {D}.balanced_plan(ek, ys, growth=.01)",
        f"chk_vec(_.output, {D}.balanced_plan(ek, y3, growth=.01).output)")
    add_ok(P, "dynamic.frontier", "rates", f"_ = {D}.frontier(ek, ys, growth_rates=[0., .01])",
        f"chk_vec(_.select_dtypes('number').to_numpy(dtype=float, na_value=0), {D}.frontier(ek, y3, growth_rates=[0., .01])"
        ".select_dtypes('number').to_numpy(dtype=float, na_value=0))")
    add_ok(P, "dynamic.compare", "sectors-shuffled",
        f"_ = {D}.compare(ek, {{'a': {{'growth': .01}}}}, y3, sectors=pd.Series(['x', 'y', 'x'], index=['c', 'b', 'a']))",
        f"chk_vec(_.sector_output.loc[['x', 'y'], 'a'], {D}.compare(ek, {{'a': {{'growth': .01}}}}, y3, "
        "sectors=pd.Series(['x', 'y', 'x'], index=['a', 'b', 'c'])).sector_output.loc[['x', 'y'], 'a'])")
    # inventory
    I = "bigplan.inventory"
    E = "inventory.stock_change"
    add_ok(P, E, "series-shuffled", f"_ = {I}.stock_change(e3, ys, pd.Series([.1, .2, .3], index=['b', 'c', 'a']))",
        "chk_vec(_, y3 - A3 @ y3 - np.array([.3, .1, .2]))")
    add_ok(P, E, "int", f"_ = {I}.stock_change(e3, np.array([1, 2, 3]))", "chk_vec(_, y3 - A3 @ y3)")
    E = "inventory.replan"
    for name, d, y in (("series-shuffled", "ys", "y3"), ("int", "np.array([1, 2, 3])", "y3"),
                       ("df-shuffled", "pd.DataFrame({'p': [3., 1., 2.]}, index=['c', 'a', 'b'])", "y3[:, None]"),
                       ("scaled-1e200", "y3 * 1e200", "y3 * 1e200"), ("scaled-1e-200", "y3 * 1e-200", "y3 * 1e-200")):
        add_ok(P, E, name, f"_ = {I}.replan(e3, {d})",
            f"chk_vec(np.asarray(_.output).reshape(3, -1) / np.max({y}), np.linalg.solve(np.eye(3) - A3, "
            f"np.reshape({y}, (3, -1)) / np.max({y})), 1e-7)")
    add_ok(P, E, "previous-shuffled", f"_ = {I}.replan(e3.with_changes({{('a', 'b'): .25}}), ys, "
                                   "previous=pd.Series(np.linalg.solve(np.eye(3) - A3, y3), index=L3), old_economy=e3)",
        "chk_vec(np.asarray(_.output).ravel(), np.linalg.solve(np.eye(3) - (A3 + np.array([[0, .05, 0], [0, 0, 0], "
        "[0, 0, 0]])), y3), 1e-7)")
    E = "inventory.simulate_consumer_demand"
    add_ok(P, E, "planned-shuffled", f"_ = {I}.simulate_consumer_demand(ek, ys, y3 * 1.1, periods=4)",
        f"chk_vec(_.output, {I}.simulate_consumer_demand(ek, y3, y3 * 1.1, periods=4).output)")
    add_ok(P, E, "actual-shuffled", f"_ = {I}.simulate_consumer_demand(ek, y3, ys * 1.1, periods=4)",
        f"chk_vec(_.output, {I}.simulate_consumer_demand(ek, y3, y3 * 1.1, periods=4).output)")
    # store
    E = "store"
    add_ok(P, E, "add_plans-shuffled", "S; S.add_plans({'q': ys * 2}, author='p'); _ = S.replan()",
        "chk_vec(S.outputs(['q']).to_numpy().ravel(), np.linalg.solve(np.eye(3) - A3, 2 * y3), 1e-7)")
    add_ok(P, E, "commit-label-change", "S; v = S.commit({('b', 'a'): .25}, author='p', reason='r'); _ = S.economy(v)",
        "chk_vec(_.A.toarray(), A3 + np.array([[0, 0, 0], [.2, 0, 0], [0, 0, 0]]))")
    add_ok(P, E, "rollback", "S; S.commit({('b', 'a'): .25}, author='p', reason='r'); v = S.rollback(1, author='p'); "
                          "_ = S.economy(v)", "chk_vec(_.A.toarray(), A3)")
    add_ok(P, E, "replace-economy-keeps-records", "S; v = S.commit(ek.with_changes({('a', 'b'): .25}), author='p', reason='r'); "
                                               "_ = S.economy(v)",
        "chk_true(_.labour is not None and _.capital is not None and _.capacity is not None, 'records kept: labour '"
        " + str(_.labour is not None) + ', capital ' + str(_.capital is not None) + ', capacity ' + str(_.capacity is not None))")
    add_ok(P, E, "record_counts-shuffled", "S; S.record_counts(ys, author='p', reason='r'); _ = S.economy()",
        "chk_vec(_.stocks, y3)")
    add_ok(P, E, "record_capacity-shuffled", "S; S.record_capacity(ys * 10, author='p', reason='r'); _ = S.economy()",
        "chk_vec(_.capacity, y3 * 10)")
    add_ok(P, E, "replace-drops-records-listed", "S; v = S.commit(bigplan.Economy(A3, labels=L3), author='p', reason='r'); "
                                              "_ = (S.economy(v), S.diff(1, v))",
        "chk_true(_[0].labour is not None or 'labour' in set(_[1]['kind']), 'labour dropped and diff kinds ' "
        "+ str(sorted(set(_[1]['kind']))))")
    add_ok(P, E, "diff-lists-change", "S; v = S.commit({('b', 'a'): .25}, author='p', reason='r'); _ = S.diff(1, v)",
        "chk_true(len(_) >= 1, repr(_))")
    add_ok(P, E, "open_store-creates-nested", f"_ = {I}.open_store(os.path.join(T, 'no', 'such', 'dir')); "
                                           "_.commit(ek, author='p', reason='r')", "chk_vec(_.economy().A.toarray(), A3)")
    add_ok(P, E, "reopen", "S; S.close(); _ = bigplan.inventory.open_store(os.path.join(T, 's')).economy()",
        "chk_vec(_.A.toarray(), A3)")
    add_ok(P, E, "int-labels-roundtrip", f"S2 = {I}.open_store(os.path.join(T, 'i')); S2.commit(bigplan.Economy(A3, "
                                      "labels=[10, 20, 30]), author='p', reason='r'); S2.close(); "
                                      f"_ = {I}.open_store(os.path.join(T, 'i')).economy()",
        "chk_true(list(_.labels) == [10, 20, 30], repr(_.labels))")
    # activity
    X = "bigplan.activity"
    add_ok(P, "activity", "plan_activities-shuffled", f"_ = {X}.plan_activities(tech, ys)",
        "chk_vec(_.activity, np.linalg.solve(np.eye(3) - A3, y3), 1e-7)")
    add_ok(P, "activity", "plan_activities-int", f"_ = {X}.plan_activities(tech, np.array([1, 2, 3]))",
        "chk_vec(_.activity, np.linalg.solve(np.eye(3) - A3, y3), 1e-7)")
    add_ok(P, "activity", "choose_technique-values", f"_ = {X}.choose_technique(tech)",
        "chk_vec(_.values, np.linalg.solve((np.eye(3) - A3).T, l3), 1e-7)")
    add_ok(P, "activity", "choose_technique-two-processes",
        f"_ = {X}.choose_technique({X}.Technology(np.column_stack([A3, A3[:, 0] * 2]), [0, 1, 2, 0], "
        "np.append(l3, 5.), products=L3))", "chk_vec(_.values, np.linalg.solve((np.eye(3) - A3).T, l3), 1e-7)")
    # CLI
    add_ok(P, "cli", "default", "_ = cli('--top', '3')", "chk_true(_.rc == 0, _.stderr)")
    add_ok(P, "cli", "csv-stdout-dash", "_ = cli('--csv', '-', '--top', '2')",
        "chk_true(_.rc == 0 and _.stdout.count(',') > 71 and not os.path.exists('-'), "
        "f'rc {_.rc}, file named - created: {os.path.exists(\"-\")}, {_.stderr[:150]}')")
    add_ok(P, "cli", "csv-overwrite-keeps-mode", "p = write(T, 'old.csv', 'old'); os.chmod(p, 0o644); "
                                              "_ = cli('--csv', p, *(['--overwrite'] if '[--overwrite]' in cli('--help').stdout else []))",
        "chk_true(_.rc == 0 and oct(os.stat(p).st_mode & 0o777) == '0o644' and open(p).read() != 'old', "
        "f'rc {_.rc}, mode {oct(os.stat(p).st_mode & 0o777)}, {_.stderr[:150]}')")
    add_ok(P, "cli", "demand-shuffled-csv", "_ = cli('--demand', csv_ok, '--csv', os.path.join(T, 'o.csv'))",
        "chk_cli_plan(_, os.path.join(T, 'o.csv'), csv_ok)")
    return P


def all_probes() -> list[Probe]:
    return bad_probes() + valid_probes()


# -- running one probe ----------------------------------------------------------------------------------------
