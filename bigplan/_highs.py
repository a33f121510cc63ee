"""HiGHS, quietly: one home for constructing a :class:`highspy.Highs` that prints nothing on stdout.

HiGHS prints a copyright banner on the first construction in a process, straight to file descriptor 1,
before any option can silence it; a ``--json`` summary on stdout would be corrupted by it.  Every LP in
bigplan (the dynamic planner's LP route, activity analysis) builds its solver here.
"""

from __future__ import annotations

import os
import sys

__all__ = ["new_highs"]

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
