"""What a training run reports while it works: frozen event dataclasses yielded by `train_document`.

A run goes through stages: one per adapter (`adapter`), then the learned gate (`gate`) when the document
enables it. Inside an adapter stage, `StepCompleted` arrives after every optimizer step, `EvalCompleted`
after each validation pass and `CheckpointSaved` whenever the resumable state was written. `RunFinished`
is the last event of a run that ended normally (completed or cancelled); a failed run raises instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

from dlm_desktop.core.models.events import ModelProgress

StageKind = Literal["adapter", "gate"]
RunStatus = Literal["ok", "cancelled"]


@dataclass(frozen=True)
class ModelLoading:
    """The base model is being found, fetched, converted or loaded.

    `progress` is the underlying event of `core.models` when there is one (downloads carry bytes there);
    `fraction` is the share done (None while it cannot be measured: show a busy indicator).
    """

    stage: str
    message: str
    fraction: float | None = None
    progress: ModelProgress | None = None


@dataclass(frozen=True)
class Notice:
    """A sentence worth showing the user (a fallback taken, a row that had to be cut, a skipped step)."""

    message: str
    level: Literal["info", "warning"] = "info"


@dataclass(frozen=True)
class OverfitWarning(Notice):
    """A `Notice` (level warning): validation loss of `adapter` climbed well above its lowest (`best_step`)."""

    adapter: str = "default"
    best_step: int = 0


@dataclass(frozen=True)
class StageStarted:
    """A stage begins: `index` (0-based) of `count` stages; `total_steps` optimizer steps (gate: its steps).

    `resumed_from_step` > 0 when the stage continues from a checkpoint at that step.
    """

    stage: StageKind
    adapter: str | None
    total_steps: int
    index: int = 0
    count: int = 1
    resumed_from_step: int = 0


@dataclass(frozen=True)
class StepCompleted:
    """One optimizer step done: `step` counts from 1 to `total` within the stage.

    `loss` is the mean cross-entropy per trained token of this step, `lr` the learning rate it used,
    `tokens_per_second` the real (unpadded) tokens of the step divided by its wall time, `eta_s` the
    estimated seconds left in the stage, `epoch` the fractional epoch reached. For the gate stage `adapter`
    is None and `tokens_per_second` is 0.
    """

    step: int
    total: int
    loss: float
    lr: float
    tokens_per_second: float
    eta_s: float
    epoch: float
    adapter: str | None
    grad_norm: float | None = None


@dataclass(frozen=True)
class EvalCompleted:
    """A pass over the validation rows after `step`: mean loss per trained token, and its exponential."""

    step: int
    val_loss: float
    perplexity: float
    adapter: str | None


@dataclass(frozen=True)
class CheckpointSaved:
    """The resumable state was written to `path` after `step` (`reason`: `interval`, `cancel` or `stage`)."""

    step: int
    path: Path
    adapter: str | None = None
    reason: Literal["interval", "cancel", "stage"] = "interval"


@dataclass(frozen=True)
class VersionCommitted:
    """An adapter version was written and `current.txt` now points at it."""

    adapter: str | None
    version: int
    path: Path


@dataclass(frozen=True)
class RunFinished:
    """The run ended: `status` is `ok` or `cancelled` (failures raise). Numbers as in `TrainResult`."""

    status: RunStatus
    steps: int
    final_train_loss: float | None
    final_val_loss: float | None
    duration_s: float
    adapters: tuple[tuple[str, Path], ...] = ()


TrainingEvent = Union[
    ModelLoading, Notice, StageStarted, StepCompleted, EvalCompleted, CheckpointSaved, VersionCommitted,
    RunFinished,
]


def describe(event: Any) -> str:
    """A one-line human description of an event (for logs and simple front ends)."""
    if isinstance(event, StepCompleted):
        who = f"[{event.adapter}] " if event.adapter else ""
        return f"{who}step {event.step}/{event.total} loss {event.loss:.4f} lr {event.lr:.2e}"
    if isinstance(event, EvalCompleted):
        return f"eval after step {event.step}: val loss {event.val_loss:.4f} (perplexity {event.perplexity:.2f})"
    if isinstance(event, (ModelLoading, Notice)):
        return event.message
    if isinstance(event, StageStarted):
        return f"stage {event.index + 1}/{event.count}: {event.stage} {event.adapter or ''}".rstrip()
    if isinstance(event, CheckpointSaved):
        return f"checkpoint saved after step {event.step} ({event.reason})"
    if isinstance(event, VersionCommitted):
        return f"adapter {event.adapter or 'default'} saved as version {event.version}"
    if isinstance(event, RunFinished):
        return f"run {event.status} after {event.steps} steps in {event.duration_s:.1f} s"
    return type(event).__name__
