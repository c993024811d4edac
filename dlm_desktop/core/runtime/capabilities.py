"""What the picked backend can do: a pure summary of `HostFacts` for one `Backend`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlm_desktop.core.runtime.detect import Backend, HostFacts

GIB = 1024**3

# AMD architectures with native bf16 matrix instructions: CDNA2 (gfx90a), CDNA3/4 (gfx94x, gfx95x),
# RDNA3/3.5 (gfx11xx) and RDNA4 (gfx12xx).
_ROCM_BF16_ARCH_PREFIXES: tuple[str, ...] = ("gfx90a", "gfx94", "gfx95", "gfx11", "gfx12")

# Capability version key -> distribution name in `HostFacts.packages`.
_VERSION_KEYS: tuple[tuple[str, str], ...] = (
    ("torch", "torch"),
    ("transformers", "transformers"),
    ("peft", "peft"),
    ("accelerate", "accelerate"),
    ("bitsandbytes", "bitsandbytes"),
    ("flash_attn", "flash-attn"),
    ("mlx", "mlx"),
    ("mlx_lm", "mlx-lm"),
    ("llama_cpp", "llama-cpp-python"),
)

DETERMINISM_BY_BACKEND: dict[Backend, str] = {
    Backend.CUDA: "strong",
    Backend.ROCM: "best-effort",
    Backend.MPS: "best-effort",
    Backend.MLX: "best-effort",
    Backend.CPU: "advisory",
}


@dataclass(frozen=True)
class Capabilities:
    """The backend the engine will use and what it supports.

    `device` is the string the engine passes to its library: a torch device (`cuda:0`, `mps`, `cpu`; ROCm
    also uses `cuda:0`) or, for MLX, MLX's device type (`gpu` on Apple Silicon, `cpu` elsewhere).
    `memory_kind` says what `memory_total_gb`/`memory_free_gb` measure: `vram` (CUDA/ROCm), `unified`
    (Apple Silicon, shared with the system) or `system` (CPU RAM). `supports_bf16`/`supports_fp16` mean the
    device computes in that format natively, not by emulation. `versions` holds every reported library,
    None when not installed.
    """

    backend: Backend
    device: str
    device_name: str
    memory_kind: str
    memory_total_gb: float | None
    memory_free_gb: float | None
    compute_capability: str | None
    gcn_arch: str | None
    supports_bf16: bool
    supports_fp16: bool
    has_flash_attention: bool
    has_bitsandbytes: bool
    mlx_available: bool
    cpu_cores: int
    ram_gb: float
    determinism: str
    platform: str
    versions: dict[str, str | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view (enum as its name, tuples as lists)."""
        return {
            "backend": self.backend.value,
            "device": self.device,
            "device_name": self.device_name,
            "memory_kind": self.memory_kind,
            "memory_total_gb": self.memory_total_gb,
            "memory_free_gb": self.memory_free_gb,
            "compute_capability": self.compute_capability,
            "gcn_arch": self.gcn_arch,
            "supports_bf16": self.supports_bf16,
            "supports_fp16": self.supports_fp16,
            "has_flash_attention": self.has_flash_attention,
            "has_bitsandbytes": self.has_bitsandbytes,
            "mlx_available": self.mlx_available,
            "cpu_cores": self.cpu_cores,
            "ram_gb": self.ram_gb,
            "determinism": self.determinism,
            "platform": self.platform,
            "versions": dict(self.versions),
        }


def capabilities_from_facts(facts: HostFacts, backend: Backend) -> Capabilities:
    """Summarise `facts` for `backend` (normally the result of `pick_backend(facts, ...)`); pure."""
    bf16 = supports_bf16(facts, backend)
    total, free, kind = _memory(facts, backend)
    return Capabilities(
        backend=backend,
        device=_device(facts, backend),
        device_name=_device_name(facts, backend),
        memory_kind=kind,
        memory_total_gb=total,
        memory_free_gb=free,
        compute_capability=_capability_text(facts, backend),
        gcn_arch=facts.gcn_arch if backend is Backend.ROCM else None,
        supports_bf16=bf16,
        supports_fp16=backend is not Backend.CPU,
        has_flash_attention=bf16 and backend in (Backend.CUDA, Backend.ROCM) and "flash-attn" in facts.packages,
        has_bitsandbytes=backend is Backend.CUDA and "bitsandbytes" in facts.packages,
        mlx_available=facts.mlx_usable,
        cpu_cores=facts.cpu_cores,
        ram_gb=_gib(facts.ram_total_bytes) or 0.0,
        determinism=DETERMINISM_BY_BACKEND[backend],
        platform=f"{facts.system}-{facts.machine}",
        versions=_versions(facts),
    )


def supports_bf16(facts: HostFacts, backend: Backend) -> bool:
    """Native bf16: CUDA from SM 8.0 (Ampere), the listed ROCm architectures, and MLX on Apple Silicon.

    MPS is reported False: its bf16 support depends on the macOS version and we train in fp32 there anyway.
    """
    if backend is Backend.CUDA:
        return facts.compute_capability is not None and facts.compute_capability >= (8, 0)
    if backend is Backend.ROCM:
        arch = (facts.gcn_arch or "").lower()
        return arch.startswith(_ROCM_BF16_ARCH_PREFIXES)
    if backend is Backend.MLX:
        return facts.is_apple_silicon
    return False


def _device(facts: HostFacts, backend: Backend) -> str:
    if backend in (Backend.CUDA, Backend.ROCM):
        return "cuda:0"
    if backend is Backend.MLX:
        return "gpu" if facts.is_apple_silicon else "cpu"
    return backend.value


def _device_name(facts: HostFacts, backend: Backend) -> str:
    if backend in (Backend.CUDA, Backend.ROCM) and facts.device_name:
        return facts.device_name
    if backend in (Backend.MPS, Backend.MLX) and facts.is_apple_silicon:
        return f"{facts.cpu_name} GPU" if facts.cpu_name.startswith("Apple") else "Apple Silicon GPU"
    if backend is Backend.MPS:
        return "Metal GPU"
    return facts.cpu_name


def _memory(facts: HostFacts, backend: Backend) -> tuple[float | None, float | None, str]:
    if backend in (Backend.CUDA, Backend.ROCM):
        return _gib(facts.vram_total_bytes), _gib(facts.vram_free_bytes), "vram"
    if backend in (Backend.MPS, Backend.MLX) and facts.system == "darwin":
        return _gib(facts.ram_total_bytes), _gib(facts.ram_available_bytes), "unified"
    return _gib(facts.ram_total_bytes), _gib(facts.ram_available_bytes), "system"


def _capability_text(facts: HostFacts, backend: Backend) -> str | None:
    if backend is Backend.CUDA and facts.compute_capability is not None:
        return "{}.{}".format(*facts.compute_capability)
    return None


def _versions(facts: HostFacts) -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": facts.python_version}
    for key, distribution in _VERSION_KEYS:
        versions[key] = facts.packages.get(distribution)
    if versions["torch"] is None:
        versions["torch"] = facts.torch_version
    versions["cuda"] = facts.torch_cuda_version
    versions["rocm"] = facts.hip_version
    return versions


def _gib(size: int | None) -> float | None:
    return None if size is None else round(size / GIB, 2)
