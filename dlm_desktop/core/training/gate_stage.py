"""The seam between the training engine and the learned gate (`core.training.gate`).

After every adapter is trained and committed, a document with `gate.enabled` and at least two adapters gets
its gate: the gate package embeds the tagged sections' prompts with the bare base model, trains the small
router network (or falls back to equal weights on a cold start), writes `adapter/_gate/` and records one
`gate_events` row per adapter. This module only runs that stage and translates its events into the
engine's. Cancelling raises the gate's `GateCancelled`, which the engine turns into a cancelled run.
"""

from __future__ import annotations

from typing import Any, Callable, Generator

from dlm_desktop.core.store.metrics import MetricsDB
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.training.events import ModelLoading, Notice, StageStarted, StepCompleted, TrainingEvent
from dlm_desktop.core.training.request import GateSummary


def gate_applies(frontmatter: Any) -> bool:
    """True when the document enables the gate over at least two adapters."""
    from dlm_desktop.core.training.gate import gate_stage_applies

    return gate_stage_applies(frontmatter)


def run_gate(
    peft_model: Any,
    tokenizer: Any,
    report: Any,
    paths: StorePaths,
    run_id: int,
    *,
    index: int,
    count: int,
    should_stop: Callable[[], bool],
) -> Generator[TrainingEvent, None, GateSummary | None]:
    """Train and save the gate (see the module docstring); None when the document has no gate."""
    from dlm_desktop.core.training.gate import run_gate_stage

    front = report.frontmatter
    if not gate_applies(front):
        return None
    yield StageStarted("gate", None, int(front.training.gate.steps), index, count)
    job = run_gate_stage(
        peft_model, tokenizer, report.sections, front, paths, MetricsDB.for_store(paths), run_id,
        should_stop=should_stop,
    )
    outcome = yield from _relay(job)
    if outcome is None:
        return None
    return GateSummary(mode=outcome.mode, adapter_names=tuple(front.training.adapter_names()))


def _relay(job: Generator[Any, None, Any]) -> Generator[TrainingEvent, None, Any]:
    """Re-yield the gate stage's events as engine events and return its result."""
    from dlm_desktop.core.training.gate import GateEmbedProgress, GateProgress, GateStageNotice

    while True:
        try:
            event = next(job)
        except StopIteration as finished:
            return finished.value
        if isinstance(event, GateProgress):
            yield StepCompleted(
                step=event.step, total=event.total_steps, loss=event.loss, lr=0.0, tokens_per_second=0.0,
                eta_s=0.0, epoch=0.0, adapter=None,
            )
        elif isinstance(event, GateEmbedProgress):
            fraction = event.done / event.total if event.total else 1.0
            yield ModelLoading("gate-embed", f"Embedding the gate's prompts ({event.done}/{event.total})…", fraction)
        elif isinstance(event, GateStageNotice):
            yield Notice(event.message, event.level)
