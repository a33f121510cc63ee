"""asv: many plans through ``bigplan.distributed`` on a small in-process Dask cluster, against a local solve.

Small on purpose (the full comparison, 1,024 plans at 10^5 products on 2 worker processes, is
``benchmarks/distributed_overhead.py``): 64 plans in blocks of 16 at 10^4 products, on a ``LocalCluster`` of
threads (``processes=False``) started in ``setup``.  Skipped when Dask is not installed, or when
``BIGPLAN_BENCH_MAX_N`` is below the size.
"""

from __future__ import annotations

import importlib.util

import numpy as np

import bigplan
from bigplan.synthetic import final_demand, labour_coefficients, technical_matrix

from . import common

N = 10**4
PLANS = 64
BLOCK = 16


class DistributedOutput:
    """64 plans: a distributed solve (2 workers, blocks of 16) and the same blocks solved in this process."""

    timeout = 120

    def setup(self):
        if importlib.util.find_spec("distributed") is None:
            raise NotImplementedError("Dask is not installed (pip install 'bigplan[dask]')")
        common.skip_if_too_large(N)
        from dask.distributed import Client, LocalCluster

        from bigplan import distributed

        self.dist = distributed
        self.econ = bigplan.Economy(technical_matrix(N, inputs_per_product=20, column_sum=0.7, seed=1),
                                    labour=labour_coefficients(N))
        self.Y = final_demand(N, PLANS, seed=2)
        self.cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                                    silence_logs=40)
        self.client = Client(self.cluster)
        self.dist.solve_output(self.econ, self.Y, client=self.client, block=BLOCK)  # warm-up
        self.local()

    def teardown(self):
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
            self.cluster.close()

    def local(self):
        return [bigplan.solve_output(self.econ, self.Y[:, a : a + BLOCK]) for a in range(0, PLANS, BLOCK)]

    def time_distributed(self):
        self.dist.solve_output(self.econ, self.Y, client=self.client, block=BLOCK)

    def time_local_blocks(self):
        self.local()

    def track_max_residual(self):
        return float(np.max(self.dist.solve_output(self.econ, self.Y, client=self.client, block=BLOCK).residual))

    track_max_residual.unit = "relative residual"
