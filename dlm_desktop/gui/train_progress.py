"""What a running training shows, folded from the trainer's events: stages, progress, speed, ETA, loss points.

`RunProgress.apply(events)` takes one batch of `core.training` events (the Train pane receives them ~20 times
a second) and returns what changed for the loss chart and the activity log; the rest (stages, overall
fraction, the latest loss, tokens/s, time left) is read from its attributes. Qt-free.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from dlm_desktop.core.training import (
    CheckpointSaved,
    EvalCompleted,
    ModelLoading,
    Notice,
    OverfitWarning,
    RunFinished,
    StageStarted,
    StepCompleted,
    VersionCommitted,
)
from dlm_desktop.gui.train_plan import format_duration

WAITING, RUNNING, DONE, STOPPED, FAILED = "waiting", "running", "done", "stopped", "failed"
GATE = "gate"


@dataclass
class StageView:
    """One stage of the run: an adapter (`name` is the adapter) or the gate."""

    kind: str
    name: str
    total: int = 0
    step: int = 0
    state: str = WAITING

    def title(self) -> str:
        return "Gate (routes questions to adapters)" if self.kind == GATE else f"Adapter “{self.name}”"

    def detail(self) -> str:
        steps = f"{self.step} of {self.total} steps" if self.total else "steps not known yet"
        return {WAITING: "waiting", DONE: f"done · {steps}", STOPPED: f"stopped · {steps}",
                FAILED: f"failed · {steps}"}.get(self.state, steps)


@dataclass
class ProgressUpdate:
    """What one batch changed: chart points `(series, step, loss)`, series cut back to a resumed step, log lines."""

    train_points: list[tuple[str, int, float]] = field(default_factory=list)
    val_points: list[tuple[str, int, float]] = field(default_factory=list)
    truncated: list[tuple[str, int]] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)  # (level, text)


class RunProgress:
    """The state of one run (a fresh start or a resume), from its events."""

    def __init__(self, adapter_names: Iterable[str] = ("default",), gate: bool = False) -> None:
        self.stages = [StageView("adapter", name) for name in adapter_names]
        if gate:
            self.stages.append(StageView(GATE, GATE))
        self.current: int | None = None
        self.loading: str | None = "Starting…"
        self.loading_fraction: float | None = None
        self.tokens_per_second: float | None = None
        self.eta_s: float | None = None
        self.loss: float | None = None
        self.val_loss: float | None = None
        self.epoch: float | None = None
        self.finished: RunFinished | None = None
        self.started = time.monotonic()
        self.overfitting: dict[str, str] = {}  # adapter → the core's overfitting warning (see core/training/overfitting.py)

    # ----- reading ----------------------------------------------------------------------------------------------

    def fraction(self) -> float | None:
        """The share of the whole run done (None while the model loads and no stage has begun)."""
        if self.finished is not None and self.finished.status == "ok":
            return 1.0
        if self.current is None:
            return None
        stage = self.stages[self.current]
        inside = stage.step / stage.total if stage.total else 0.0
        return min(1.0, (self.current + inside) / max(1, len(self.stages)))

    def status_text(self) -> str:
        if self.finished is not None:
            return "Finished" if self.finished.status == "ok" else "Stopped; the progress is saved"
        if self.current is None:
            return self.loading or "Starting…"
        stage = self.stages[self.current]
        where = "the gate" if stage.kind == GATE else ("" if stage.name == "default" else f"adapter “{stage.name}”")
        text = f"Training {where}: step {stage.step} of {stage.total}" if where else \
            f"Training: step {stage.step} of {stage.total}"
        return text if stage.step else text.replace(f"step 0 of {stage.total}", "first step…")

    def eta_text(self) -> str:
        """Time left in the current stage, then the other stages' share estimated at the same pace."""
        if self.current is None or self.eta_s is None:
            return "—"
        stage = self.stages[self.current]
        later = sum(s.total for s in self.stages[self.current + 1:] if s.kind != GATE)
        per_step = self.eta_s / max(1, stage.total - stage.step) if stage.total > stage.step else 0.0
        return format_duration(self.eta_s + later * per_step)

    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    # ----- folding events ---------------------------------------------------------------------------------------

    def apply(self, events: Iterable[Any]) -> ProgressUpdate:
        update = ProgressUpdate()
        for event in events:
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                handler(self, event, update)
        return update

    def fail(self) -> None:
        """The run raised: the stage it was in failed."""
        if self.current is not None and self.stages[self.current].state == RUNNING:
            self.stages[self.current].state = FAILED

    def _stage_for(self, event: StageStarted) -> StageView:
        kind, name = ("gate", GATE) if event.stage == GATE else ("adapter", event.adapter or "default")
        while len(self.stages) < event.count:  # the plan was older than the document the trainer read
            self.stages.append(StageView("adapter", f"stage {len(self.stages) + 1}"))
        stage = self.stages[event.index] if event.index < len(self.stages) else StageView(kind, name)
        stage.kind, stage.name = kind, name
        return stage

    def _on_stage(self, event: StageStarted, update: ProgressUpdate) -> None:
        for earlier in self.stages[:event.index]:
            if earlier.state in (WAITING, RUNNING, STOPPED):
                earlier.state = DONE
                earlier.step = earlier.step or earlier.total
        stage = self._stage_for(event)
        stage.total, stage.step, stage.state = event.total_steps, event.resumed_from_step, RUNNING
        self.current, self.loading = event.index, None
        self.eta_s = None
        if event.stage != GATE:
            update.truncated.append((stage.name, event.resumed_from_step))
        if event.resumed_from_step:
            update.log.append(("info", f"{stage.title()}: resumed at step {event.resumed_from_step}"))
        else:
            update.log.append(("info", f"{stage.title()}: {event.total_steps} steps"))

    def _on_step(self, event: StepCompleted, update: ProgressUpdate) -> None:
        if self.current is not None:
            stage = self.stages[self.current]
            stage.step, stage.total = event.step, event.total
        self.eta_s = event.eta_s
        self.epoch = event.epoch
        if event.adapter is not None:
            self.loss = event.loss
            self.tokens_per_second = event.tokens_per_second
            update.train_points.append((event.adapter, event.step, event.loss))

    def _on_eval(self, event: EvalCompleted, update: ProgressUpdate) -> None:
        self.val_loss = event.val_loss
        update.val_points.append((event.adapter or "default", event.step, event.val_loss))

    def _on_overfit(self, event: OverfitWarning, update: ProgressUpdate) -> None:
        self.overfitting.setdefault(event.adapter, event.message)
        update.log.append((event.level, event.message))

    def _on_loading(self, event: ModelLoading, _update: ProgressUpdate) -> None:
        if self.current is None:
            self.loading, self.loading_fraction = event.message, event.fraction

    def _on_notice(self, event: Notice, update: ProgressUpdate) -> None:
        update.log.append((event.level, event.message))

    def _on_checkpoint(self, event: CheckpointSaved, update: ProgressUpdate) -> None:
        why = {"cancel": "on cancel", "stage": "at the end of the stage", "interval": "(regular save)"}[event.reason]
        update.log.append(("info", f"Progress saved after step {event.step} {why}"))

    def _on_version(self, event: VersionCommitted, update: ProgressUpdate) -> None:
        update.log.append(("success", f"Adapter “{event.adapter or 'default'}” saved as version {event.version}"))

    def _on_finished(self, event: RunFinished, update: ProgressUpdate) -> None:
        self.finished = event
        if self.current is not None:
            stage = self.stages[self.current]
            stage.state = DONE if event.status == "ok" else STOPPED
        if event.status == "ok":
            for stage in self.stages:
                stage.state = DONE
        update.log.append(("info", f"Run {'finished' if event.status == 'ok' else 'cancelled'} after "
                                   f"{format_duration(event.duration_s)}"))


_HANDLERS = {
    StageStarted: RunProgress._on_stage,
    StepCompleted: RunProgress._on_step,
    EvalCompleted: RunProgress._on_eval,
    ModelLoading: RunProgress._on_loading,
    Notice: RunProgress._on_notice,
    OverfitWarning: RunProgress._on_overfit,
    CheckpointSaved: RunProgress._on_checkpoint,
    VersionCommitted: RunProgress._on_version,
    RunFinished: RunProgress._on_finished,
}
