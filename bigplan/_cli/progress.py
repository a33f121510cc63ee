"""Progress on standard error with tqdm: on for a terminal, off otherwise (or with ``--quiet``)."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

__all__ = ["bar", "enabled"]


def enabled(quiet: bool = False) -> bool | None:
    """tqdm's ``disable`` argument: ``None`` lets tqdm switch itself off when stderr is not a terminal."""
    return True if quiet else None


def bar(total: int | None, desc: str, *, quiet: bool = False, unit: str = "plan", initial: int = 0) -> Any:
    """A progress bar on standard error (a silent one when it is off).

    Examples
    --------
    >>> from bigplan._cli.progress import bar
    >>> with bar(3, "solve", quiet=True) as b:
    ...     b.update(3)
    ...     b.disable
    True
    """
    return tqdm(total=total, desc=desc, unit=unit, initial=initial, disable=enabled(quiet), file=sys.stderr,
                leave=False, dynamic_ncols=True)
