"""``bigplan info``: version, backends, devices and their memory, the compiled kernels."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from typing import TextIO

__all__ = ["collect", "run_info"]


def _host_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def _devices(backends: list[str]) -> list[dict]:
    from ..backend import get_backend

    devices = [{"backend": "numpy", "kind": "cpu", "name": platform.processor() or platform.machine(),
                "cores": os.cpu_count(), "memory_total": _host_memory(), "memory_free": None}]
    if "cupy" in backends:
        import cupy

        for i in range(cupy.cuda.runtime.getDeviceCount()):
            with cupy.cuda.Device(i):
                free, total = cupy.cuda.runtime.memGetInfo()
                name = cupy.cuda.runtime.getDeviceProperties(i)["name"]
            devices.append({"backend": "cupy", "kind": "gpu", "index": i,
                            "name": name.decode() if isinstance(name, bytes) else str(name),
                            "memory_total": int(total), "memory_free": int(free)})
    if "jax" in backends:
        try:
            import jax

            for d in jax.devices():
                try:
                    stats = d.memory_stats() or {}
                except Exception:  # noqa: BLE001 - CPU devices have no memory statistics
                    stats = {}
                devices.append({"backend": "jax", "kind": d.platform, "index": int(d.id), "name": str(d),
                                "memory_total": stats.get("bytes_limit"),
                                "memory_free": (stats["bytes_limit"] - stats.get("bytes_in_use", 0))
                                if "bytes_limit" in stats else None})
        except Exception as exc:  # noqa: BLE001 - report, do not fail: info is for diagnosing broken installs
            devices.append({"backend": "jax", "kind": "error", "name": f"{type(exc).__name__}: {exc}"})
    for dev in devices:
        if dev["backend"] == "cupy" and dev.get("index") == 0:
            dev["bigplan_memory_available"] = get_backend("cupy").memory_available()
    return devices


def _kernels() -> dict:
    from .._kernel_sigs import ABI_VERSION, SIGNATURES, kernels_path, load_kernels

    info: dict = {"path": kernels_path(), "abi_version": ABI_VERSION,
                  "disabled_by_env": bool(os.environ.get("BIGPLAN_NO_KERNELS"))}
    try:
        lib = load_kernels()
    except Exception as exc:  # noqa: BLE001 - a broken build is what info must show
        info.update(loaded=False, error=f"{type(exc).__name__}: {exc}", functions=[])
        return info
    info.update(loaded=lib is not None, functions=sorted(SIGNATURES) if lib is not None else [])
    return info


def collect() -> dict:
    """Everything ``bigplan info`` reports, as a dict."""
    import numpy
    import pandas
    import scipy

    from ..backend import available_backends, cuda_available

    backends = available_backends()
    return {
        "command": "info", "bigplan": getattr(sys.modules["bigplan"], "__version__", "?"), "python": platform.python_version(),
        "platform": platform.platform(), "numpy": numpy.__version__, "scipy": scipy.__version__,
        "pandas": pandas.__version__, "backends": backends, "cuda": cuda_available(),
        "devices": _devices(backends), "kernels": _kernels(),
    }


def _gib(b) -> str:
    return "?" if b is None else f"{b / 2**30:.1f} GiB"


def run_info(args: argparse.Namespace, out: TextIO) -> tuple[int, dict]:
    """Print what this bigplan can use here."""
    s = collect()
    if not args.json:
        w = lambda text="": print(text, file=out)
        w(f"bigplan {s['bigplan']} (Python {s['python']}, NumPy {s['numpy']}, SciPy {s['scipy']}, "
          f"pandas {s['pandas']})")
        w(f"platform:  {s['platform']}")
        w(f"backends:  {', '.join(s['backends'])}  (CUDA device: {'yes' if s['cuda'] else 'no'})")
        for d in s["devices"]:
            free = f", {_gib(d.get('memory_free'))} free" if d.get("memory_free") is not None else ""
            cores = f", {d['cores']} cores" if d.get("cores") else ""
            w(f"device:    {d['backend']} {d['kind']} {d.get('name', '')}{cores}, "
              f"{_gib(d.get('memory_total'))} memory{free}")
        k = s["kernels"]
        state = "loaded" if k.get("loaded") else f"NOT loaded ({k.get('error', 'no compiled build')})"
        w(f"kernels:   {state}; ABI {k['abi_version']}; {len(k['functions'])} functions; {k['path']}")
        if k["disabled_by_env"]:
            w("           BIGPLAN_NO_KERNELS is set: the NumPy backend uses SciPy's kernels")
    return 0, s
