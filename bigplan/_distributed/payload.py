"""The economy as it travels to the workers, and what is built from it there.

An :class:`~bigplan.Economy` holds a lock and a cache of device copies, so it does not travel itself:
:class:`EconomyPayload` carries its arrays and its productivity certificate (the workers do not certify it
again), and :func:`economy_on_worker` rebuilds it once per worker process, keyed by the economy's
fingerprint, so the blocks a worker solves share one economy and its device operator.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..economy import Economy, Productivity
from ..errors import NotProductiveError

__all__ = ["EconomyPayload", "block_token", "economy_on_worker", "fingerprint", "payload_of", "perturbed_economy"]

#: Economies kept rebuilt per worker process (a run uses one; a sweep may alternate two).
_KEEP = 2
_ECONOMIES: OrderedDict = OrderedDict()
_LOCK = threading.Lock()


def _hash_arrays(h, *arrays) -> None:
    for a in arrays:
        if a is None:
            h.update(b"-")
            continue
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(memoryview(a).cast("B"))


def fingerprint(economy: Economy) -> str:
    """A digest of everything a solve reads from ``economy`` (coefficients, labour, labels).

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan._distributed.payload import fingerprint
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]))
    >>> fingerprint(e) == fingerprint(bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]])))
    True
    """
    h = hashlib.blake2b(digest_size=16)
    A = economy.A
    _hash_arrays(h, A.indptr, A.indices, A.data, economy.labour)
    if economy.labels is not None:
        _hash_arrays(h, pd.util.hash_pandas_object(economy.labels, index=False).to_numpy())
    h.update(repr((economy.labour_names, economy.dtype.str)).encode())
    return h.hexdigest()


def block_token(values: np.ndarray, names) -> str:
    """A digest of one block of plans (values and plan names), to recognise its file on resume."""
    h = hashlib.blake2b(digest_size=16)
    _hash_arrays(h, np.asarray(values, dtype=np.float64))
    h.update(repr([str(c) for c in names]).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class EconomyPayload:
    """An economy's arrays and certificate: what a worker needs to rebuild it (picklable)."""

    key: str
    A: sp.csr_matrix
    labour: Any
    labels: Any
    labour_names: Any
    labour_units: Any
    capital: Any
    depreciation: Any
    capacity: Any
    stocks: Any
    labour_supply: Any
    dtype: str
    certificate: Productivity

    @property
    def n(self) -> int:
        return int(self.A.shape[0])

    @property
    def nnz(self) -> int:
        return int(self.A.nnz)

    def build(self, A: sp.csr_matrix | None = None, *, check: bool = False) -> Economy:
        """The economy (``A`` replaced when given: then certified again unless ``check`` is False)."""
        replaced = A is not None
        return Economy(
            self.A if A is None else A,
            self.labour,
            labels=self.labels,
            labour_names=self.labour_names,
            labour_units=self.labour_units,
            capital=self.capital,
            depreciation=self.depreciation,
            capacity=self.capacity,
            stocks=self.stocks,
            labour_supply=self.labour_supply,
            dtype=np.dtype(self.dtype),
            index_dtype=self.A.indices.dtype,
            check=check or replaced,
            certificate=None if replaced else self.certificate,
        )


def payload_of(economy: Economy) -> EconomyPayload:
    """The travelling form of ``economy`` (arrays shared, nothing copied)."""
    return EconomyPayload(
        key=fingerprint(economy),
        A=economy.A,
        labour=economy.labour,
        labels=economy.labels,
        labour_names=economy.labour_names,
        labour_units=economy.labour_units,
        capital=economy.capital,
        depreciation=economy.depreciation,
        capacity=economy.capacity,
        stocks=economy.stocks,
        labour_supply=economy.labour_supply,
        dtype=economy.dtype.str,
        certificate=economy.productivity,
    )


def economy_on_worker(payload: EconomyPayload) -> Economy:
    """The economy of ``payload``, rebuilt once per process and kept (with its device operators) for the next block."""
    with _LOCK:
        econ = _ECONOMIES.get(payload.key)
        if econ is not None:
            _ECONOMIES.move_to_end(payload.key)
            return econ
        econ = payload.build()
        _ECONOMIES[payload.key] = econ
        while len(_ECONOMIES) > _KEEP:
            _ECONOMIES.popitem(last=False)
        return econ


def perturbed_economy(payload: EconomyPayload, seed: int, sample: int, sigma: float) -> Economy:
    """Sample ``sample`` of a Monte Carlo run: every coefficient times ``exp(sigma z - sigma^2 / 2)``.

    ``z`` is standard normal, one per non-zero coefficient, drawn from
    ``numpy.random.default_rng([seed, sample])``: the factor has mean 1, the sparsity pattern is kept, and the
    same ``(seed, sample)`` gives the same economy on any worker.

    Raises
    ------
    NotProductiveError
        The perturbed economy cannot produce a net product (the message names the sample).
    """
    A = payload.A
    z = np.random.default_rng([int(seed), int(sample)]).standard_normal(A.nnz)
    data = A.data.astype(np.float64) * np.exp(sigma * z - 0.5 * sigma * sigma)
    As = sp.csr_matrix((data.astype(A.dtype), A.indices.copy(), A.indptr.copy()), shape=A.shape)
    try:
        return payload.build(As, check=True)
    except NotProductiveError as exc:
        raise NotProductiveError(
            f"Monte Carlo sample {sample} (seed {seed}, sigma {sigma:g}) is not productive: {exc}; "
            "use a smaller sigma",
            spectral_radius=exc.spectral_radius,
            sectors=exc.sectors,
        ) from None
