"""The gate on disk and in the metrics, and the weights it gives (SPEC-upstream §4.4–§4.7).

* `save_gate` writes `adapter/_gate/gate.safetensors` first (trained mode only), then `gate_config.json`, so
  a reader never meets a trained config without its weights. A uniform save removes stale weights.
* `load_gate` reads them back; `weights_for_prompt` turns one prompt embedding into `{adapter: weight}`.
* `record_gate_events` writes one `gate_events` row per declared adapter.
* `static_mean_weights` is the fixed mix for runtimes that cannot run the gate (llama.cpp, Ollama): the
  latest trained run's mean weights in declared order, else `1/N`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from dlm_desktop.core.store.gate_files import GateConfig, read_gate_config, write_gate_config
from dlm_desktop.core.store.metrics import GateEventRecord, MetricsDB
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.training.gate.errors import GateInputError
from dlm_desktop.core.training.gate.module import GateNetwork, GateShape
from dlm_desktop.core.training.gate.trainer import GateResult, check_adapter_names, uniform_mean

if TYPE_CHECKING:
    import torch

StaticMode = Literal["static_mean", "uniform"]
_MISMATCH_FIX = "embed prompts with the base model the gate was trained on, or train the document again"


@dataclass(frozen=True, eq=False)
class LoadedGate:
    """A gate read from a store: its config and, in trained mode, its network (None in uniform mode)."""

    config: GateConfig
    network: GateNetwork | None

    @property
    def mode(self) -> str:
        return self.config.mode

    @property
    def adapter_names(self) -> tuple[str, ...]:
        return self.config.adapter_names

    @property
    def input_dim(self) -> int:
        return self.config.input_dim


def save_gate(store_paths: StorePaths, result: GateResult, input_dim: int) -> GateConfig:
    """Persist a training result: weights (trained) then `gate_config.json`; returns the config written."""
    config = GateConfig(
        input_dim=input_dim,
        hidden_proj_dim=result.config.hidden_proj_dim,
        adapter_names=tuple(result.adapter_names),
        mode=result.mode,
        entropy_lambda=result.config.entropy_lambda,
    )
    if result.mode == "trained":
        if result.network is None or result.network.input_dim != input_dim:
            found = None if result.network is None else result.network.input_dim
            raise GateInputError(
                f"cannot save a trained gate of input size {found} as input size {input_dim}",
                fix="this is a bug in the caller: pass the base model's hidden size",
            )
        result.network.save(store_paths.gate_weights)
        write_gate_config(store_paths, config)
        return config
    write_gate_config(store_paths, config)
    store_paths.gate_weights.unlink(missing_ok=True)
    return config


def load_gate(store_paths: StorePaths) -> LoadedGate:
    """Read the store's gate. Raises the store's `GateConfigError` when the config is missing or malformed,
    or a trained config's weights file is missing or does not match it."""
    config = read_gate_config(store_paths)
    if config.mode == "uniform":
        return LoadedGate(config, None)
    shape = GateShape(config.input_dim, config.hidden_proj_dim, len(config.adapter_names))
    return LoadedGate(config, GateNetwork.load(store_paths.gate_weights, shape))


def record_gate_events(metrics_db: MetricsDB, run_id: int, result: GateResult) -> list[GateEventRecord]:
    """One row per declared adapter: its mean weight (1/N when uniform) and real sample count."""
    uniform = uniform_mean(result.adapter_names)
    events = [
        GateEventRecord(
            run_id=run_id,
            adapter_name=name,
            mean_weight=float(result.mean_weights.get(name, uniform[name])),
            sample_count=int(result.sample_counts.get(name, 0)),
            mode=result.mode,
        )
        for name in result.adapter_names
    ]
    metrics_db.record_gate_events(events)
    return events


def record_diverged_gate_events(
    metrics_db: MetricsDB, run_id: int, adapter_names: Sequence[str]
) -> list[GateEventRecord]:
    """The rows of a gate training that diverged: mode `diverged`, weight 0 and count 0 for every adapter."""
    events = [GateEventRecord(run_id, name, 0.0, 0, "diverged") for name in adapter_names]
    metrics_db.record_gate_events(events)
    return events


def uniform_weights(adapter_names: Sequence[str]) -> dict[str, float]:
    """`{name: 1/N}`: the weights with the gate switched off (empty for no names)."""
    return uniform_mean(tuple(adapter_names))


def weights_for_prompt(loaded_gate: LoadedGate, embedding: "torch.Tensor | None") -> dict[str, float]:
    """`{adapter: weight}` (summing to 1) for one prompt embedding of size `input_dim`.

    A uniform gate gives 1/N without looking at the embedding (it may be None then). A trained gate refuses
    an embedding of another size with `GateInputError`.
    """
    if loaded_gate.network is None:
        return uniform_weights(loaded_gate.adapter_names)
    import torch

    if embedding is None:
        raise GateInputError("a trained gate needs the prompt's embedding", fix="embed the prompt first")
    vector = _vectors(embedding, loaded_gate.input_dim, single=True)
    with torch.no_grad():
        weights = loaded_gate.network.probabilities(vector)[0]
    return {name: float(weights[index]) for index, name in enumerate(loaded_gate.adapter_names)}


def route_prompt(loaded_gate: LoadedGate, model: Any, tokenizer: Any, prompt: str) -> dict[str, float]:
    """The gate weights of a prompt text; the base model runs only for a trained gate."""
    if loaded_gate.network is None:
        return uniform_weights(loaded_gate.adapter_names)
    from dlm_desktop.core.training.gate.embed import embed_prompts

    return weights_for_prompt(loaded_gate, embed_prompts(model, tokenizer, [prompt])[0])


def mean_gate_weights(
    loaded_gate: LoadedGate, embeddings: "torch.Tensor | Sequence[torch.Tensor]"
) -> dict[str, float]:
    """The gate's mean softmax over `embeddings` (1/N for a uniform gate), in declared order.

    No embeddings, or embeddings whose size is not the gate's `input_dim`, raise `GateInputError`.
    """
    import torch

    matrix = _vectors(embeddings, loaded_gate.input_dim, single=False)
    if loaded_gate.network is None:
        return uniform_weights(loaded_gate.adapter_names)
    with torch.no_grad():
        mean = loaded_gate.network.probabilities(matrix).mean(dim=0)
    return {name: float(mean[index]) for index, name in enumerate(loaded_gate.adapter_names)}


def static_mean_weights(store_paths: StorePaths, metrics_db: MetricsDB) -> tuple[StaticMode, dict[str, float]]:
    """The fixed mix for export: `("static_mean", weights)` from the latest trained run's gate events, in the
    config's adapter order with 0 for an adapter without a row; `("uniform", 1/N each)` for a uniform gate or
    when no trained events are recorded. Raises `GateConfigError` when the store has no usable gate config.
    """
    config = read_gate_config(store_paths)
    names = check_adapter_names(config.adapter_names)
    if config.mode == "uniform":
        return "uniform", uniform_weights(names)
    events = metrics_db.latest_gate_events()
    # Rows of a diverged (or cold-start) run describe no trained gate: their weights are 0 or 1/N placeholders.
    if not events or any(event.mode != "trained" for event in events):
        return "uniform", uniform_weights(names)
    by_name = _by_name(events)
    return "static_mean", {name: by_name.get(name, 0.0) for name in names}


def _by_name(events: Sequence[GateEventRecord]) -> Mapping[str, float]:
    return {event.adapter_name: float(event.mean_weight) for event in events}


def _vectors(embeddings: Any, input_dim: int, *, single: bool) -> "torch.Tensor":
    """`[n, input_dim]` float32 from a vector, a matrix or a list of vectors; `GateInputError` otherwise."""
    import torch

    if not isinstance(embeddings, torch.Tensor) and len(embeddings) == 0:
        raise GateInputError("no prompt embeddings were given to the gate", fix="give at least one prompt")
    try:
        if isinstance(embeddings, torch.Tensor):
            matrix = embeddings.detach().reshape(1, -1) if single else embeddings.detach()
        else:
            matrix = torch.stack([torch.as_tensor(row).detach().reshape(-1) for row in embeddings])
    except (RuntimeError, TypeError, ValueError) as exc:
        raise GateInputError(f"the gate embeddings cannot be read: {exc}", fix=_MISMATCH_FIX) from exc
    if matrix.dim() == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.shape[0] == 0:
        raise GateInputError("no prompt embeddings were given to the gate", fix="give at least one prompt")
    if matrix.dim() != 2 or matrix.shape[1] != input_dim:
        raise GateInputError(
            f"prompt embeddings have shape {list(matrix.shape)}, but the gate takes size {input_dim}",
            fix=_MISMATCH_FIX,
        )
    return matrix.to("cpu", torch.float32)
