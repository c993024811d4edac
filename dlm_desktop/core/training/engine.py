"""`train_document`: the training capability, as a generator of events that returns a `TrainResult`.

    document → rows per adapter → base model (resolved, tokenizer, examples, plan) → ONE loaded base with
    every adapter attached → for each adapter: its optimizer loop → commit every version → the gate

When the runtime picked is MLX (`plan.backend`), `mlx_run.MlxTrainingRun` runs the same stages on MLX.

The store's exclusive lock is held from start to end, so a second trainer of the same document gets
`StoreLockedError` at once. `should_stop` is polled between optimizer steps (and during model loading):
the run then checkpoints and returns a `cancelled` result. Problems raise typed errors (`DlmDesktopError`);
the metrics mark the run failed first. A diverged run keeps its weights as `vNNNN-rejected` only.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Generator

from dlm_desktop.core.document.pipeline import load_document
from dlm_desktop.core.models import ModelJobCancelled, never_stop
from dlm_desktop.core.store.lock import StoreLock
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.training.checkpoint import read_checkpoint_meta
from dlm_desktop.core.training.events import Notice, RunFinished, TrainingEvent
from dlm_desktop.core.training.overfitting import watch_overfitting
from dlm_desktop.core.training.records import ensure_manifest
from dlm_desktop.core.training.request import TrainRequest, TrainResult
from dlm_desktop.core.training.run import TrainingRun
from dlm_desktop.core.training.session import prepare, resolve_model


def train_document(
    request: TrainRequest, *, should_stop: Callable[[], bool] = never_stop
) -> Generator[TrainingEvent, None, TrainResult]:
    """Train the document `request.document_path` (see the module docstring).

    Yields `TrainingEvent`s; returns the `TrainResult` (status `ok` or `cancelled`). Raises the typed errors
    of the document, models, runtime and store layers, and `TrainingError`s.
    """
    started = time.monotonic()
    report = load_document(request.document_path)
    paths = StorePaths.for_dlm(report.frontmatter.dlm_id, home=request.home)
    paths.ensure_layout()
    lock = StoreLock.for_store(paths, timeout=request.lock_timeout_s)
    lock.acquire()
    try:
        if lock.note:
            yield Notice(lock.note, "warning")
        return (yield from _train_locked(request, report, paths, should_stop, started))
    finally:
        lock.release()


def _train_locked(
    request: TrainRequest, report: Any, paths: StorePaths, should_stop: Callable[[], bool], started: float
) -> Generator[TrainingEvent, None, TrainResult]:
    meta = read_checkpoint_meta(paths) if request.resume else None
    max_steps = request.max_steps if request.max_steps is not None or meta is None else meta.max_steps
    try:
        resolved = yield from resolve_model(request, request.base or report.frontmatter.base_model, should_stop)
    except ModelJobCancelled:
        return (yield from _cancelled_before_training(started))
    prepared = prepare(request, report, paths, resolved, max_steps)
    ensure_manifest(paths, dlm_id=report.frontmatter.dlm_id, base_model=resolved.spec.key,
                    revision=resolved.revision or resolved.spec.revision, source_path=request.document_path)
    for message in prepared.notices:
        yield Notice(message, "warning")
    run = _run_class(prepared)(prepared, should_stop, started)
    try:
        yield from run.load_model()
    except ModelJobCancelled:
        return (yield from _cancelled_before_training(started))
    return (yield from watch_overfitting(run.execute()))


def _run_class(prepared: Any) -> type[TrainingRun]:
    """The MLX run when the plan picked the MLX backend, else the torch run."""
    from dlm_desktop.core.runtime import Backend

    if prepared.plan.backend is Backend.MLX:
        from dlm_desktop.core.training.mlx_run import MlxTrainingRun

        return MlxTrainingRun
    return TrainingRun


def _cancelled_before_training(started: float) -> Generator[TrainingEvent, None, TrainResult]:
    """The result of a run stopped while its model was still being prepared (nothing to checkpoint)."""
    duration = time.monotonic() - started
    yield RunFinished("cancelled", 0, None, None, duration)
    return TrainResult("cancelled", 0, None, None, None, {}, None, 0.0, duration)
