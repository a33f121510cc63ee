"""Shared fixtures: one test body runs on every backend present, compared with NumPy."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

if importlib.util.find_spec("jax") is not None:
    import jax

    jax.config.update("jax_enable_x64", True)


def _cupy_reason() -> str | None:
    if importlib.util.find_spec("cupy") is None:
        return "CuPy is not installed (pip install 'bigplan[cuda13]')"
    from bigplan.backend import available_backends

    return None if "cupy" in available_backends() else "no CUDA device visible to CuPy"


BACKEND_PARAMS = [
    pytest.param("numpy", id="numpy"),
    pytest.param(
        "jax",
        id="jax",
        marks=pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed"),
    ),
    pytest.param(
        "cupy", id="cupy", marks=[pytest.mark.gpu, pytest.mark.skipif(_cupy_reason() is not None, reason=str(_cupy_reason()))]
    ),
]


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request) -> str:
    """Name of a backend usable here."""
    return request.param


def device_array(backend: str, x):
    """``x`` as an array of the backend's own library."""
    if backend == "cupy":
        import cupy

        return cupy.asarray(x)
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.asarray(x)
    return np.asarray(x)


def to_host(x):
    if type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)


def random_productive(n: int, density: float, spectral: float, seed: int) -> sp.csr_matrix:
    """Random sparse non-negative matrix scaled so every column sums to ``spectral`` (or less)."""
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=density, random_state=rng, format="csr")
    A = A + sp.diags(rng.random(n) * 0.05)
    cs = np.asarray(A.sum(axis=0)).ravel()
    cs[cs == 0] = 1.0
    return sp.csr_matrix(A @ sp.diags(spectral / cs))


@pytest.fixture
def small_economy():
    import bigplan

    A = random_productive(60, 0.1, 0.8, seed=3)
    rng = np.random.default_rng(4)
    return bigplan.Economy(A, labour=rng.random((2, 60)) + 0.1, labels=[f"p{i}" for i in range(60)])
