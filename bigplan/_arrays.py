"""Which array library an object belongs to, and bringing arrays to the host.

The one place that recognises CuPy and JAX arrays.  Recognising looks at the
object's class module, so checking never imports either library; only
:func:`to_host` touches them, and only for objects that already are theirs.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .errors import MixedBackendError

__all__ = ["array_library", "infer_library", "to_host", "is_int"]


def array_library(x: Any) -> str | None:
    """Name the array library an object belongs to, without importing any.

    Returns ``"cupy"``, ``"jax"``, ``"numpy"`` (NumPy arrays, SciPy sparse
    matrices and pandas objects) or ``None`` (Python scalars, lists, ``None``).

    Examples
    --------
    >>> import numpy as np
    >>> from bigplan.backend import array_library
    >>> array_library(np.ones(3)), array_library([1.0])
    ('numpy', None)
    """
    if x is None:
        return None
    mod = type(x).__module__.split(".", 1)[0]
    if mod in ("cupy", "cupyx"):
        return "cupy"
    if mod in ("jax", "jaxlib"):
        return "jax"
    if mod in ("numpy", "scipy", "pandas"):
        return "numpy"
    return None


def infer_library(*objs: Any) -> str | None:
    """The one array library the inputs share; raise if they mix two device libraries."""
    libs = {lib for lib in map(array_library, objs) if lib is not None}
    gpu_libs = libs - {"numpy"}
    if len(gpu_libs) > 1:
        raise MixedBackendError(
            f"inputs mix arrays of {sorted(gpu_libs)}; pass arrays of one library "
            "(convert with cupy.asarray / jax.numpy.asarray / numpy.asarray), "
            "or name the backend explicitly with backend=..."
        )
    if gpu_libs:
        return gpu_libs.pop()
    return "numpy" if libs else None


def to_host(x: Any) -> Any:
    """Bring a CuPy or JAX array (dense or sparse) to the host; leave anything else as it is.

    CuPy sparse matrices become SciPy sparse matrices, JAX sparse arrays dense
    NumPy arrays; JAX arrays come back as a writeable NumPy copy (``np.asarray``
    of a JAX array is a read-only view).

    Examples
    --------
    >>> import numpy as np
    >>> from bigplan._arrays import to_host
    >>> a = np.ones(2)
    >>> to_host(a) is a
    True
    """
    lib = array_library(x)
    if lib == "cupy":
        return x.get() if hasattr(x, "get") else x
    if lib == "jax":
        if hasattr(x, "todense") and not hasattr(x, "__array__"):
            x = x.todense()
        return np.array(x, copy=True)
    return x


def is_int(v: Any) -> bool:
    """True for an integral number (Python or NumPy integer), False for bools and floats.

    Examples
    --------
    >>> from bigplan._arrays import is_int
    >>> is_int(3), is_int(True), is_int(3.0)
    (True, False, False)
    """
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))
