"""An advisory estimate of peak memory and step time for one LoRA training step.

The model is described by its parameter count and, when known, its shape (`ModelShape`); unknown shapes are
guessed from the parameter count. Components, in bytes:

* frozen base weights at the training precision (about 0.6 byte per parameter in 4-bit QLoRA);
* LoRA on the four attention projections: `8 · r · hidden` parameters per layer, each carrying an fp32
  weight, an fp32 gradient and two fp32 AdamW moments (16 bytes);
* activations kept for the backward pass: about 14 hidden-sized values per token per layer with a fused
  attention kernel (no sequence-squared term); with gradient checkpointing only each layer's input is
  kept, plus one layer's activations while it is recomputed;
* the language-model head: `24 · vocab` bytes per token (logits, the loss's fp32 log-probabilities and
  their gradients, plus allocator slack), which dominates for small models with large vocabularies;
* a fixed runtime overhead, then a 15% margin.

The numbers steer defaults (micro-batch, checkpointing); an out-of-memory error stays possible and the fix
is a smaller micro-batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dlm_desktop.core.runtime.capabilities import Capabilities
from dlm_desktop.core.runtime.detect import Backend

GIB = 1024**3
BYTES_PER_VALUE: dict[str, float] = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0}
QLORA_BYTES_PER_PARAM = 0.6
LORA_STATE_BYTES_PER_PARAM = 16.0
# Calibrated on peak RSS of one LoRA (r 8, q/k/v/o) step of a SmolLM2-135M-shaped model, fp32, sdpa,
# seq 2048, on this project's CPU machine: measured 5.5 / 10.0 GiB at micro-batch 1 / 2 without
# checkpointing and 3.7 / 6.5 GiB with it; the estimate gives 5.7 / 10.4 and 3.8 / 6.6.
ACTIVATION_VALUES_PER_HIDDEN = 14.0
LOGIT_BYTES_PER_VOCAB_ENTRY = 24.0
RUNTIME_OVERHEAD_BYTES = 0.3 * GIB
MARGIN = 1.15

# Sustained training throughput in FLOP/s. CPU: measured ~90 GFLOP/s on 2 cores for a LoRA step on
# SmolLM2-135M, so ~45 GFLOP/s per core. The GPU figures are order-of-magnitude guesses.
CPU_FLOPS_PER_CORE = 45e9
_DEVICE_FLOPS: dict[Backend, float] = {
    Backend.CUDA: 40e12,
    Backend.ROCM: 30e12,
    Backend.MPS: 4e12,
    Backend.MLX: 6e12,
}
_CUDA_WITHOUT_BF16_FLOPS = 15e12


@dataclass(frozen=True)
class ModelShape:
    """The dimensions the estimate needs; `guess()` derives plausible ones from a parameter count."""

    num_layers: int
    hidden_size: int
    vocab_size: int

    @classmethod
    def guess(cls, base_params: int) -> "ModelShape":
        """A decoder of `base_params` parameters: ~12·hidden² per layer, 28 layers (64 past 20B), 64k vocab."""
        layers = 28 if base_params < 20e9 else 64
        hidden = math.sqrt(max(base_params, 1) / (12 * layers))
        hidden = max(256, int(round(hidden / 64)) * 64)
        return cls(num_layers=layers, hidden_size=hidden, vocab_size=65_536)

    @classmethod
    def from_config(cls, config: dict, base_params: int) -> "ModelShape":
        """The shape a Hugging Face `config.json` states; guessed from `base_params` where it is silent."""
        guess = cls.guess(base_params)
        text = config.get("text_config") if isinstance(config.get("text_config"), dict) else config

        def number(key: str, fallback: int) -> int:
            value = text.get(key)
            return value if isinstance(value, int) and value > 0 else fallback

        return cls(num_layers=number("num_hidden_layers", guess.num_layers),
                   hidden_size=number("hidden_size", guess.hidden_size),
                   vocab_size=number("vocab_size", guess.vocab_size))


@dataclass(frozen=True)
class StepSetting:
    """One candidate configuration to estimate."""

    base_params: int
    seq_len: int
    micro_batch: int
    precision: str
    lora_r: int
    use_qlora: bool
    gradient_checkpointing: bool


def lora_parameter_count(shape: ModelShape, lora_r: int) -> int:
    """LoRA parameters on q/k/v/o: each projection adds `r · (in + out)` with in = out = hidden."""
    return 4 * lora_r * 2 * shape.hidden_size * shape.num_layers


def estimate_peak_bytes(setting: StepSetting, shape: ModelShape) -> float:
    """Estimated peak memory of one training step, margin included."""
    if setting.use_qlora:
        weights = setting.base_params * QLORA_BYTES_PER_PARAM
    else:
        weights = setting.base_params * BYTES_PER_VALUE[setting.precision]
    lora_state = lora_parameter_count(shape, setting.lora_r) * LORA_STATE_BYTES_PER_PARAM
    tokens = setting.seq_len * setting.micro_batch
    value_bytes = BYTES_PER_VALUE[setting.precision]
    per_layer_full = ACTIVATION_VALUES_PER_HIDDEN * shape.hidden_size * value_bytes
    if setting.gradient_checkpointing:
        per_token = shape.hidden_size * value_bytes * shape.num_layers + per_layer_full
    else:
        per_token = per_layer_full * shape.num_layers
    activations = tokens * per_token
    logits = tokens * shape.vocab_size * LOGIT_BYTES_PER_VOCAB_ENTRY
    return (weights + lora_state + activations + logits + RUNTIME_OVERHEAD_BYTES) * MARGIN


def estimate_peak_gb(setting: StepSetting, shape: ModelShape) -> float:
    """`estimate_peak_bytes` in GiB."""
    return estimate_peak_bytes(setting, shape) / GIB


def estimate_step_seconds(setting: StepSetting, shape: ModelShape, grad_accum: int, caps: Capabilities) -> float:
    """Seconds for one optimizer step (`micro_batch · grad_accum` sequences of `seq_len` tokens).

    Per token, the weights cost ~4 FLOPs per parameter (forward, then gradients with respect to
    activations only: frozen weights get none) and causal attention ~6 · seq_len · hidden per layer
    (forward plus a backward twice as expensive); checkpointing adds a second forward.
    """
    recompute = setting.gradient_checkpointing
    weight_flops = (6.0 if recompute else 4.0) * setting.base_params
    attention_flops = (8.0 if recompute else 6.0) * setting.seq_len * shape.hidden_size * shape.num_layers
    tokens = setting.seq_len * setting.micro_batch * grad_accum
    return tokens * (weight_flops + attention_flops) / _throughput(caps)


def _throughput(caps: Capabilities) -> float:
    # MLX forced onto a non-Apple machine runs on the CPU.
    if caps.backend is Backend.CPU or caps.device == "cpu":
        return CPU_FLOPS_PER_CORE * max(1, caps.cpu_cores)
    if caps.backend is Backend.CUDA and not caps.supports_bf16:
        return _CUDA_WITHOUT_BF16_FLOPS
    return _DEVICE_FLOPS[caps.backend]
