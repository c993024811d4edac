"""The learned adapter gate: a small MLP that maps a prompt's base-model embedding to one weight per adapter.

Modules: `module` (the network and its safetensors file), `samples` (supervision from tagged sections),
`embed` (prompt embeddings), `trainer` (training, cold start), `persist` (store files, metrics rows, routing
weights, the static mix for export) and `run` (the stage the training engine calls after the LoRAs).
Importing this package does not import torch.
"""

from __future__ import annotations

from dlm_desktop.core.training.gate.embed import embed_prompts, hidden_size_of, iter_prompt_embeddings
from dlm_desktop.core.training.gate.errors import GateCancelled, GateError, GateInputError, GateTrainingError
from dlm_desktop.core.training.gate.module import STATE_KEYS, GateNetwork, GateShape, check_gate_shape
from dlm_desktop.core.training.gate.persist import (
    LoadedGate,
    load_gate,
    mean_gate_weights,
    record_diverged_gate_events,
    record_gate_events,
    route_prompt,
    save_gate,
    static_mean_weights,
    uniform_weights,
    weights_for_prompt,
)
from dlm_desktop.core.training.gate.run import (
    GateEmbedProgress,
    GateStageEvent,
    GateStageNotice,
    GateStageResult,
    gate_stage_applies,
    run_gate_stage,
)
from dlm_desktop.core.training.gate.samples import GateSample, GateSampleSet, collect_gate_samples, gate_samples
from dlm_desktop.core.training.gate.trainer import (
    GateProgress,
    GateResult,
    GateTrainingConfig,
    cold_start_result,
    train_gate,
)

__all__ = [
    "STATE_KEYS",
    "GateCancelled",
    "GateEmbedProgress",
    "GateError",
    "GateInputError",
    "GateNetwork",
    "GateProgress",
    "GateResult",
    "GateSample",
    "GateSampleSet",
    "GateShape",
    "GateStageEvent",
    "GateStageNotice",
    "GateStageResult",
    "GateTrainingConfig",
    "GateTrainingError",
    "LoadedGate",
    "check_gate_shape",
    "cold_start_result",
    "collect_gate_samples",
    "embed_prompts",
    "gate_samples",
    "gate_stage_applies",
    "hidden_size_of",
    "iter_prompt_embeddings",
    "load_gate",
    "mean_gate_weights",
    "record_diverged_gate_events",
    "record_gate_events",
    "route_prompt",
    "run_gate_stage",
    "save_gate",
    "static_mean_weights",
    "train_gate",
    "uniform_weights",
    "weights_for_prompt",
]
