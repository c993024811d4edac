"""What this machine offers, and which backend trains on it.

`probe_host()` gathers raw facts (it imports torch, lazily); `pick_backend()` is a pure function of those
facts and an optional override, so every choice can be tested with faked facts.

Pick order: CUDA (or ROCm, which torch exposes through the same `torch.cuda` API) when a device is present,
else MLX on Apple Silicon when `mlx` and `mlx_lm` are installed, else MPS, else CPU.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field

from dlm_desktop.core.runtime.errors import BackendUnavailableError, UnknownBackendError

BACKEND_ENV_VAR = "DLM_DESKTOP_BACKEND"
_AUTO_WORDS = frozenset({"", "auto"})


class Backend(enum.StrEnum):
    """A compute backend; the value is the name users type in settings and `DLM_DESKTOP_BACKEND`."""

    CUDA = "cuda"
    ROCM = "rocm"
    MLX = "mlx"
    MPS = "mps"
    CPU = "cpu"


# Automatic preference, best first (ROCm sits with CUDA: one torch build never has both).
PICK_ORDER: tuple[Backend, ...] = (Backend.CUDA, Backend.ROCM, Backend.MLX, Backend.MPS, Backend.CPU)


@dataclass(frozen=True)
class HostFacts:
    """Raw detection inputs, as measured by `probe_host()` or written by a test.

    The defaults describe a Linux x86-64 machine with a CPU-only torch and 2 cores, so a test only states
    what differs. Sizes are bytes. `packages` maps distribution names (`torch`, `mlx-lm`, ...) to installed
    versions; a missing key means not installed. (Because of that dict, instances are not hashable.)
    """

    system: str = "linux"
    machine: str = "x86_64"
    python_version: str = "3.11"
    torch_version: str | None = "2.13.0+cpu"
    torch_cuda_version: str | None = None
    hip_version: str | None = None
    cuda_available: bool = False
    cuda_device_count: int = 0
    cuda_warning: str | None = None
    device_name: str | None = None
    compute_capability: tuple[int, int] | None = None
    gcn_arch: str | None = None
    vram_free_bytes: int | None = None
    vram_total_bytes: int | None = None
    mps_built: bool = False
    mps_available: bool = False
    mlx_importable: bool = False
    mlx_lm_importable: bool = False
    cpu_name: str = "cpu"
    cpu_cores: int = 2
    ram_total_bytes: int = 24 * 1024**3
    ram_available_bytes: int = 20 * 1024**3
    packages: dict[str, str] = field(default_factory=dict)

    @property
    def is_apple_silicon(self) -> bool:
        """True on macOS on an arm64 CPU (a Python running under Rosetta reports x86_64 and is excluded)."""
        return self.system == "darwin" and self.machine in ("arm64", "aarch64")

    @property
    def mlx_usable(self) -> bool:
        """Both halves of the MLX stack are importable (`mlx` for arrays, `mlx_lm` for models)."""
        return self.mlx_importable and self.mlx_lm_importable


def backend_is_available(facts: HostFacts, backend: Backend) -> bool:
    """Whether `backend` can run here at all (MLX counts on any OS where it imports; CPU always)."""
    if backend is Backend.CUDA:
        return facts.cuda_available and facts.hip_version is None
    if backend is Backend.ROCM:
        return facts.cuda_available and facts.hip_version is not None
    if backend is Backend.MLX:
        return facts.mlx_usable
    if backend is Backend.MPS:
        return facts.mps_available and facts.mps_built
    return True


def available_backends(facts: HostFacts) -> tuple[Backend, ...]:
    """Every backend that can run here, in pick order (always ends with CPU)."""
    return tuple(backend for backend in PICK_ORDER if backend_is_available(facts, backend))


def parse_backend_name(name: str | None) -> Backend | None:
    """Turn a setting or variable value into a `Backend`; None, empty and `auto` mean automatic choice.

    Raises `UnknownBackendError` for any other word.
    """
    if name is None or name.strip().lower() in _AUTO_WORDS:
        return None
    word = name.strip().lower()
    try:
        return Backend(word)
    except ValueError:
        known = ", ".join(backend.value for backend in PICK_ORDER)
        raise UnknownBackendError(
            f"unknown backend {name!r}",
            fix=f"use one of: auto, {known}",
        ) from None


def pick_backend(facts: HostFacts, override: str | None = None) -> Backend:
    """Choose the backend for this machine; pure.

    Without an override (None, "" or "auto"): CUDA/ROCm if a device is present, else MLX on Apple Silicon
    when mlx and mlx_lm are installed, else MPS, else CPU. An override naming an available backend wins
    (MLX may be forced on any OS where it imports); one naming an unavailable backend raises
    `BackendUnavailableError` whose fix lists what is available.
    """
    forced = parse_backend_name(override)
    if forced is not None:
        if backend_is_available(facts, forced):
            return forced
        choices = ", ".join(backend.value for backend in available_backends(facts))
        raise BackendUnavailableError(
            f"backend {forced.value!r} was requested but is not available on this machine",
            fix=f"available here: {choices}; choose one of them or set the backend to auto",
        )
    if facts.cuda_available:
        return Backend.ROCM if facts.hip_version is not None else Backend.CUDA
    if facts.is_apple_silicon and facts.mlx_usable:
        return Backend.MLX
    if backend_is_available(facts, Backend.MPS):
        return Backend.MPS
    return Backend.CPU


def backend_override_from_env(environ: dict[str, str] | None = None) -> str | None:
    """The raw `DLM_DESKTOP_BACKEND` value, or None when it is unset or blank."""
    value = (os.environ if environ is None else environ).get(BACKEND_ENV_VAR, "")
    return value.strip() or None


def resolve_override(
    explicit: str | None = None,
    setting: str | None = None,
    environ: dict[str, str] | None = None,
) -> tuple[str | None, str | None]:
    """The override to apply and a label saying where it came from, for messages.

    Precedence: `explicit` (a command-line flag), then `DLM_DESKTOP_BACKEND`, then the user's `setting`.
    "auto" (or blank) at a level means automatic choice and stops the search. Returns (None, None) for
    automatic choice; the value is not validated here (`pick_backend` does that).
    """
    from_env = backend_override_from_env(environ)
    levels = (
        (explicit, "override {!r}"),
        (from_env, BACKEND_ENV_VAR + "={}"),
        (setting, "the backend setting ({})"),
    )
    for value, where in levels:
        if value is None or not value.strip():
            continue
        if value.strip().lower() in _AUTO_WORDS:
            return None, None
        return value.strip(), where.format(value.strip())
    return None, None


def effective_override(setting: str | None, environ: dict[str, str] | None = None) -> str | None:
    """The override for startup: `DLM_DESKTOP_BACKEND` when set, else the user's setting (None = automatic)."""
    return resolve_override(None, setting, environ)[0]


def probe_host() -> HostFacts:
    """Measure this machine. Imports torch (when installed) but never mlx: MLX is found by its spec only."""
    from dlm_desktop.core.runtime.probe import gather_host_facts

    return gather_host_facts()
