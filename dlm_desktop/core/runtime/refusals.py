"""Configurations the planner refuses to train, each with the reason and the fix."""

from __future__ import annotations

from dlm_desktop.core.runtime.capabilities import Capabilities
from dlm_desktop.core.runtime.detect import Backend
from dlm_desktop.core.runtime.errors import Refusal

CPU_PARAM_LIMIT = 200_000_000
MPS_WEIGHT_SHARE_LIMIT = 0.85
_FP16_BYTES = 2
_GIB = 1024**3


def find_refusals(caps: Capabilities, adapter: str, base_params: int, *, force: bool = False) -> tuple[Refusal, ...]:
    """Every reason not to train `adapter` on a `base_params` base here; empty when training may go ahead.

    * QLoRA needs CUDA with bitsandbytes installed.
    * The CPU refuses bases above 200M parameters unless `force`.
    * MPS refuses a base whose fp16 weights exceed 85% of unified memory.
    """
    found = [
        refusal
        for refusal in (
            _qlora_refusal(caps, adapter),
            _cpu_size_refusal(caps, base_params, force),
            _mps_memory_refusal(caps, base_params),
        )
        if refusal is not None
    ]
    return tuple(found)


def _qlora_refusal(caps: Capabilities, adapter: str) -> Refusal | None:
    if adapter != "qlora" or caps.has_bitsandbytes:
        return None
    if caps.backend is Backend.CUDA:
        return Refusal(
            code="qlora_needs_bitsandbytes",
            message="QLoRA needs the bitsandbytes library, which is not installed",
            fix="pip install bitsandbytes, or set training.adapter: lora",
        )
    return Refusal(
        code="qlora_needs_cuda",
        message=f"QLoRA needs an NVIDIA GPU (CUDA) with bitsandbytes; this machine trains on {caps.backend.value}",
        fix="set training.adapter: lora (or dora) in the frontmatter",
    )


def _cpu_size_refusal(caps: Capabilities, base_params: int, force: bool) -> Refusal | None:
    if caps.backend is not Backend.CPU or base_params <= CPU_PARAM_LIMIT or force:
        return None
    return Refusal(
        code="cpu_base_too_large",
        message=(
            f"a {base_params / 1e6:.0f}M-parameter base is too large to train on the CPU "
            f"(limit {CPU_PARAM_LIMIT / 1e6:.0f}M)"
        ),
        fix="pick a smaller base such as smollm2-135m, train on a GPU, or force it and accept a very slow run",
    )


def _mps_memory_refusal(caps: Capabilities, base_params: int) -> Refusal | None:
    memory_gb = caps.memory_total_gb if caps.memory_total_gb is not None else caps.ram_gb
    if caps.backend is not Backend.MPS or not memory_gb:
        return None
    weights_gb = base_params * _FP16_BYTES / _GIB
    if weights_gb <= MPS_WEIGHT_SHARE_LIMIT * memory_gb:
        return None
    return Refusal(
        code="mps_memory",
        message=(
            f"the base's fp16 weights ({weights_gb:.1f} GiB) exceed {MPS_WEIGHT_SHARE_LIMIT:.0%} "
            f"of unified memory ({memory_gb:.1f} GiB)"
        ),
        fix="pick a smaller base",
    )
