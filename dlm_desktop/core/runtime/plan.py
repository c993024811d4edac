"""Turn the host's capabilities and a document's training knobs into a concrete training plan.

Refusals come first (see `find_refusals`). Then precision (the document's override wins; else bf16 on a
bf16-capable GPU, fp16 on other CUDA/ROCm GPUs, fp32 on CPU, MPS and MLX: unlike upstream, the CPU never
trains in fp16), the micro-batch (the largest of 2, 4, 8, 16 whose estimate fits the memory budget, else 1),
gradient accumulation (enough for an effective batch of at least 8) and gradient checkpointing (on when
the estimate without it exceeds 70% of the budget).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from dlm_desktop.core.runtime.capabilities import Capabilities
from dlm_desktop.core.runtime.detect import Backend
from dlm_desktop.core.runtime.errors import PlanRefused, RuntimeSetupError
from dlm_desktop.core.runtime.memory import (
    ModelShape,
    StepSetting,
    estimate_peak_gb,
    estimate_step_seconds,
)
from dlm_desktop.core.runtime.refusals import CPU_PARAM_LIMIT, find_refusals

PRECISIONS = ("bf16", "fp16", "fp32")
TARGET_EFFECTIVE_BATCH = 8
AUTO_MICRO_BATCHES = (2, 4, 8, 16)
VRAM_BUDGET_SHARE = 0.85
SHARED_MEMORY_BUDGET_SHARE = 0.50
CHECKPOINTING_THRESHOLD = 0.70


class TrainingConfigLike(Protocol):
    """The training knobs the planner reads (the document's `training:` block has these attributes)."""

    adapter: str
    lora_r: int
    micro_batch_size: int | str
    grad_accum: int | str
    precision: str | None
    sequence_len: int


@dataclass(frozen=True)
class TrainingKnobs:
    """A plain `TrainingConfigLike` with the document defaults (LoRA r 8, automatic batch, seq 2048)."""

    adapter: str = "lora"
    lora_r: int = 8
    micro_batch_size: int | str = "auto"
    grad_accum: int | str = "auto"
    precision: str | None = None
    sequence_len: int = 2048


@dataclass(frozen=True)
class TrainingPlan:
    """The concrete settings the trainer uses on this host, with advisory estimates.

    `est_peak_memory_gb` and `est_step_seconds` (one optimizer step) come from `memory.py` and are
    order-of-magnitude. `attn_implementation` is a transformers value (`flash_attention_2`, `sdpa`) or
    `mlx` on the MLX backend. `warnings` are risks the user accepted by overriding a default.
    """

    backend: Backend
    adapter: str
    precision: str
    attn_implementation: str
    use_qlora: bool
    lora_r: int
    micro_batch_size: int
    grad_accum: int
    effective_batch_size: int
    gradient_checkpointing: bool
    seq_len: int
    base_params: int
    memory_budget_gb: float | None
    est_peak_memory_gb: float
    est_step_seconds: float
    warnings: tuple[str, ...]
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["backend"] = self.backend.value
        data["warnings"] = list(self.warnings)
        return data


def plan_training(
    caps: Capabilities,
    training: TrainingConfigLike,
    base_params: int,
    seq_len: int,
    force: bool = False,
    *,
    shape: ModelShape | None = None,
    rows: int | None = None,
) -> TrainingPlan:
    """Plan a LoRA/QLoRA/DoRA run of a `base_params` model at `seq_len` tokens on `caps`.

    `seq_len` is the caller's decision (the document's `sequence_len`, capped by the base's context);
    `training.sequence_len` is not read. `shape` sharpens the memory estimate when the base is known. `rows`,
    the number of training rows when known, caps the sequences one micro-batch can hold in the estimates: a
    7-row document never puts 16 rows in a batch, whatever micro-batch the memory budget would allow.
    `force` lifts the CPU size limit only. Raises `PlanRefused` listing every refusal, or
    `RuntimeSetupError` for a knob outside its domain.
    """
    _check_knobs(training, seq_len)
    refusals = find_refusals(caps, training.adapter, base_params, force=force)
    if refusals:
        raise PlanRefused(refusals)
    precision, precision_why = pick_precision(caps, training.precision)
    size = _size_step(caps, training, base_params, seq_len, precision, shape or ModelShape.guess(base_params), rows)
    attn = _attention(caps)
    use_qlora = training.adapter == "qlora"
    return TrainingPlan(
        backend=caps.backend,
        adapter=training.adapter,
        precision=precision,
        attn_implementation=attn,
        use_qlora=use_qlora,
        lora_r=training.lora_r,
        micro_batch_size=size.micro,
        grad_accum=size.accum,
        effective_batch_size=size.micro * size.accum,
        gradient_checkpointing=size.checkpointing,
        seq_len=seq_len,
        base_params=base_params,
        memory_budget_gb=None if size.budget is None else round(size.budget, 2),
        est_peak_memory_gb=round(size.peak, 2),
        est_step_seconds=round(size.step_seconds, 2),
        warnings=_warnings(caps, training, precision, base_params, size.peak, size.budget),
        reason=_reason(precision, precision_why, attn, use_qlora, training, size),
    )


@dataclass(frozen=True)
class _StepSize:
    micro: int
    accum: int
    checkpointing: bool
    budget: float | None
    peak: float
    step_seconds: float


def _size_step(
    caps: Capabilities,
    training: TrainingConfigLike,
    base_params: int,
    seq_len: int,
    precision: str,
    shape: ModelShape,
    rows: int | None = None,
) -> _StepSize:
    """Micro-batch, accumulation and checkpointing from the memory budget, with their estimates."""
    budget = memory_budget_gb(caps)
    use_qlora = training.adapter == "qlora"

    def setting(micro: int, checkpointing: bool) -> StepSetting:
        sequences = micro if rows is None else max(1, min(micro, rows))
        return StepSetting(base_params, seq_len, sequences, precision, training.lora_r, use_qlora, checkpointing)

    micro = _micro_batch(training.micro_batch_size, budget, lambda m: estimate_peak_gb(setting(m, True), shape))
    accum = _grad_accum(training.grad_accum, micro)
    unchecked = estimate_peak_gb(setting(micro, False), shape)
    checkpointing = budget is None or unchecked > CHECKPOINTING_THRESHOLD * budget
    chosen = setting(micro, checkpointing)
    return _StepSize(
        micro=micro,
        accum=accum,
        checkpointing=checkpointing,
        budget=budget,
        peak=estimate_peak_gb(chosen, shape),
        step_seconds=estimate_step_seconds(chosen, shape, accum, caps),
    )


def pick_precision(caps: Capabilities, override: str | None) -> tuple[str, str]:
    """The training precision and a few words saying why."""
    if override is not None:
        return override, "set in the document"
    if caps.backend in (Backend.CUDA, Backend.ROCM):
        return ("bf16", "GPU has bf16") if caps.supports_bf16 else ("fp16", "GPU lacks bf16")
    # MPS: upstream reports NaN adapters from fp16 attention kernels on tiny runs. CPU: fp16 is emulated, slow.
    # MLX: fp32 keeps small-data runs numerically comparable with the other backends.
    return "fp32", f"{caps.backend.value} trains in fp32"


def memory_budget_gb(caps: Capabilities) -> float | None:
    """85% of free VRAM on CUDA/ROCm, half of the (unified or system) memory elsewhere; None if unknown."""
    if caps.backend in (Backend.CUDA, Backend.ROCM):
        available = caps.memory_free_gb if caps.memory_free_gb is not None else caps.memory_total_gb
        return None if available is None else available * VRAM_BUDGET_SHARE
    total = caps.memory_total_gb if caps.memory_total_gb is not None else caps.ram_gb
    return total * SHARED_MEMORY_BUDGET_SHARE if total else None


def _check_knobs(training: TrainingConfigLike, seq_len: int) -> None:
    # The document parser validates these already; this guards direct callers and the GUI's own knobs.
    if training.adapter not in ("lora", "qlora", "dora"):
        raise RuntimeSetupError(f"unknown adapter {training.adapter!r}", fix="use lora, qlora or dora")
    if training.precision is not None and training.precision not in PRECISIONS:
        raise RuntimeSetupError(f"unknown precision {training.precision!r}", fix="use bf16, fp16, fp32 or null")
    for name in ("micro_batch_size", "grad_accum"):
        value = getattr(training, name)
        if value != "auto" and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            raise RuntimeSetupError(f"{name} must be 'auto' or an integer >= 1, got {value!r}", fix=f"set {name}: auto")
    if training.lora_r < 1 or seq_len < 1:
        raise RuntimeSetupError("lora_r and the sequence length must be positive", fix="use the defaults (8, 2048)")


def _micro_batch(requested: int | str, budget: float | None, peak_of: Any) -> int:
    if requested != "auto":
        return int(requested)
    chosen = 1
    if budget is None:
        return chosen
    for candidate in AUTO_MICRO_BATCHES:
        if peak_of(candidate) > budget:
            break
        chosen = candidate
    return chosen


def _grad_accum(requested: int | str, micro: int) -> int:
    if requested != "auto":
        return int(requested)
    return max(1, math.ceil(TARGET_EFFECTIVE_BATCH / micro))


def _attention(caps: Capabilities) -> str:
    if caps.backend is Backend.MLX:
        return "mlx"
    return "flash_attention_2" if caps.has_flash_attention else "sdpa"


def _reason(
    precision: str,
    precision_why: str,
    attn: str,
    use_qlora: bool,
    training: TrainingConfigLike,
    size: _StepSize,
) -> str:
    fits = "memory unknown" if size.budget is None else f"fits {size.budget:.1f} GiB"
    micro_why = f"auto, {fits}" if training.micro_batch_size == "auto" else "set"
    accum_why = f"auto, effective batch >= {TARGET_EFFECTIVE_BATCH}" if training.grad_accum == "auto" else "set"
    parts = [
        f"precision={precision} ({precision_why})",
        f"attn={attn}",
        f"qlora={'4bit-nf4' if use_qlora else 'off'}",
        f"micro_batch={size.micro} ({micro_why})",
        f"grad_accum={size.accum} ({accum_why})",
        f"grad_ckpt={'on' if size.checkpointing else 'off'}",
    ]
    if training.adapter == "dora":
        parts.insert(3, "adapter=dora")
    return ", ".join(parts)


def _warnings(
    caps: Capabilities,
    training: TrainingConfigLike,
    precision: str,
    base_params: int,
    peak: float,
    budget: float | None,
) -> tuple[str, ...]:
    found: list[str] = []
    if training.precision == "fp16" and caps.backend is Backend.MPS:
        found.append("fp16 on MPS can produce NaN adapter weights on small data; fp32 is the MPS default")
    if precision == "bf16" and not caps.supports_bf16 and caps.backend in (Backend.CUDA, Backend.ROCM):
        found.append("bf16 was requested but this GPU has no native bf16: expect slow or failing training")
    if precision != "fp32" and caps.backend is Backend.CPU:
        found.append(f"{precision} on the CPU is emulated and slow; fp32 is the CPU default")
    if caps.backend is Backend.CPU and base_params > CPU_PARAM_LIMIT:
        found.append(f"forced: a {base_params / 1e6:.0f}M-parameter base trains very slowly on the CPU")
    if budget is None:
        found.append("device memory is unknown: micro-batch 1 with gradient checkpointing")
    elif peak > budget:
        found.append(f"estimated peak {peak:.1f} GiB exceeds the {budget:.1f} GiB budget: lower micro_batch_size")
    return tuple(found)
