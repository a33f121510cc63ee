"""Exit codes of the ``bigplan`` command, mapped from bigplan's typed errors in one table.

The table is read top to bottom and the first class an error is an instance of
gives the code, so subclasses come before their parents.
"""

from __future__ import annotations

from ..errors import (
    BackendUnavailableError,
    BigplanError,
    ConvergenceError,
    CorruptStoreError,
    InsufficientMemoryError,
    MissingDependencyError,
    ReadOnlyStoreError,
    StoreBusyError,
    StoreVersionError,
)

__all__ = [
    "BAD_INPUT",
    "CODES",
    "DONE",
    "INTERNAL",
    "INTERRUPTED",
    "NOT_CONVERGED",
    "OUT_OF_MEMORY",
    "STORE",
    "TABLE",
    "UNAVAILABLE",
    "epilog",
    "exit_code",
]

DONE = 0
INTERNAL = 1
BAD_INPUT = 2
NOT_CONVERGED = 3
OUT_OF_MEMORY = 4
INTERRUPTED = 5
UNAVAILABLE = 6
STORE = 7

#: code -> meaning, as documented in ``bigplan --help`` and the README.
CODES: dict[int, str] = {
    DONE: "done",
    INTERNAL: "unexpected internal error (a bug: please report it with the traceback)",
    BAD_INPUT: "bad input: arguments, a missing or unreadable file, labels that do not match, an output that "
               "exists without --overwrite, an unknown backend, an infeasible plan",
    NOT_CONVERGED: "a solve did not reach its tolerance (ConvergenceError)",
    OUT_OF_MEMORY: "out of memory (InsufficientMemoryError, MemoryError): use --chunk or a smaller batch",
    INTERRUPTED: "interrupted (Ctrl-C, SIGINT, SIGTERM); a --chunk job continues where it stopped when rerun",
    UNAVAILABLE: "a backend, an optional dependency or a Dask scheduler is not available "
                 "(BackendUnavailableError, MissingDependencyError, a scheduler that does not answer)",
    STORE: "the plan store is busy, damaged, read-only or newer than this bigplan (StoreBusyError, "
           "CorruptStoreError, ReadOnlyStoreError, StoreVersionError)",
}

#: (exception class, exit code), first match wins.
TABLE: tuple[tuple[type[BaseException], int], ...] = (
    (KeyboardInterrupt, INTERRUPTED),
    (ConvergenceError, NOT_CONVERGED),
    (InsufficientMemoryError, OUT_OF_MEMORY),
    (MemoryError, OUT_OF_MEMORY),
    (BackendUnavailableError, UNAVAILABLE),
    (MissingDependencyError, UNAVAILABLE),
    (StoreBusyError, STORE),
    (CorruptStoreError, STORE),
    (StoreVersionError, STORE),
    (ReadOnlyStoreError, STORE),  # before OSError: it is a PermissionError too
    (ConnectionError, UNAVAILABLE),  # a Dask scheduler that does not answer (--scheduler)
    (BigplanError, BAD_INPUT),  # every other typed error: the input (or a request to the store) is wrong
    (ValueError, BAD_INPUT),  # a file pandas or NumPy cannot parse; a bare TypeError or KeyError is a bug
    (OSError, BAD_INPUT),  # missing, unreadable or unwritable files, an existing output
)


def exit_code(exc: BaseException) -> int:
    """The exit code for an exception (``INTERNAL`` for anything not in :data:`TABLE`).

    Examples
    --------
    >>> from bigplan.errors import ConvergenceError, LabelError
    >>> from bigplan._cli.exitcodes import exit_code
    >>> exit_code(LabelError("x")), exit_code(ConvergenceError("y")), exit_code(KeyboardInterrupt())
    (2, 3, 5)
    """
    for cls, code in TABLE:
        if isinstance(exc, cls):
            return code
    return INTERNAL


def epilog() -> str:
    """The exit-code table as text for ``--help``."""
    import textwrap

    return "exit codes:\n" + "\n".join(
        textwrap.fill(text, width=100, initial_indent=f"  {code}  ", subsequent_indent="     ")
        for code, text in CODES.items())
