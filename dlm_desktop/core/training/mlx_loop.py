"""The optimizer loop of one adapter stage on MLX, as a generator of the torch loop's events.

The same data order as the torch loop (`batching.step_members`: a seeded permutation per epoch, the same
examples per optimizer step), cut into right-padded micro-batches (`batching.micro_batches`, one example per
row: no packing), whose summed cross-entropy over the answer tokens is divided by the step's target count.
Gradients are accumulated over the micro-batches, clipped to `max_grad_norm`, and applied by MLX's AdamW
with the stage's learning-rate schedule (`schedule.lr_factor`). `should_stop` is checked before every
step: the stage then checkpoints and returns `cancelled`. A non-finite loss or gradient norm ends the stage
as `diverged` before the optimizer applies it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlm_desktop.core.training.batching import micro_batches, step_members
from dlm_desktop.core.training.checkpoint import StageRecord
from dlm_desktop.core.training.events import CheckpointSaved, EvalCompleted, StepCompleted, TrainingEvent
from dlm_desktop.core.training.examples import IGNORE_INDEX, Example
from dlm_desktop.core.training.forward import perplexity
from dlm_desktop.core.training.loop import StageEnd, StageHooks
from dlm_desktop.core.training.schedule import LrSchedule, warmup_steps


@dataclass
class MlxStage:
    """One stage's live objects: the model with its trainable LoRA layers, the optimizer, and the settings
    of `session.StagePlan` / `RunHparams` it trains with."""

    model: Any
    optimizer: Any
    stage: Any
    run: Any
    token_budget: int
    pad_id: int
    checkpoint_interval_s: float
    step_seconds: list[float] = field(default_factory=list)


class OptimizerState:
    """The MLX optimizer's state in the form checkpoints and versions store (`state_dict()`: flat CPU tensors)."""

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer

    def state_dict(self) -> dict[str, Any]:
        import numpy as np
        import torch
        from mlx.utils import tree_flatten

        flat = tree_flatten(self.optimizer.state)
        dtypes = {key: str(value.dtype).rsplit(".", 1)[-1] for key, value in flat}
        # torch has no unsigned 64-bit tensors (MLX counts steps in uint64): stored as int64, dtype noted
        state = {key: torch.from_numpy(np.array(value).astype(np.int64) if dtypes[key] == "uint64" else np.array(value))
                 for key, value in flat}
        return {"runtime": "mlx", "state": state, "dtypes": dtypes}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        import mlx.core as mx
        from mlx.utils import tree_unflatten

        dtypes = saved.get("dtypes", {})
        self.optimizer.state = tree_unflatten([
            (key, mx.array(value.numpy()).astype(getattr(mx, dtypes.get(key, "float32"))))
            for key, value in saved["state"].items()
        ])


class ScheduleState:
    """The learning-rate schedule's position, stored like torch's scheduler state."""

    def __init__(self, steps_done: Callable[[], int]) -> None:
        self.steps_done = steps_done

    def state_dict(self) -> dict[str, Any]:
        return {"runtime": "mlx", "last_epoch": int(self.steps_done())}


def train_stage_mlx(live: MlxStage, record: StageRecord, hooks: StageHooks,
                    should_stop: Callable[[], bool]) -> Generator[TrainingEvent, None, StageEnd]:
    """Train one adapter from `record.steps` to the plan's total (module docstring)."""
    import mlx.nn as nn

    plan = live.stage.data
    schedule = LrSchedule(plan.total_steps, live.stage.schedule.kind,
                          warmup_steps(plan.total_steps, live.stage.schedule.warmup_ratio),
                          live.stage.schedule.min_lr_ratio)
    value_and_grad = nn.value_and_grad(live.model, _loss_sum)
    optimizer, scheduler = OptimizerState(live.optimizer), ScheduleState(lambda: record.steps)
    last_checkpoint = time.monotonic()
    while record.steps < plan.total_steps:
        if should_stop():
            path = hooks.checkpoint(record, optimizer, scheduler, "cancel")
            yield CheckpointSaved(record.steps, path, live.stage.adapter.name, "cancel")
            return StageEnd("cancelled", record, optimizer, scheduler)
        lr = live.stage.adapter.learning_rate * schedule(record.steps)
        loss, grad_norm, tokens, seconds, diverged = _optimizer_step(live, value_and_grad, record.steps, lr)
        if diverged is not None:
            return StageEnd("diverged", record, optimizer, scheduler, diverged)
        record = yield from _after_step(live, record, hooks, (loss, lr, grad_norm, tokens, seconds))
        if record.steps < plan.total_steps and time.monotonic() - last_checkpoint >= live.checkpoint_interval_s:
            path = hooks.checkpoint(record, optimizer, scheduler, "interval")
            last_checkpoint = time.monotonic()
            yield CheckpointSaved(record.steps, path, live.stage.adapter.name, "interval")
    return StageEnd("done", record, optimizer, scheduler)


def _optimizer_step(live: MlxStage, value_and_grad: Any, step: int, lr: float):
    import mlx.core as mx
    import mlx.optimizers as optim
    from mlx.utils import tree_map

    started = time.perf_counter()
    examples = live.stage.train.examples
    members = step_members(live.stage.data, live.run.seed, step)
    targets = sum(examples[index].targets for index in members)
    total, tokens, grads = 0.0, 0, None
    for group in micro_batches([example.length for example in examples], members, live.token_budget):
        ids, labels, count = collate([examples[index] for index in group], live.pad_id)
        loss, batch_grads = value_and_grad(live.model, ids, labels)
        grads = batch_grads if grads is None else tree_map(lambda a, b: a + b, grads, batch_grads)
        mx.eval(loss, grads)
        total += float(loss)
        tokens += count
    grads = tree_map(lambda g: g / targets, grads)
    clipped, norm = optim.clip_grad_norm(grads, live.run.max_grad_norm)
    mean, grad_norm = total / targets, float(norm)
    diverged = _divergence(mean, grad_norm, step)
    if diverged is None:
        live.optimizer.learning_rate = lr
        live.optimizer.update(live.model, clipped)
        mx.eval(live.model.trainable_parameters(), live.optimizer.state)
    return mean, grad_norm, tokens, time.perf_counter() - started, diverged


def _divergence(loss: float, grad_norm: float, step: int) -> str | None:
    if not math.isfinite(loss):
        return f"the training loss at step {step + 1}"
    if not math.isfinite(grad_norm):
        return f"the gradient norm at step {step + 1}"
    return None


def _after_step(live: MlxStage, record: StageRecord, hooks: StageHooks,
                numbers: tuple[float, float, float, int, float]) -> Generator[TrainingEvent, None, StageRecord]:
    loss, lr, grad_norm, tokens, seconds = numbers
    live.step_seconds.append(seconds)
    step, total = record.steps + 1, live.stage.data.total_steps
    record = record.advanced(
        steps=step, status="running", last_loss=loss, tokens=record.tokens + tokens,
        first_loss=record.first_loss if record.first_loss is not None else loss,
        train_seconds=record.train_seconds + seconds,
    )
    recent = live.step_seconds[-20:]
    event = StepCompleted(
        step=step, total=total, loss=loss, lr=lr, tokens_per_second=tokens / seconds if seconds > 0 else 0.0,
        eta_s=(total - step) * sum(recent) / len(recent), epoch=live.stage.data.epochs_done(step),
        adapter=live.stage.adapter.name, grad_norm=grad_norm,
    )
    hooks.step_done(record, event)
    yield event
    if live.stage.val.examples and (step % live.stage.eval_every == 0 or step == total):
        val_loss = validation_loss(live.model, live.stage.val.examples, live.token_budget, live.pad_id)
        if val_loss is not None:
            best = val_loss if record.best_val_loss is None else min(record.best_val_loss, val_loss)
            record = record.advanced(final_val_loss=val_loss, best_val_loss=best)
            evaluated = EvalCompleted(step, val_loss, perplexity(val_loss), live.stage.adapter.name)
            hooks.eval_done(record, evaluated)
            yield evaluated
    return record


def validation_loss(model: Any, examples: Sequence[Example], token_budget: int, pad_id: int) -> float | None:
    """The mean loss per target over `examples`, in eval mode (no dropout); None when there is no target."""
    model.eval()
    try:
        total, count = 0.0, 0
        lengths = [example.length for example in examples]
        for group in micro_batches(lengths, range(len(examples)), token_budget):
            ids, labels, _ = collate([examples[index] for index in group], pad_id)
            total += float(_loss_sum(model, ids, labels))
            count += sum(examples[index].targets for index in group)
        return total / count if count else None
    finally:
        model.train()


def collate(examples: Sequence[Example], pad_id: int) -> tuple[Any, Any, int]:
    """`(input_ids, targets, real tokens)`: right-padded rows; `targets[b, t]` is the token position t must
    predict (`IGNORE_INDEX`: none)."""
    import mlx.core as mx

    width = max(example.length for example in examples)
    ids = [list(e.input_ids) + [pad_id] * (width - e.length) for e in examples]
    targets = [list(e.labels[1:]) + [IGNORE_INDEX] * (width - e.length + 1) for e in examples]
    return mx.array(ids), mx.array(targets), sum(example.length for example in examples)


def _loss_sum(model: Any, ids: Any, targets: Any) -> Any:
    """The summed cross-entropy over the targets, in float32."""
    import mlx.core as mx
    import mlx.nn as nn

    logits = model(ids).astype(mx.float32)
    mask = targets != IGNORE_INDEX
    losses = nn.losses.cross_entropy(logits, mx.where(mask, targets, 0), reduction="none")
    return (losses * mask).sum()
