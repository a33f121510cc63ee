"""Typed errors of bigplan, all exported from the package root.

Every error names the value that is wrong and what to do about it.  They
subclass the built-in exception a caller would already catch (``ValueError``
for bad input, ``RuntimeError`` for a solver that did not reach its target),
so ``except ValueError`` keeps working.
"""

from __future__ import annotations

import math



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


class MissingDependencyError(BigplanError, ImportError):
    """An optional dependency (an extra) that is not installed; the message names the ``pip install`` to run."""


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


class UnknownVersionError(StoreError, LookupError):
    """A store version that does not exist (the message names the versions there are); nothing was read or written."""


class UnknownProductError(LabelError, KeyError):
    """A change or query that names a product the economy does not have."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class BEAFormatError(BigplanError, ValueError):
    """A BEA table that cannot be parsed: a non-numeric cell, a file that is not a table."""


class DataFileError(BigplanError, ValueError):
    """A data file that cannot be read as the format it claims: truncated, corrupt, non-numeric, wrong shape.

    Attributes
    ----------
    path : str or None
        The file.
    """

    def __init__(self, message: str, *, path=None):
        super().__init__(message)
        self.path = None if path is None else str(path)


class MissingFileError(BigplanError, FileNotFoundError):
    """A data file (or folder) that does not exist or cannot be opened."""


class OutputExistsError(BigplanError, FileExistsError):
    """An output file that already exists: nothing was written; pass ``--overwrite`` (or ``overwrite=True``)."""


class SchedulerUnavailableError(BigplanError, ConnectionError):
    """A Dask scheduler that did not answer within the timeout (the message names the address)."""


class NoCapitalError(InvalidEconomyError):
    """The economy has no capital coefficients, or no capital goods at all (``B = 0``)."""


class UnitsError(InvalidEconomyError):
    """Units that are missing where required, malformed, or that disagree between inputs."""


class InvalidPlanError(BigplanError, ValueError):
    """A plan parameter that makes no sense (horizon < 1, unknown terminal rule, shares...)."""


class UnsustainableGrowthError(InfeasiblePlanError):
    """A growth rate at or above the maximal balanced growth rate ``g*``.

    Attributes
    ----------
    rate : float
        The growth rate asked for.
    max_rate, lower, upper : float
        The maximal balanced growth rate and its certified bounds (NaN when
        they could not be computed).
    """

    def __init__(self, message: str, *, rate: float = math.nan, max_rate: float = math.nan,
                 lower: float = math.nan, upper: float = math.nan):
        super().__init__(message)
        self.rate = rate
        self.max_rate = max_rate
        self.lower = lower
        self.upper = upper


class NegativePlanError(InfeasiblePlanError):
    """The exact solution of the balance equations is negative (outputs or investment).

    Attributes
    ----------
    period : int
        First period (1-based) with a negative output or disinvestment.
    products : list
        Labels (or positions) of the most negative products in that period.
    amplification : float
        Largest ``|lambda / (1 + (1 - delta) lambda)|`` over the eigenvalues of
        ``(I - A)^{-1} B``: the factor by which one backward step can amplify a
        deviation (above 1: the recursion is unstable).  NaN when not computed.
    min_real : float
        Smallest real part of an eigenvalue of ``(I - A)^{-1} B``.
    output, new_capacity : numpy.ndarray
        The rejected plan, ``(T, n)`` each, for inspection.
    """

    def __init__(self, message: str, *, period: int = 0, products=(), amplification: float = math.nan,
                 min_real: float = math.nan, output=None, new_capacity=None):
        super().__init__(message)
        self.period = period
        self.products = list(products)
        self.amplification = amplification
        self.min_real = min_real
        self.output = output
        self.new_capacity = new_capacity


class StoreBusyError(StoreError):
    """Another writer held the store's write lock for longer than the timeout.

    Nothing was written; retry, or open the store with a larger ``timeout``.
    """


class NegativeStockError(InvalidEconomyError):
    """A stock count, stock change or capacity that would be negative.

    Attributes
    ----------
    products : list
        Labels (or positions) of the offending products, at most ten.
    """

    def __init__(self, message: str, *, products=()):
        super().__init__(message)
        self.products = list(products)


class InvalidTechnologyError(InvalidEconomyError):
    """A technology (products x processes) that cannot be used: a product no process makes, bad shapes or weights.

    Attributes
    ----------
    products : list
        Labels (or positions) of the offending products, at most ten.
    """

    def __init__(self, message: str, *, products=()):
        super().__init__(message)
        self.products = list(products)


class InvalidOptionError(BigplanError, ValueError, TypeError):
    """An option (tolerance, limit, position, flag) of the wrong type or outside its range.

    Subclasses both ``ValueError`` and ``TypeError``, so either ``except`` catches it.
    """


class ReadOnlyStoreError(StoreError, PermissionError):
    """A write to a store that is open read-only (its directory or ledger is not writable).

    Reading works; to write, make the store's directory and ``ledger.sqlite`` writable
    (or copy the store somewhere writable).
    """


class EmptyChangeError(StoreError, ValueError):
    """A commit or roll-back that would record no change (``commit({})``, ``commit(None)``).

    Nothing was written; pass at least one change.
    """


class UnstorableLabelError(StoreError, LabelError):
    """A product label a store cannot keep exactly (a trailing NUL, an integer beyond 64 bits, a tuple).

    Nothing was written; rename the label (``labels.astype(str)`` often does).
    """


class InvalidPlanOptionError(InvalidOptionError, InvalidPlanError):
    """An option of a dynamic-model function (tolerance, horizon, rate, limit) of the wrong type or out of range.

    Both an :class:`InvalidOptionError` and an :class:`InvalidPlanError` (what the dynamic model raised before).
    """


#: Every typed error, in the order defined (``from bigplan.errors import *`` and ``bigplan.<Error>``).
__all__ = [
    _name for _name, _obj in list(globals().items())
    if isinstance(_obj, type) and issubclass(_obj, BigplanError)
]
