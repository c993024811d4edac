"""Faked `HostFacts` for the machines the runtime must handle (none of which but the CPU one is here)."""

from __future__ import annotations

from dataclasses import replace

from dlm_desktop.core.runtime import HostFacts

GIB = 1024**3

CPU_LINUX = HostFacts(
    cpu_name="AMD EPYC",
    packages={"torch": "2.13.0+cpu", "transformers": "5.23.0", "peft": "0.21.2"},
)


def cuda_host(sm: tuple[int, int] = (8, 6), name: str = "NVIDIA GeForce RTX 3090", free_gib: float = 22.0) -> HostFacts:
    """A Linux box with one NVIDIA GPU (Ampere by default) and a CUDA build of torch."""
    return replace(
        CPU_LINUX,
        torch_version="2.13.0+cu124",
        torch_cuda_version="12.4",
        cuda_available=True,
        cuda_device_count=1,
        device_name=name,
        compute_capability=sm,
        vram_free_bytes=int(free_gib * GIB),
        vram_total_bytes=int(max(24.0, free_gib) * GIB),
        packages={**CPU_LINUX.packages, "torch": "2.13.0+cu124"},
    )


def rocm_host(arch: str = "gfx90a") -> HostFacts:
    """A Linux box with one AMD GPU and a ROCm build of torch (exposed through torch.cuda)."""
    return replace(
        cuda_host(sm=(9, 0), name="AMD Instinct MI210"),
        torch_version="2.13.0+rocm6.2",
        torch_cuda_version=None,
        hip_version="6.2.41133",
        gcn_arch=arch,
    )


def apple_host(ram_gib: int = 16, mlx: bool = False, mps: bool = True) -> HostFacts:
    """An Apple Silicon Mac; `mlx` installs both mlx and mlx_lm."""
    packages = {"torch": "2.13.0", "transformers": "5.23.0"}
    if mlx:
        packages.update({"mlx": "0.29.0", "mlx-lm": "0.28.0"})
    return HostFacts(
        system="darwin",
        machine="arm64",
        torch_version="2.13.0",
        mps_built=True,
        mps_available=mps,
        mlx_importable=mlx,
        mlx_lm_importable=mlx,
        cpu_name="Apple M2",
        cpu_cores=8,
        ram_total_bytes=ram_gib * GIB,
        ram_available_bytes=ram_gib * GIB // 2,
        packages=packages,
    )
