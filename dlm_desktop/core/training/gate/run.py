"""The gate stage of a training run: after the per-adapter LoRAs, learn which adapter each prompt wants.

samples (tagged sections) -> embeddings (bare base model) -> training (or the cold-start uniform gate)
-> `adapter/_gate/` files -> one `gate_events` row per adapter.

Like upstream, the stage is best effort where it matters: a diverged training records `diverged` rows,
writes no gate files and returns normally, so the adapters just trained are kept. Cancelling raises
`GateCancelled` before anything is written. Other problems raise typed errors.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Union

from dlm_desktop.core.document.router import declared_adapter_names
from dlm_desktop.core.document.sections import Section
from dlm_desktop.core.store.gate_files import GateConfig
from dlm_desktop.core.store.metrics import GateEventRecord, MetricsDB
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.training.gate.embed import hidden_size_of, iter_prompt_embeddings
from dlm_desktop.core.training.gate.errors import GateCancelled, GateTrainingError
from dlm_desktop.core.training.gate.persist import record_diverged_gate_events, record_gate_events, save_gate
from dlm_desktop.core.training.gate.samples import GateSampleSet, SkippedSection, collect_gate_samples
from dlm_desktop.core.training.gate.trainer import (
    GateProgress,
    GateResult,
    GateTrainingConfig,
    cold_start_result,
    train_gate,
)

if TYPE_CHECKING:
    import torch

StageMode = Literal["trained", "uniform", "diverged"]


def _never_stop() -> bool:
    return False


@dataclass(frozen=True)
class GateStageNotice:
    """A line for the log: a skipped section, the cold-start fallback, a divergence, the outcome."""

    message: str
    level: Literal["info", "warning"] = "info"


@dataclass(frozen=True)
class GateEmbedProgress:
    """`done` of `total` gate prompts embedded by the base model."""

    done: int
    total: int


GateStageEvent = Union[GateStageNotice, GateEmbedProgress, GateProgress]


@dataclass(frozen=True, eq=False)
class GateStageResult:
    """The outcome of the gate stage.

    `mode` is `trained`, `uniform` (cold start) or `diverged` (nothing written; `result` and `config` None).
    `events` are the `gate_events` rows recorded; `skipped` the tagged sections whose body did not parse.
    """

    mode: StageMode
    result: GateResult | None
    config: GateConfig | None
    events: tuple[GateEventRecord, ...]
    sample_count: int
    skipped: tuple[SkippedSection, ...] = ()


def gate_stage_applies(frontmatter: Any) -> bool:
    """True when the document enables the gate and declares at least two adapters."""
    training = frontmatter.training
    return bool(training.gate.enabled) and len(training.adapters or {}) >= 2


def run_gate_stage(
    base_model: Any,
    tokenizer: Any,
    sections: Sequence[Section],
    frontmatter: Any,
    store_paths: StorePaths,
    metrics_db: MetricsDB,
    run_id: int,
    *,
    should_stop: Callable[[], bool] = _never_stop,
) -> Generator[GateStageEvent, None, GateStageResult | None]:
    """Train and save the document's gate; returns None when the document has no gate (see module docstring).

    `base_model` is the loaded base (a PEFT model is fine: its adapters are disabled while embedding), `run_id`
    the metrics run the gate rows belong to (it must exist in `runs`), the seed `training.seed`.
    """
    if not gate_stage_applies(frontmatter):
        return None
    names = tuple(declared_adapter_names(frontmatter))
    config = GateTrainingConfig.from_frontmatter(frontmatter.training.gate)
    collected = collect_gate_samples(sections, names)
    for skipped in collected.skipped:
        yield GateStageNotice(skipped.one_line(), "warning")
    input_dim = hidden_size_of(base_model)
    cold = cold_start_result(collected.counts(names), names, config)
    if cold is not None:
        yield GateStageNotice(_cold_start_message(cold, config), "warning")
        return _finish(cold, collected, store_paths, metrics_db, run_id, input_dim)
    prompts = [sample.prompt for sample in collected.samples]
    embeddings = yield from _embed(base_model, tokenizer, prompts, should_stop)
    labels = [sample.adapter for sample in collected.samples]
    seed = int(frontmatter.training.seed)
    try:
        trained = yield from train_gate(
            embeddings, labels, names, config, seed, input_dim=input_dim, should_stop=should_stop
        )
    except GateTrainingError as exc:
        events = record_diverged_gate_events(metrics_db, run_id, names)
        yield GateStageNotice(f"gate: {exc.message}; no gate was saved, the adapters are kept", "warning")
        return GateStageResult("diverged", None, None, tuple(events), len(prompts), collected.skipped)
    return _finish(trained, collected, store_paths, metrics_db, run_id, input_dim)


def _embed(
    model: Any, tokenizer: Any, prompts: list[str], should_stop: Callable[[], bool]
) -> Generator[GateStageEvent, None, "torch.Tensor"]:
    import torch

    batches: list[torch.Tensor] = []
    done = 0
    yield GateEmbedProgress(0, len(prompts))
    for batch in iter_prompt_embeddings(model, tokenizer, prompts):
        batches.append(batch)
        done += len(batch)
        yield GateEmbedProgress(done, len(prompts))
        if should_stop():
            raise GateCancelled(
                f"the gate stage stopped after embedding {done} of {len(prompts)} prompts; no gate was saved",
                fix="train again to build the gate",
            )
    return torch.cat(batches, dim=0)


def _finish(
    result: GateResult,
    collected: GateSampleSet,
    store_paths: StorePaths,
    metrics_db: MetricsDB,
    run_id: int,
    input_dim: int,
) -> GateStageResult:
    written = save_gate(store_paths, result, input_dim)
    events = record_gate_events(metrics_db, run_id, result)
    return GateStageResult(result.mode, result, written, tuple(events), len(collected.samples), collected.skipped)


def _cold_start_message(result: GateResult, config: GateTrainingConfig) -> str:
    counts = ", ".join(f"{name} {count}" for name, count in result.sample_counts.items())
    return (
        f"gate: not trained, every adapter needs at least {config.cold_start_floor} tagged sections "
        f"(found {counts}); prompts will use equal weights"
    )
