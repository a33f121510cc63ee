"""The ``bigplan`` command: Leontief plans from the command line.

Run without arguments, it loads the packaged 71-product BEA 2021 economy
(:func:`bigplan.io.bea_economy`), builds three alternative final-demand plans
from this year's final demand (``baseline``; ``consumption+5%``: personal
consumption up 5 %; ``investment+10%``: private investment up 10 %), solves
them as one batch with :func:`bigplan.solve_output`, computes labour values with
:func:`bigplan.labour_values`, and prints gross output per product and plan, the
labour values, and a summary: the labour (compensation of employees) each
plan needs and how the solves went.  ``--demand FILE`` replaces the built-in
plans by a CSV table of final demand; ``--csv FILE`` writes the full table.

Subcommands cover the library's jobs on files (``bigplan COMMAND --help``):

``solve``
    Outputs and labour of every plan (parquet/CSV/npy); ``--chunk N`` makes a
    long job resumable after a kill, ``--shard i/N`` splits it for job arrays.
``values``
    Labour values.
``dynamic growth|plan|frontier|compare``
    The dynamic model: ``g*``, multi-period plans, the frontier, proposals.
``choose``
    The choice of technique (:mod:`bigplan.activity`).
``store init|commit|versions|diff|plans|replan``
    The versioned plan store (:mod:`bigplan.inventory`).
``info``
    Version, backends, devices and their memory, the compiled kernels.
``merge``
    Join the outputs of ``solve --shard``.

Progress goes to standard error (off when it is not a terminal), ``--json``
prints a machine-readable summary on standard output, and the exit code says
what happened (:data:`bigplan._cli.exitcodes.CODES`): 0 done, 2 bad input, 3
not converged, 4 out of memory, 5 interrupted, 6 backend or dependency
unavailable, 7 store busy or damaged.  Errors print one line to standard
error.  The parts live in the private package :mod:`bigplan._cli`.

Examples
--------
::

    bigplan                              # the default job
    bigplan --top 10 --method bicgstab
    bigplan solve -e economy.npz -p plans.parquet -o out.parquet --chunk 500
    bigplan solve -e synthetic:100000 -p synthetic:1000 -o out.npy --shard 3/8
    bigplan merge out-*.parquet -o all.parquet
    bigplan dynamic frontier -e economy.npz --plot frontier.png
    bigplan info --json
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

import numpy as np

from ._cli.default import (
    DEFAULT_TOP,
    default_plans,
    plan_table,
    read_demand,
    run_default,
)
from ._cli.exitcodes import CODES, INTERNAL, INTERRUPTED, exit_code
from ._cli.output import write_csv_atomic
from ._cli.parser import build_parser

__all__ = ["CODES", "DEFAULT_TOP", "build_parser", "default_plans", "main", "plan_table", "read_demand",
           "write_csv_atomic"]


def _clean(value):
    """A JSON-safe copy: numpy scalars to Python, non-finite floats to ``None`` / ``"inf"``."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _raise_interrupt(signum, frame):  # pragma: no cover - exercised by the SIGTERM of a batch scheduler
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (a batch scheduler's cancel) ends the job like Ctrl-C: exit code 5, written chunks kept."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bigplan`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code (:data:`CODES`): 0 done; 2 bad arguments, a bad or missing file, an existing output
        without ``--overwrite``; 3 not converged; 4 out of memory; 5 interrupted; 6 a backend or optional
        dependency unavailable; 7 a store busy or damaged.  Errors print one line on standard error (and,
        with ``--json``, a JSON object on standard output); an unexpected error (a bug) raises.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return int(exc.code) if isinstance(exc.code, int) else 2
    want_json = bool(getattr(args, "json", False))
    command = " ".join(filter(None, [args.command, getattr(args, "action", None)])) or "default"
    try:
        with _sigterm_interrupts():
            if args.command is None:
                return run_default(args, sys.stdout)
            code, summary = args.func(args, sys.stdout)
    except Exception as exc:
        code = exit_code(exc)
        if code == INTERNAL:
            raise
        return _fail(exc, code, command, want_json)
    except KeyboardInterrupt as exc:
        return _fail(exc, INTERRUPTED, command, want_json)
    if want_json:
        print(json.dumps(_clean({**summary, "ok": True, "exit_code": code}), allow_nan=False), file=sys.stdout)
    return code


def _fail(exc: BaseException, code: int, command: str, want_json: bool) -> int:
    if code == INTERRUPTED:
        message = "interrupted" + ("" if not str(exc) else f" ({exc})")
        print(f"bigplan: {message}", file=sys.stderr)
    else:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"bigplan: error: {message}", file=sys.stderr)
    if want_json:
        print(json.dumps({"command": command, "ok": False, "exit_code": code, "error": type(exc).__name__,
                          "message": message, "meaning": CODES.get(code, "")}), file=sys.stdout)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
