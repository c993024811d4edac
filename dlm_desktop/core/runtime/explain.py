"""Why a backend was picked, and why each better one was not: users should never meet a silent CPU fallback."""

from __future__ import annotations

from dlm_desktop.core.runtime.detect import BACKEND_ENV_VAR, PICK_ORDER, Backend, HostFacts


def explain_pick(facts: HostFacts, picked: Backend, override_source: str | None = None) -> tuple[str, ...]:
    """Sentences explaining the choice of `picked`; pure.

    The first says how it was chosen (automatically, or by the override named in `override_source`, e.g.
    "DLM_DESKTOP_BACKEND=cpu"); each following one says why a backend ahead of it in the pick order was not
    used. ROCm is only discussed on a ROCm build of torch, and MLX/MPS only where they could exist.
    """
    how = f"forced by {override_source}" if override_source else "picked automatically"
    lines = [f"{picked.value} ({how})"]
    for backend in PICK_ORDER[: PICK_ORDER.index(picked)]:
        line = _why_not(facts, backend)
        if line:
            lines.append(line)
    return tuple(lines)


def _why_not(facts: HostFacts, backend: Backend) -> str | None:
    # A better backend that is available can only have been skipped because of an override.
    if backend is Backend.CUDA:
        return _why_not_cuda(facts)
    if backend is Backend.ROCM:
        return None  # a CPU or CUDA torch build cannot use ROCm; the CUDA line already covers "no GPU"
    if backend is Backend.MLX:
        return _why_not_mlx(facts)
    return _why_not_mps(facts)


def _why_not_cuda(facts: HostFacts) -> str | None:
    if facts.system == "darwin" and not facts.cuda_available:
        return None  # macOS has no CUDA: nothing the user could change
    if facts.torch_version is None:
        return "no CUDA device: torch is not installed"
    if facts.cuda_available:
        name = facts.device_name or "a GPU"
        return f"{name} is available but was not used because of the override"
    line = "no CUDA device found (torch.cuda.is_available() is False)"
    if facts.torch_cuda_version is None and facts.hip_version is None:
        return f"{line}: this torch build ({facts.torch_version}) has no CUDA support; install a CUDA build of torch"
    if facts.cuda_warning:
        return f"{line}: torch says: {facts.cuda_warning}"
    built_for = f"CUDA {facts.torch_cuda_version}" if facts.torch_cuda_version else f"ROCm {facts.hip_version}"
    return f"{line}: torch is built for {built_for} but sees no usable GPU or driver"


def _why_not_mlx(facts: HostFacts) -> str | None:
    if facts.mlx_usable:
        if facts.is_apple_silicon:
            return "MLX is installed but was not used because of the override"
        return f"MLX is installed but is only picked automatically on Apple Silicon (set {BACKEND_ENV_VAR}=mlx)"
    if not facts.is_apple_silicon:
        return None if facts.system != "darwin" else "MLX needs Apple Silicon (this Mac reports an Intel CPU)"
    missing = [name for name, ok in (("mlx", facts.mlx_importable), ("mlx-lm", facts.mlx_lm_importable)) if not ok]
    return f"MLX not used: {' and '.join(missing)} not installed (pip install mlx mlx-lm)"


def _why_not_mps(facts: HostFacts) -> str | None:
    if facts.system != "darwin":
        return None
    if facts.mps_available and facts.mps_built:
        # Only an override can put a usable MPS behind the chosen backend.
        return "MPS is available but was not used because of the override"
    if not facts.mps_built:
        return "MPS not used: this torch build has no MPS support"
    return "MPS not used: torch.backends.mps.is_available() is False (needs macOS 12.3 or later)"
