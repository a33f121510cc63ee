"""bigplan's asv benchmark suite (``asv.conf.json`` at the repository root points here).

One module per part of bigplan: ``bench_static`` (solve_output, labour values,
SciPy's baseline), ``bench_scale`` (10^6 and 10^7 products on a GPU),
``bench_dynamic`` (bigplan.dynamic), ``bench_inventory`` (the store and
re-planning); ``common`` holds what their classes share.  asv imports this
folder as the package ``benchmarks``.  The plain scripts and the measurement
helpers (``_measure.py``) live one folder up, in ``benchmarks/``.
"""
