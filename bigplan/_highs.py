"""HiGHS, quietly: one home for constructing a :class:`highspy.Highs` that prints nothing on stdout.

HiGHS prints a copyright banner on the first construction in a process, straight to file descriptor 1,
before any option can silence it; a ``--json`` summary on stdout would be corrupted by it.  Every LP in
bigplan (the dynamic planner's LP route, activity analysis) builds its solver here.
"""

from __future__ import annotations

import os
import sys
import threading

__all__ = ["new_highs", "run_interruptible"]

_BANNER_DONE = False


def new_highs():
    """A silent :class:`highspy.Highs` (``output_flag`` off, the first-construction banner kept off stdout)."""
    import highspy

    global _BANNER_DONE
    fd = None
    if not _BANNER_DONE:  # only the first construction in a process prints: redirect only then
        try:
            sys.stdout.flush()
            fd = sys.stdout.fileno()
        except (AttributeError, OSError, ValueError):  # no real stdout (a notebook...): nothing to silence
            fd = None
    _BANNER_DONE = True
    if fd is None:
        h = highspy.Highs()
    else:
        saved = os.dup(fd)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), fd)
                h = highspy.Highs()
        finally:
            os.dup2(saved, fd)
            os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


def run_interruptible(h) -> None:
    """``h.run()`` in a worker thread; Ctrl-C cancels it (at HiGHS's next iteration), joins, re-raises.

    highspy's own ``startSolve``/``joinSolve`` keep their locks on the class,
    shared by every ``Highs`` object: a Ctrl-C landing inside them can leave a
    lock held and every later solve in the process waiting forever.  Here each
    solve has its own thread and stop flag, and HiGHS's interrupt callbacks
    (called from the solver thread at every simplex / IPM iteration) read it.
    """
    import highspy

    stop = threading.Event()
    box: dict = {}

    def interrupt(event):
        if stop.is_set():
            event.interrupt()

    h.cbSimplexInterrupt.subscribe(interrupt)
    h.cbIpmInterrupt.subscribe(interrupt)

    def work():
        try:
            box["status"] = highspy._core._Highs.run(h)  # the C++ run, GIL released while it solves
        except BaseException as exc:  # noqa: BLE001 -- handed to the caller's thread, re-raised there
            box["error"] = exc

    worker = threading.Thread(target=work, name="bigplan-highs-solve", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.05)
    except KeyboardInterrupt:
        stop.set()
        while worker.is_alive():  # prompt: HiGHS checks the flag at its next iteration
            try:
                worker.join(0.05)
            except KeyboardInterrupt:  # a second Ctrl-C while it stops: keep waiting, it is stopping
                continue
        raise
    if "error" in box:
        raise box["error"]
