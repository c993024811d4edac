"""One training run once its inputs are prepared: model load, adapter stages, checkpoints, commit, gate.

`TrainingRun` keeps the run's mutable state (stage records, finished optimizer states, committed versions)
so that a checkpoint can be written at any step boundary and a cancelled or failed run can be recorded.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Generator

from dlm_desktop.core.models._blocking import run_blocking
from dlm_desktop.core.models.events import ModelProgress
from dlm_desktop.core.runtime.capabilities import DETERMINISM_BY_BACKEND
from dlm_desktop.core.store.manifest import utc_now
from dlm_desktop.core.store.metrics import EvalRecord, MetricsDB, StepRecord, iso_z
from dlm_desktop.core.training.adapters import adapter_state, attach_adapters, load_base, prepare_base
from dlm_desktop.core.training.checkpoint import CheckpointMeta, StageRecord, discard_checkpoint, save_checkpoint
from dlm_desktop.core.training.commit import CommitInput, commit_adapter, reject_adapter
from dlm_desktop.core.training.determinism import (
    capture_host_rng,
    capture_torch_rng,
    deterministic_algorithms,
    restore_host_rng,
)
from dlm_desktop.core.training.errors import TrainingOutOfMemoryError
from dlm_desktop.core.training.events import (
    CheckpointSaved,
    EvalCompleted,
    ModelLoading,
    Notice,
    RunFinished,
    StageStarted,
    StepCompleted,
    TrainingEvent,
    VersionCommitted,
)
from dlm_desktop.core.training.forward import model_parts
from dlm_desktop.core.training.gate_stage import gate_applies, run_gate
from dlm_desktop.core.training.loop import StageEnd, StageSetup, train_stage
from dlm_desktop.core.training.records import FinishedStage, RunLog, new_run_log, record_runs, write_summary
from dlm_desktop.core.training.request import GateSummary, StageOutcome, TrainResult
from dlm_desktop.core.training.resume import StartPoint, choose_start
from dlm_desktop.core.training.session import Prepared, relay_model_progress
from dlm_desktop.core.training.version_files import pinned_versions


class TrainingRun:
    """The stateful part of `train_document` (module docstring)."""

    def __init__(self, prepared: Prepared, should_stop: Callable[[], bool], started: float) -> None:
        self.p = prepared
        self.should_stop = should_stop
        self.started = started
        self.metrics = MetricsDB.for_store(prepared.paths)
        self.peft_model: Any = None
        self.parts: Any = None
        self.start: StartPoint | None = None
        self.records: list[StageRecord] = []
        self.finished_states: dict[str, dict[str, Any]] = {}
        self.committed: dict[str, Path] = {}
        self._last_checkpoint: Path | None = None

    # --- model ---------------------------------------------------------------------------------------------

    def load_model(self) -> Generator[TrainingEvent, None, None]:
        """Load the base once, attach every adapter, and decide where the run starts."""
        p = self.p
        yield ModelLoading("load-base", f"Loading {p.base_key} ({p.settings.precision}, {p.settings.device})…")
        model = yield from relay_model_progress(
            run_blocking(lambda: load_base(p.resolved.local_dir, p.settings), heartbeat=_loading_heartbeat,
                         should_stop=self.should_stop)
        )
        model = prepare_base(model, p.settings, vocab_size=len(p.bringup.tokenizer), seed=p.run.seed)
        self.peft_model = attach_adapters(model, [s.adapter for s in p.stages], seed=p.run.seed, grew=p.bringup.grew)
        self.parts = model_parts(self.peft_model.base_model.model)
        self.start = choose_start(p, self.peft_model)
        self.records = list(self.start.records)
        self.finished_states = dict(self.start.stage_state.get("finished", {}))
        self.committed = dict(self.start.committed)
        for message in self.start.notices:
            yield Notice(message)

    # --- the run -------------------------------------------------------------------------------------------

    def execute(self) -> Generator[TrainingEvent, None, TrainResult]:
        """Train every remaining stage, commit, train the gate; record failures before re-raising them."""
        try:
            with deterministic_algorithms():
                return (yield from self._execute())
        except GeneratorExit:
            self._end_started_runs("cancelled")
            raise
        except BaseException as exc:
            self._end_started_runs("failed")
            if _is_out_of_memory(exc):
                raise TrainingOutOfMemoryError(
                    "a training step ran out of memory",
                    fix="set training.micro_batch_size to a smaller number, or shorten training.sequence_len",
                ) from exc
            raise

    def _execute(self) -> Generator[TrainingEvent, None, TrainResult]:
        assert self.start is not None
        for index in range(self.start.stage_index, len(self.p.stages)):
            end = yield from self._run_stage(index)
            if end.status == "cancelled":
                return (yield from self._cancelled(end_path=self._last_checkpoint))
            if end.status == "diverged":
                self._reject(index, end)
            self._finish_stage(index, end)
            if index + 1 < len(self.p.stages):
                path = self._save_checkpoint(index + 1, None, None)
                yield CheckpointSaved(end.record.steps, path, self.p.stages[index].adapter.name, "stage")
        if not self.committed:
            yield from self._commit_all()
        gate = yield from self._gate()
        if gate == "cancelled":
            return (yield from self._cancelled(end_path=self._last_checkpoint))
        discard_checkpoint(self.p.paths)
        return (yield from self._finished(gate))

    def _run_stage(self, index: int) -> Generator[TrainingEvent, None, StageEnd]:
        stage = self.p.stages[index]
        resumed = self.start is not None and self.start.exact and index == self.start.stage_index
        record = self._open_stage(index, resumed and self.records[index].steps > 0)
        yield StageStarted("adapter", stage.adapter.name, stage.data.total_steps, index, self._stage_count(),
                           record.steps)
        current = self.start.stage_state.get("current") if resumed and self.start else None
        if resumed and self.start and self.start.host_rng:
            restore_host_rng(self.start.host_rng)
        setup = StageSetup(
            peft_model=self.peft_model, parts=self.parts, adapter=stage.adapter, run=self.p.run,
            schedule=stage.schedule, train=stage.train.examples, val=stage.val.examples, plan=stage.data,
            token_budget=self.p.token_budget, pad_id=self.p.bringup.tokenizer.pad_token_id or 0,
            device=self.p.settings.device, eval_every=stage.eval_every,
            checkpoint_interval_s=self.p.request.checkpoint_interval_s,
        )
        end = yield from train_stage(setup, record, _Hooks(self, index), self.should_stop, current)
        self.records[index] = end.record
        return end

    def _stage_count(self) -> int:
        return len(self.p.stages) + (1 if gate_applies(self.p.report.frontmatter) else 0)

    def _open_stage(self, index: int, resumed: bool) -> StageRecord:
        """Start (or restart) the stage's metrics run and log; returns its running record."""
        record = self.records[index]
        if not record.started_at:
            now = utc_now()
            log = new_run_log(self.p.paths, record.run_id, now)
            record = record.advanced(started_at=now.isoformat(), log_path=self.p.paths.relative(log.path))
        started = datetime.fromisoformat(record.started_at or utc_now().isoformat())
        self.metrics.record_run_start(record.run_id, phase="sft", seed=self.p.run.seed, started_at=iso_z(started))
        log = self.log_of(record)
        if resumed:
            log.write("resumed", run_id=record.run_id, step=record.steps)
        else:
            log.write("banner", **self._banner(index, record))
        record = record.advanced(status="running")
        self.records[index] = record
        return record

    def _banner(self, index: int, record: StageRecord) -> dict[str, Any]:
        stage = self.p.stages[index]
        return {
            "run_id": record.run_id, "seed": self.p.run.seed, "adapter_name": stage.adapter.store_name,
            "determinism_class": self.determinism_class, "determinism_notes": [],
            "pinned_versions": pinned_versions(), "plan": self.p.plan.as_dict(),
            "hyperparameters": stage.adapter.as_dict(), "schedule": vars(stage.schedule),
            "steps": stage.data.total_steps, "examples": len(stage.train.examples),
            "val_examples": len(stage.val.examples), "fingerprint": self.p.fingerprint,
        }

    @property
    def determinism_class(self) -> str:
        return DETERMINISM_BY_BACKEND[self.p.plan.backend]

    def log_of(self, record: StageRecord) -> RunLog:
        return RunLog(self.p.paths.root / (record.log_path or "logs/unknown.jsonl"))

    def _finish_stage(self, index: int, end: StageEnd) -> None:
        self.records[index] = end.record.advanced(status="done")
        self.finished_states[end.record.adapter] = {
            "optimizer_state_dict": end.optimizer.state_dict(), "scheduler_state_dict": end.scheduler.state_dict(),
        }

    # --- checkpoints ---------------------------------------------------------------------------------------

    def save_stage_checkpoint(self, index: int, record: StageRecord, optimizer: Any, scheduler: Any) -> Path:
        """Checkpoint in the middle of stage `index` (called by the loop between steps)."""
        self.records[index] = record
        current = {"optimizer_state_dict": optimizer.state_dict(), "scheduler_state_dict": scheduler.state_dict(),
                   **capture_torch_rng()}
        return self._save_checkpoint(index, current, record)

    def _save_checkpoint(self, stage_index: int, current: dict | None, record: StageRecord | None) -> Path:
        upto = min(stage_index, len(self.p.stages) - 1)
        weights = {s.adapter.name: adapter_state(self.peft_model, s.adapter.name) for s in self.p.stages[: upto + 1]}
        meta = CheckpointMeta(
            fingerprint=self.p.fingerprint, max_steps=self.p.max_steps, stage_index=stage_index,
            stages=tuple(self.records), host_rng=capture_host_rng(),
            committed={name: self.p.paths.relative(path) for name, path in self.committed.items()},
            saved_at=iso_z(),
        )
        state = {"finished": self.finished_states, "current": current}
        path = save_checkpoint(self.p.paths, meta, weights, state)
        self._last_checkpoint = path
        if record is not None:
            self.log_of(record).write("checkpoint", step=record.steps, path=str(path))
        return path

    # --- endings -------------------------------------------------------------------------------------------

    def _reject(self, index: int, end: StageEnd) -> None:
        stage = self.p.stages[index]
        item = CommitInput(stage, end.record, {"optimizer_state_dict": end.optimizer.state_dict(),
                                               "scheduler_state_dict": end.scheduler.state_dict()})
        error = reject_adapter(self.p, self.peft_model, item, end.diverged_at or "the loss")
        self.log_of(end.record).write("diverged", step=end.record.steps + 1, reason=end.diverged_at)
        discard_checkpoint(self.p.paths)  # replaying it would diverge the same way
        raise error

    def _commit_all(self) -> Generator[TrainingEvent, None, None]:
        """Commit every adapter's version, then record the runs (summary, manifest, metrics, log)."""
        finished = []
        for index, stage in enumerate(self.p.stages):
            record = self.records[index]
            item = CommitInput(stage, record, self.finished_states.get(stage.adapter.name, {}))
            folder, number = commit_adapter(self.p, self.peft_model, item)
            self.committed[stage.adapter.name] = folder
            yield VersionCommitted(stage.adapter.store_name, number, folder)
            finished.append(self._finished_stage(stage, record, number))
        for item in finished:
            write_summary(item, seed=self.p.run.seed, determinism_class=self.determinism_class)
        record_runs(self.p.paths, finished, seed=self.p.run.seed,
                    revision=self.p.resolved.revision or self.p.resolved.spec.revision,
                    pinned=pinned_versions(), section_ids=[s.section_id for s in self.p.report.sections])
        for item, record in zip(finished, self.records):
            self.metrics.record_run_start(record.run_id, phase="sft", seed=self.p.run.seed,
                                          adapter_version=item.adapter_version, started_at=iso_z(item.started_at))
            self.metrics.record_run_end(record.run_id, "ok")
            self.log_of(record).write("run_complete", run_id=record.run_id, adapter_version=item.adapter_version,
                                      steps=record.steps, summary_path=self.p.paths.relative(item.summary_path))

    def _finished_stage(self, stage: Any, record: StageRecord, number: int) -> FinishedStage:
        started = datetime.fromisoformat(record.started_at) if record.started_at else utc_now()
        return FinishedStage(
            run_id=record.run_id, adapter_name=stage.adapter.store_name, adapter_version=number,
            started_at=started, ended_at=utc_now(), steps=record.steps, first_loss=record.first_loss,
            final_train_loss=record.last_loss, final_val_loss=record.final_val_loss,
            tokens_per_second=record.tokens / record.train_seconds if record.train_seconds else 0.0,
            train_seconds=record.train_seconds, summary_path=self.log_of(record).summary_path,
            weight_distribution=stage.rows.weight_distribution,
        )

    def _gate(self) -> Generator[TrainingEvent, None, GateSummary | str | None]:
        from dlm_desktop.core.training.gate import GateCancelled

        try:
            return (yield from run_gate(
                self.peft_model, self.p.bringup.tokenizer, self.p.report, self.p.paths, self.records[-1].run_id,
                index=len(self.p.stages), count=self._stage_count(), should_stop=self.should_stop,
            ))
        except GateCancelled:
            self._save_checkpoint(len(self.p.stages), None, None)
            return "cancelled"

    def _cancelled(self, end_path: Path | None) -> Generator[TrainingEvent, None, TrainResult]:
        self._end_started_runs("cancelled")
        result = self._result("cancelled", None, checkpoint=end_path)
        yield RunFinished("cancelled", result.steps, result.final_train_loss, result.final_val_loss,
                          result.duration_s, tuple(result.adapters.items()))
        return result

    def _finished(self, gate: GateSummary | None) -> Generator[TrainingEvent, None, TrainResult]:
        result = self._result("ok", gate)
        yield RunFinished("ok", result.steps, result.final_train_loss, result.final_val_loss, result.duration_s,
                          tuple(result.adapters.items()))
        return result

    def _end_started_runs(self, status: str) -> None:
        """Mark the metrics runs of uncommitted, started stages `cancelled` or `failed` (best effort)."""
        for record in self.records:
            if record.started_at and record.adapter not in self.committed:
                try:
                    self.metrics.record_run_end(record.run_id, status)  # type: ignore[arg-type]
                    self.log_of(record).write(status, run_id=record.run_id, step=record.steps)
                except Exception:  # recording the ending must not hide why the run ended
                    continue

    def _result(self, status: str, gate: GateSummary | None, *, checkpoint: Path | None = None) -> TrainResult:
        records = self.records
        outcomes = tuple(
            StageOutcome(r.adapter, r.run_id, r.steps, r.total_steps, r.first_loss, r.last_loss, r.final_val_loss,
                         r.tokens, r.train_seconds, self.committed.get(r.adapter))
            for r in records
        )
        tokens = sum(r.tokens for r in records)
        seconds = sum(r.train_seconds for r in records)
        return TrainResult(
            status=status, steps=sum(r.steps for r in records),  # type: ignore[arg-type]
            first_loss=records[0].first_loss if records else None,
            final_train_loss=records[-1].last_loss if records else None,
            final_val_loss=records[-1].final_val_loss if records else None,
            adapters=dict(self.committed), gate=gate, tokens_per_second=tokens / seconds if seconds else 0.0,
            duration_s=time.monotonic() - self.started, stages=outcomes, checkpoint=checkpoint,
            notices=tuple(self.p.notices) + tuple(self.start.notices if self.start else ()),
        )


def _is_out_of_memory(exc: BaseException) -> bool:
    """True for host and device out-of-memory errors (torch raises its own type for devices)."""
    if isinstance(exc, MemoryError):
        return True
    import torch

    return isinstance(exc, torch.OutOfMemoryError)


def _loading_heartbeat(elapsed_s: float) -> ModelProgress:
    return ModelProgress("resolve", "load-weights", "Loading the base model…", None, 0, 0, elapsed_s)


class _Hooks:
    """The loop's reporting hooks for stage `index`: metrics rows, log lines, checkpoints."""

    def __init__(self, run: TrainingRun, index: int) -> None:
        self.run = run
        self.index = index

    def step_done(self, record: StageRecord, event: StepCompleted) -> None:
        self.run.metrics.record_step(StepRecord(record.run_id, event.step, event.loss, event.lr, event.grad_norm,
                                                event.tokens_per_second))
        self.run.log_of(record).write("step", step=event.step, loss=event.loss, lr=event.lr,
                                      grad_norm=event.grad_norm, tokens_per_sec=event.tokens_per_second,
                                      val_loss=None)

    def eval_done(self, record: StageRecord, event: EvalCompleted) -> None:
        self.run.metrics.record_eval(EvalRecord(record.run_id, event.step, event.val_loss, event.perplexity))
        self.run.log_of(record).write("eval", step=event.step, val_loss=event.val_loss, perplexity=event.perplexity)

    def checkpoint(self, record: StageRecord, optimizer: Any, scheduler: Any, reason: str) -> Path:
        return self.run.save_stage_checkpoint(self.index, record, optimizer, scheduler)
