"""Typed errors of bigplan, all exported from the package root.

Every error names the value that is wrong and what to do about it.  They
subclass the built-in exception a caller would already catch (``ValueError``
for bad input, ``RuntimeError`` for a solver that did not reach its target),
so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "BigplanError",
    "InvalidEconomyError",
    "NotProductiveError",
    "ShapeError",
    "LabelError",
    "InvalidDemandError",
    "ConvergenceError",
    "BackendError",
    "BackendUnavailableError",
    "MixedBackendError",
    "InsufficientMemoryError",
    "InfeasiblePlanError",
    "StoreError",
    "CorruptStoreError",
    "StoreVersionError",
    "UnknownProductError",
    "BEAFormatError",
]


class BigplanError(Exception):
    """Base class of every error raised on purpose by bigplan."""


class InvalidEconomyError(BigplanError, ValueError):
    """Coefficients that cannot describe an economy (NaN, infinite, negative, empty)."""


class NotProductiveError(InvalidEconomyError):
    """The economy cannot produce a net product: spectral radius of ``A`` >= 1.

    Attributes
    ----------
    spectral_radius : float
        Best estimate of the spectral radius (a certified lower bound).
    sectors : list
        Labels (or indices) of the sectors that cause it, largest column sums first.
    """

    def __init__(self, message: str, *, spectral_radius: float = float("nan"), sectors=()):
        super().__init__(message)
        self.spectral_radius = spectral_radius
        self.sectors = list(sectors)


class ShapeError(BigplanError, ValueError):
    """Arrays whose shapes do not fit together."""


class LabelError(BigplanError, ValueError):
    """Product labels of the wrong length, duplicated, or unknown."""


class InvalidDemandError(BigplanError, ValueError):
    """Final demand (targets) that is not finite or has the wrong shape."""


class ConvergenceError(BigplanError, RuntimeError):
    """An iterative solve stopped before reaching its tolerance.

    Attributes
    ----------
    residual : numpy.ndarray
        Relative residual reached by each plan.
    iterations : int
        Iterations done.
    """

    def __init__(self, message: str, *, residual=None, iterations: int = 0):
        super().__init__(message)
        self.residual = residual
        self.iterations = iterations


class BackendError(BigplanError, ValueError):
    """An unknown backend name, or a request a backend cannot serve."""


class BackendUnavailableError(BackendError, RuntimeError):
    """The backend asked for is not installed or has no device."""


class MixedBackendError(BigplanError, TypeError):
    """Inputs from two array libraries (say CuPy and JAX) in one call."""


class InsufficientMemoryError(BigplanError, MemoryError):
    """A solve would need more device memory than is available (checked up front)."""


class InfeasiblePlanError(BigplanError, ValueError):
    """Targets that no non-negative plan can meet with the resources given."""


class StoreError(BigplanError, RuntimeError):
    """A plan store that cannot be opened, read or written as asked."""


class CorruptStoreError(StoreError):
    """A store file that is truncated or damaged: nothing was loaded from it."""


class StoreVersionError(StoreError):
    """A store written by a newer format version of bigplan."""


class UnknownProductError(LabelError, KeyError):
    """A change or query that names a product the economy does not have."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class BEAFormatError(BigplanError, ValueError):
    """A BEA table that cannot be parsed: a non-numeric cell, a file that is not a table."""
