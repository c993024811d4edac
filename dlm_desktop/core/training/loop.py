"""The optimizer loop of one adapter stage, as a generator of events.

Each optimizer step trains on the examples `batching.step_members` picks, in micro-batches whose summed
loss is divided by the step's target count (so the loss is the mean per trained token whatever the split),
clips the gradient norm, steps AdamW and the learning-rate schedule. `should_stop` is checked before every
step: when it is True the state is checkpointed and the stage returns `cancelled`. A non-finite loss or
gradient norm ends the stage as `diverged` before the optimizer applies it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Literal, Protocol

from dlm_desktop.core.training.batching import DataPlan, step_batches, step_members
from dlm_desktop.core.training.checkpoint import StageRecord
from dlm_desktop.core.training.determinism import restore_torch_rng, seed_everything
from dlm_desktop.core.training.events import CheckpointSaved, EvalCompleted, StepCompleted, TrainingEvent
from dlm_desktop.core.training.examples import Example
from dlm_desktop.core.training.forward import ModelParts, collate_packed, loss_sum, mean_loss, perplexity
from dlm_desktop.core.training.hparams import AdapterHparams, RunHparams, ScheduleSpec
from dlm_desktop.core.training.schedule import LrSchedule, warmup_steps


@dataclass(frozen=True)
class StageSetup:
    """Everything one adapter stage needs (built by the engine)."""

    peft_model: Any
    parts: ModelParts
    adapter: AdapterHparams
    run: RunHparams
    schedule: ScheduleSpec
    train: tuple[Example, ...]
    val: tuple[Example, ...]
    plan: DataPlan
    token_budget: int
    pad_id: int
    device: str
    eval_every: int
    checkpoint_interval_s: float


class StageHooks(Protocol):
    """Where the loop reports to: metrics and log rows, and the checkpoint writer."""

    def step_done(self, record: StageRecord, event: StepCompleted) -> None: ...

    def eval_done(self, record: StageRecord, event: EvalCompleted) -> None: ...

    def checkpoint(self, record: StageRecord, optimizer: Any, scheduler: Any, reason: str) -> Any: ...


@dataclass(frozen=True)
class StageEnd:
    """How the stage ended, its record, and the optimizer and scheduler (their state goes into the version)."""

    status: Literal["done", "cancelled", "diverged"]
    record: StageRecord
    optimizer: Any
    scheduler: Any
    diverged_at: str | None = None


@dataclass
class _Timing:
    started: float = field(default_factory=time.monotonic)
    last_checkpoint: float = field(default_factory=time.monotonic)
    step_seconds: list[float] = field(default_factory=list)

    def eta(self, remaining: int) -> float:
        recent = self.step_seconds[-20:]
        return remaining * (sum(recent) / len(recent)) if recent else 0.0


def make_optimizer(setup: StageSetup, params: list[Any]) -> tuple[Any, Any]:
    """AdamW over the adapter's parameters and the stage's learning-rate schedule."""
    import torch

    optimizer = torch.optim.AdamW(params, lr=setup.adapter.learning_rate, weight_decay=setup.run.weight_decay)
    total = setup.plan.total_steps
    schedule = LrSchedule(total, setup.schedule.kind, warmup_steps(total, setup.schedule.warmup_ratio),
                          setup.schedule.min_lr_ratio)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def train_stage(
    setup: StageSetup,
    record: StageRecord,
    hooks: StageHooks,
    should_stop: Callable[[], bool],
    resume_state: dict[str, Any] | None = None,
) -> Generator[TrainingEvent, None, StageEnd]:
    """Train one adapter from `record.steps` to the plan's total (see the module docstring)."""
    from dlm_desktop.core.training.adapters import activate

    params = activate(setup.peft_model, setup.adapter.name)
    optimizer, scheduler = make_optimizer(setup, params)
    if resume_state is not None:
        optimizer.load_state_dict(resume_state["optimizer_state_dict"])
        scheduler.load_state_dict(resume_state["scheduler_state_dict"])
        restore_torch_rng(resume_state)
    else:
        seed_everything(setup.run.seed)
    timing = _Timing()
    while record.steps < setup.plan.total_steps:
        if should_stop():
            path = hooks.checkpoint(record, optimizer, scheduler, "cancel")
            yield CheckpointSaved(record.steps, path, setup.adapter.name, "cancel")
            return StageEnd("cancelled", record, optimizer, scheduler)
        numbers = _optimizer_step(setup, record.steps, optimizer, scheduler, params)
        if numbers.diverged is not None:
            return StageEnd("diverged", record, optimizer, scheduler, numbers.diverged)
        record = yield from _after_step(setup, record, numbers, timing, hooks)
        if _checkpoint_due(setup, record, timing):
            path = hooks.checkpoint(record, optimizer, scheduler, "interval")
            timing.last_checkpoint = time.monotonic()
            yield CheckpointSaved(record.steps, path, setup.adapter.name, "interval")
    return StageEnd("done", record, optimizer, scheduler)


@dataclass(frozen=True)
class _StepNumbers:
    loss: float
    lr: float
    grad_norm: float | None
    tokens: int
    seconds: float
    diverged: str | None = None


def _optimizer_step(setup: StageSetup, step: int, optimizer: Any, scheduler: Any, params: list[Any]) -> _StepNumbers:
    import torch

    started = time.perf_counter()
    members = step_members(setup.plan, setup.run.seed, step)
    lengths = [example.length for example in setup.train]
    targets = sum(setup.train[index].targets for index in members)
    lr = float(optimizer.param_groups[0]["lr"])
    total, tokens = 0.0, 0
    for group in step_batches(lengths, members, setup.token_budget):
        rows = [[setup.train[index] for index in sequence] for sequence in group]
        batch = collate_packed(rows, setup.pad_id, setup.device)
        loss = loss_sum(setup.parts, batch)
        (loss / targets).backward()
        total += float(loss.detach())
        tokens += batch.tokens
    mean = total / targets
    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, setup.run.max_grad_norm))
    diverged = _divergence(mean, grad_norm, step)
    if diverged is None:
        optimizer.step()
        scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return _StepNumbers(mean, lr, grad_norm, tokens, time.perf_counter() - started, diverged)


def _divergence(loss: float, grad_norm: float, step: int) -> str | None:
    if not math.isfinite(loss):
        return f"the training loss at step {step + 1}"
    if not math.isfinite(grad_norm):
        return f"the gradient norm at step {step + 1}"
    return None


def _after_step(
    setup: StageSetup, record: StageRecord, numbers: _StepNumbers, timing: _Timing, hooks: StageHooks
) -> Generator[TrainingEvent, None, StageRecord]:
    """Record the step, report it, and run the validation pass when it is due."""
    timing.step_seconds.append(numbers.seconds)
    step = record.steps + 1
    record = record.advanced(
        steps=step, status="running", last_loss=numbers.loss, tokens=record.tokens + numbers.tokens,
        first_loss=record.first_loss if record.first_loss is not None else numbers.loss,
        train_seconds=record.train_seconds + numbers.seconds,
    )
    total = setup.plan.total_steps
    event = StepCompleted(
        step=step, total=total, loss=numbers.loss, lr=numbers.lr,
        tokens_per_second=numbers.tokens / numbers.seconds if numbers.seconds > 0 else 0.0,
        eta_s=timing.eta(total - step), epoch=setup.plan.epochs_done(step), adapter=setup.adapter.name,
        grad_norm=numbers.grad_norm,
    )
    hooks.step_done(record, event)
    yield event
    if setup.val and (step % setup.eval_every == 0 or step == total):
        record = yield from _evaluate(setup, record, hooks)
    return record


def _evaluate(setup: StageSetup, record: StageRecord, hooks: StageHooks) -> Generator[TrainingEvent, None, StageRecord]:
    setup.peft_model.eval()
    try:
        val_loss = mean_loss(setup.parts, eval_batches(setup.val, setup.token_budget, setup.pad_id, setup.device))
    finally:
        setup.peft_model.train()
    if val_loss is None:
        return record
    best = val_loss if record.best_val_loss is None else min(record.best_val_loss, val_loss)
    record = record.advanced(final_val_loss=val_loss, best_val_loss=best)
    event = EvalCompleted(record.steps, val_loss, perplexity(val_loss), setup.adapter.name)
    hooks.eval_done(record, event)
    yield event
    return record


def eval_batches(examples: tuple[Example, ...], token_budget: int, pad_id: int, device: str):
    """The validation examples, packed and batched as training steps are."""
    lengths = [example.length for example in examples]
    for group in step_batches(lengths, range(len(examples)), token_budget):
        yield collate_packed([[examples[index] for index in sequence] for sequence in group], pad_id, device)


def _checkpoint_due(setup: StageSetup, record: StageRecord, timing: _Timing) -> bool:
    if record.steps >= setup.plan.total_steps:
        return False  # the stage is over: the engine checkpoints the stage boundary itself
    return time.monotonic() - timing.last_checkpoint >= setup.checkpoint_interval_s
