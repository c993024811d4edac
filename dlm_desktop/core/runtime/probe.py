"""The impure half of detection: read this machine into a `HostFacts`.

torch is imported here, inside functions, so importing the runtime package stays cheap. MLX is located with
`importlib.util.find_spec`, which does not execute the package. Every probe tolerates failure: a broken
driver or a missing library turns into "not available" plus, where useful, the text torch gave.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlm_desktop.core.runtime.detect import HostFacts

# Distributions whose versions the doctor reports (metadata only: nothing is imported).
REPORTED_PACKAGES: tuple[str, ...] = (
    "torch",
    "transformers",
    "peft",
    "accelerate",
    "bitsandbytes",
    "flash-attn",
    "mlx",
    "mlx-lm",
    "llama-cpp-python",
)


@dataclass(frozen=True)
class _TorchFacts:
    version: str | None = None
    cuda_version: str | None = None
    hip_version: str | None = None
    cuda_available: bool = False
    device_count: int = 0
    cuda_warning: str | None = None
    device_name: str | None = None
    capability: tuple[int, int] | None = None
    gcn_arch: str | None = None
    vram_free: int | None = None
    vram_total: int | None = None
    mps_built: bool = False
    mps_available: bool = False


def gather_host_facts() -> HostFacts:
    """Probe torch, MLX, the CPU and memory; see `detect.probe_host`."""
    torch_facts = _probe_torch()
    ram_total, ram_available = _ram_bytes()
    return HostFacts(
        system=platform.system().lower(),
        machine=platform.machine().lower(),
        python_version=platform.python_version(),
        torch_version=torch_facts.version,
        torch_cuda_version=torch_facts.cuda_version,
        hip_version=torch_facts.hip_version,
        cuda_available=torch_facts.cuda_available,
        cuda_device_count=torch_facts.device_count,
        cuda_warning=torch_facts.cuda_warning,
        device_name=torch_facts.device_name,
        compute_capability=torch_facts.capability,
        gcn_arch=torch_facts.gcn_arch,
        vram_free_bytes=torch_facts.vram_free,
        vram_total_bytes=torch_facts.vram_total,
        mps_built=torch_facts.mps_built,
        mps_available=torch_facts.mps_available,
        mlx_importable=_module_found("mlx"),
        mlx_lm_importable=_module_found("mlx_lm"),
        cpu_name=_cpu_name(),
        cpu_cores=_cpu_cores(),
        ram_total_bytes=ram_total,
        ram_available_bytes=ram_available,
        packages=installed_versions(REPORTED_PACKAGES),
    )


def installed_versions(distributions: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of `distributions` from package metadata; absent ones are left out."""
    found: dict[str, str] = {}
    for name in distributions:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _module_found(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _probe_torch() -> _TorchFacts:
    try:
        import torch
    except Exception:  # noqa: BLE001 - a torch that fails to import is "no torch" to the user
        return _TorchFacts()
    version = getattr(torch, "version", None)
    cuda = _probe_cuda(torch)
    mps_built, mps_available = _probe_mps(torch)
    return _TorchFacts(
        version=str(torch.__version__),
        cuda_version=getattr(version, "cuda", None),
        hip_version=getattr(version, "hip", None),
        mps_built=mps_built,
        mps_available=mps_available,
        **cuda,
    )


def _probe_cuda(torch: Any) -> dict[str, Any]:
    # torch reports driver problems as a UserWarning from is_available(); keep the text so the doctor can
    # say *why* there is no GPU instead of silently falling back to the CPU.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            available = bool(torch.cuda.is_available())
        except Exception as exc:  # noqa: BLE001
            return {"cuda_warning": f"{type(exc).__name__}: {exc}"}
    note = str(caught[0].message).strip() if caught else None
    if not available:
        return {"cuda_warning": note}
    try:
        props = torch.cuda.get_device_properties(0)
        free, total = torch.cuda.mem_get_info(0)
    except Exception as exc:  # noqa: BLE001 - a device we cannot query is not a device we can train on
        return {"cuda_warning": f"{type(exc).__name__}: {exc}"}
    arch = getattr(props, "gcnArchName", None)
    return {
        "cuda_available": True,
        "device_count": int(torch.cuda.device_count()),
        "cuda_warning": note,
        "device_name": str(props.name),
        "capability": (int(props.major), int(props.minor)),
        "gcn_arch": str(arch).split(":")[0] if arch else None,
        "vram_free": int(free),
        "vram_total": int(total),
    }


def _probe_mps(torch: Any) -> tuple[bool, bool]:
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    if mps is None:
        return False, False
    try:
        return bool(mps.is_built()), bool(mps.is_available())
    except Exception:  # noqa: BLE001
        return False, False


def _cpu_cores() -> int:
    # The affinity mask respects container and taskset limits, which os.cpu_count() ignores.
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if sys.platform.startswith("linux") and cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    if sys.platform == "darwin":
        brand = _sysctl("machdep.cpu.brand_string")
        if brand:
            return brand
    return platform.processor() or platform.machine() or "cpu"


def _sysctl(key: str) -> str | None:
    try:
        done = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _ram_bytes() -> tuple[int, int]:
    try:
        import psutil
    except ImportError:
        return _ram_bytes_from_sysconf()
    memory = psutil.virtual_memory()
    return int(memory.total), int(memory.available)


def _ram_bytes_from_sysconf() -> tuple[int, int]:
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        total = page * os.sysconf("SC_PHYS_PAGES")
        available = page * os.sysconf("SC_AVPHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 0, 0
    return int(total), int(available)
