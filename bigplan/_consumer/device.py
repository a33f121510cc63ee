"""Where the consumer loop's element-wise work runs: the arrays' library, one code path for all.

:func:`resolve` picks the array library of a step or a simulation from
``backend=`` and the arrays given (as :func:`bigplan.solve_output` does) and
returns a :class:`Home`: the library's namespace, whether its arrays can be
updated in place (NumPy, CuPy) or not (JAX), and whether the results stay on
the device.  The rule is written once against ``home.xp``; in-place updates go
through :meth:`Home.update`, which writes into the first operand where the
library allows it and returns a new array where it does not.  CuPy and JAX are
reached only through :func:`bigplan.backend.get_backend`, i.e. imported only
when asked for or when the inputs already are theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from .._arrays import array_library, infer_library, to_host
from .._backend_api import Backend
from .._options import check_bool
from ..backend import get_backend
from ..solvers import operator

__all__ = ["Home", "namespace", "resolve"]

_DEVICE = ("cupy", "jax")


@dataclass(frozen=True)
class Home:
    """The array library of one call.

    Attributes
    ----------
    name : {"numpy", "cupy", "jax"}
        Where the element-wise work runs.
    xp : module
        Its NumPy-compatible namespace.
    mutable : bool
        Arrays may be updated in place (False for JAX).
    keep : bool
        Results stay in this library (False: they come back as NumPy arrays).
    backend : Backend or str
        What to pass to the solves: the resolved backend on a device, else ``backend=`` as given
        (``"auto"`` with host inputs may still solve on a GPU and bring the answer back).
    bk : Backend
        The backend of this library (its operators serve :meth:`matvec`).

    Examples
    --------
    >>> import numpy as np
    >>> from bigplan._consumer.device import resolve
    >>> home = resolve("auto", None, np.ones(3))
    >>> home.name, home.device, home.keep
    ('numpy', False, False)
    """

    name: str
    xp: Any
    mutable: bool
    keep: bool
    backend: Any
    bk: Backend

    @property
    def device(self) -> bool:
        """The work runs in CuPy or JAX."""
        return self.name in _DEVICE

    def put(self, x: Any, dtype=np.float64):
        """``x`` as an array of this library in ``dtype`` (shared, not copied, when it already is one)."""
        if self.name == "numpy":
            x = to_host(x)
            return x if isinstance(x, np.ndarray) and x.dtype == dtype else np.asarray(x, dtype=dtype)
        if array_library(x) == self.name:
            return x if x.dtype == dtype else x.astype(dtype)
        return self.bk.asarray(x, dtype=dtype)  # the backend's upload (CuPy: no pinned staging buffer kept)

    def update(self, fn, a, *args):
        """``fn(a, *args)``, written into ``a`` where the library updates in place (returns the result)."""
        return fn(a, *args, out=a) if self.mutable else fn(a, *args)

    def fused(self, fn, static: tuple = (0, 1)):
        """``fn`` compiled into one call where the library compiles (JAX: ``jax.jit``), else ``fn`` itself.

        ``static`` names the positional arguments that are options (hashable), not arrays.
        """
        return _jitted(fn, static) if self.bk.compiles else fn

    def matvec(self, economy, x):
        """``A @ x`` for a vector ``x`` of this library (SciPy's product on the host, the backend's on a device)."""
        if not self.device:
            return np.asarray(economy.A @ x, dtype=np.float64)
        op = operator(self.bk, economy, dtype=np.float64)  # cached on the economy, as the solvers use it
        return self.bk.matmat(op, self.bk.as_block(x[:, None], np.float64))[:, 0]

    def out(self, x):
        """A result as the caller gets it: kept in this library, or brought to the host."""
        return x if self.keep or x is None else to_host(x)


@cache
def _jitted(fn, static: tuple):
    import jax  # only reached with JAX arrays in hand: JAX is loaded already

    return jax.jit(fn, static_argnums=static)


def resolve(backend: Any, keep_on_device: Any, *arrays: Any) -> Home:
    """The :class:`Home` of a call given ``backend=``, ``keep_on_device=`` and its array inputs.

    The work runs in CuPy or JAX when ``backend`` names one (or is such a
    :class:`~bigplan.backend.Backend`), or when it is ``"auto"`` and the inputs
    include arrays of that library, or when it is ``"auto"`` with host inputs,
    ``keep_on_device=True`` and a CUDA device is present (the device
    :func:`bigplan.solve_output` would pick); otherwise in NumPy.
    ``keep_on_device`` defaults, as in :func:`bigplan.solve_output`, to "the
    inputs came as device arrays".

    Raises
    ------
    BackendError, BackendUnavailableError, MixedBackendError
        Unknown backend, one that is not installed, or inputs of two device
        libraries (or of another library than the one named).
    InvalidOptionError
        ``keep_on_device`` not a boolean.
    """
    if keep_on_device is not None:
        keep_on_device = check_bool(keep_on_device, "keep_on_device")
    lib = infer_library(*arrays)
    named = backend.name if isinstance(backend, Backend) else backend
    if named == "numpy":  # device inputs are brought to the host, as before
        bk = get_backend(backend)
    elif named == "auto" and lib not in _DEVICE:  # host inputs: the host, unless device results are asked for
        bk = get_backend("auto") if keep_on_device else get_backend("numpy")
    else:
        bk = get_backend(backend, *arrays)
    device = bk.name in _DEVICE
    keep = (lib in _DEVICE) if keep_on_device is None else keep_on_device
    return Home(name=bk.name, xp=bk.xp, mutable=bool(bk.mutable), keep=keep,
                backend=bk if device else backend, bk=bk)


def namespace(*arrays: Any):
    """The namespace (``numpy``, ``cupy``, ``jax.numpy``) of the arrays' library.

    Examples
    --------
    >>> import numpy as np
    >>> from bigplan._consumer.device import namespace
    >>> namespace(np.ones(2)).__name__
    'numpy'
    """
    lib = infer_library(*arrays)
    return get_backend(lib).xp if lib in _DEVICE else np
