"""The results that only a distributed run has: blocks written to files, and Monte Carlo moments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._evidence import Evidence, WithEvidence
from .parquet import read_blocks

__all__ = ["MonteCarloSolution", "WrittenBlocks"]


@dataclass(frozen=True, eq=False, repr=False)
class WrittenBlocks(WithEvidence):
    """Blocks of answers written one parquet file each, with the merged evidence of every plan.

    Attributes
    ----------
    files : tuple of str
        One file per block, in plan order (``<kind>-<start>-<stop>.parquet``: products x plans, the
        per-plan evidence in the file's ``bigplan`` schema metadata).
    blocks : tuple of (int, int)
        The plans ``start..stop`` of each file.
    skipped : int
        Blocks found already written by an earlier run of the same economy and plans (not solved again).
    evidence : Evidence
        Per-plan status and residual of every plan, in plan order.
    plans : pandas.Index
        Plan (or labour vector) names.
    """

    files: tuple
    blocks: tuple
    skipped: int
    evidence: Evidence
    plans: pd.Index

    def read(self) -> pd.DataFrame:
        """Every block's table side by side: products x plans (needs pyarrow)."""
        return read_blocks(self.files)

    def __repr__(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        return (f"<WrittenBlocks {len(self.files)} files ({self.skipped} already there), {len(self.plans)} plans: "
                f"{state}, {self.seconds:.3g} s>")


@dataclass(frozen=True, eq=False, repr=False)
class MonteCarloSolution(WithEvidence):
    """Gross output over perturbed economies: mean and standard deviation per product and plan.

    Attributes
    ----------
    mean, std : numpy.ndarray, shape (n,) or (n, k)
        Mean and sample standard deviation (``ddof=1``; 0 for one sample) of gross output over the samples.
    labour : numpy.ndarray, shape (samples, m, k), or None
        Labour each plan needs in each sample.
    samples, seed : int
    sigma : float
        Each coefficient was multiplied by ``exp(sigma z - sigma^2 / 2)``, ``z`` standard normal.
    evidence : Evidence
        One entry per sample and plan (sample-major: sample 0's plans first).
    """

    mean: np.ndarray
    std: np.ndarray
    labour: Any
    samples: int
    seed: int
    sigma: float
    evidence: Evidence
    labels: pd.Index | None = None
    plans: pd.Index | None = None

    def to_frame(self) -> pd.DataFrame:
        """Mean gross output as a DataFrame: products x plans."""
        m = self.mean[:, None] if self.mean.ndim == 1 else self.mean
        return pd.DataFrame(m, index=self.labels, columns=self.plans)

    def __repr__(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        return f"<MonteCarloSolution {self.samples} samples x {np.shape(self.mean)}: {state}, {self.seconds:.3g} s>"
