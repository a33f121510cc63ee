"""The machinery behind :mod:`bigplan.distributed`, one concern per module.

``connect``: importing Dask lazily, a client from an address (with a timeout), sizing blocks of plans to a
worker's memory.  ``payload``: the economy as it travels (once per worker) and is rebuilt there; the
fingerprints that name a run; the perturbed economies of a Monte Carlo sample.  ``parquet``: one file per
block, written atomically, read back and checked on resume.  ``tasks``: the functions that run on the
workers, each a pure function of its inputs (so that Dask may run it again elsewhere).
"""
