"""bigplan's asv benchmark suite (``asv.conf.json`` at the repository root).

Modules whose names start with ``bench_`` hold asv benchmark classes;
``compare_scipy.py`` and ``gpu_scale.py`` are plain scripts (run them with
``python benchmarks/<script>.py --help``); ``common.py`` holds what both share.
"""
