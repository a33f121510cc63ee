"""Options checked where they enter: tolerances, limits, counts, rates, flags.

Every public function validates its options with these, so the same bad option
gets the same :class:`~bigplan.InvalidOptionError` (a ``ValueError`` and a
``TypeError``) everywhere, naming the argument, the value and the allowed range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._arrays import is_int
from .errors import InvalidOptionError

__all__ = ["check_rtol", "check_atol", "check_int", "check_real", "check_bool", "check_choice"]


def _real(value: Any, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidOptionError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    return float(value)


def check_rtol(rtol: Any, name: str = "rtol") -> float:
    """A relative tolerance: a finite number in (0, 1).

    ``rtol >= 1`` would accept the zero vector (or the demand itself) as an
    answer, so it is refused rather than reported converged.

    Examples
    --------
    >>> from bigplan._options import check_rtol
    >>> check_rtol(1e-10)
    1e-10
    """
    v = _real(rtol, name)
    if not (0.0 < v < 1.0) or not math.isfinite(v):
        why = (
            "a relative tolerance of 1 or more accepts any answer" if v >= 1.0
            else "a tolerance of 0 or less can never be met" if v <= 0.0 else "it must be a number"
        )
        raise InvalidOptionError(f"{name} must lie in (0, 1), got {rtol!r}; {why} (typical values: 1e-6 to 1e-12)")
    return v


def check_atol(atol: Any, name: str = "atol") -> float:
    """An absolute tolerance: a finite number >= 0."""
    v = _real(atol, name)
    if not (v >= 0.0 and math.isfinite(v)):
        raise InvalidOptionError(f"{name} must be a finite number >= 0, got {atol!r}")
    return v


def check_int(value: Any, name: str, *, lo: int | None = 1, hi: int | None = None, allow_none: bool = False):
    """A whole number within ``[lo, hi]`` (floats such as ``2.7`` or ``2.0`` are refused, never truncated)."""
    if value is None and allow_none:
        return None
    if not is_int(value):
        raise InvalidOptionError(f"{name} must be a whole number, got {value!r} ({type(value).__name__})")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else (f"<= {hi}" if lo is None else f"in [{lo}, {hi}]")
        raise InvalidOptionError(f"{name} must be {rng}, got {v}")
    return v


def check_real(value: Any, name: str, *, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, hi_open: bool = False, allow_none: bool = False,
               allow_inf: bool = False):
    """A real number (finite unless ``allow_inf``; NaN never) within the given bounds."""
    if value is None and allow_none:
        return None
    v = _real(value, name)
    if math.isnan(v) or (not allow_inf and not math.isfinite(v)):
        raise InvalidOptionError(f"{name} must be a finite number, got {value!r}")
    bad = (lo is not None and (v <= lo if lo_open else v < lo)) or (hi is not None and (v >= hi if hi_open else v > hi))
    if bad:
        raise InvalidOptionError(f"{name} must be {_interval(lo, hi, lo_open, hi_open)}, got {v:g}")
    return v


def _interval(lo, hi, lo_open: bool, hi_open: bool) -> str:
    """``"> 0"``, ``"<= 1"`` or ``"in (0, 1]"``: the allowed range, in words a reader parses at once."""
    if lo is None and hi is None:
        return "a real number"
    if hi is None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {hi:g}"
    return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def check_bool(value: Any, name: str) -> bool:
    """A flag: ``True`` or ``False`` (NumPy booleans too), never a truthy string or number."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidOptionError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(value: Any, name: str, choices) -> Any:
    """One of ``choices``."""
    if value not in tuple(choices):
        raise InvalidOptionError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value
