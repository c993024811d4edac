"""Checkpoints and store versions of an MLX run, from weights already in PEFT's form.

The torch run reads its adapter weights out of a PEFT model; an MLX run (`mlx_run.MlxTrainingRun`) holds
them as PEFT state dicts instead. Everything else (the checkpoint folder, `vNNNN` allocation, the version
files, rejection of diverged weights, the run records) is the torch engine's own code, so the store cannot
tell which runtime trained an adapter except by the `runtime: mlx` mark in its optimizer state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Generator

from dlm_desktop.core.store.errors import NonFiniteWeightsError
from dlm_desktop.core.store.metrics import iso_z
from dlm_desktop.core.store.versions import commit_version
from dlm_desktop.core.training.adapters import lora_config
from dlm_desktop.core.training.checkpoint import CheckpointMeta, StageRecord, discard_checkpoint, save_checkpoint
from dlm_desktop.core.training.commit import CommitInput, _diverged, base_reference
from dlm_desktop.core.training.determinism import capture_host_rng, capture_torch_rng
from dlm_desktop.core.training.events import TrainingEvent, VersionCommitted
from dlm_desktop.core.training.loop import StageEnd
from dlm_desktop.core.training.records import record_runs, write_summary
from dlm_desktop.core.training.version_files import VersionContent, pinned_versions, write_version


def save_run_checkpoint(run: Any, stage_index: int, current: dict | None, record: StageRecord | None) -> Path:
    """Write the run's checkpoint (as `TrainingRun._save_checkpoint`, weights from the MLX run)."""
    p = run.p
    meta = CheckpointMeta(
        fingerprint=p.fingerprint, max_steps=p.max_steps, stage_index=stage_index, stages=tuple(run.records),
        host_rng=capture_host_rng(),
        committed={name: p.paths.relative(path) for name, path in run.committed.items()}, saved_at=iso_z(),
    )
    upto = min(stage_index, len(p.stages) - 1)
    path = save_checkpoint(p.paths, meta, run._adapter_weights(upto), {"finished": run.finished_states,
                                                                       "current": current})
    run._last_checkpoint = path
    if record is not None:
        run.log_of(record).write("checkpoint", step=record.steps, path=str(path))
    return path


def version_content(run: Any, item: CommitInput, diverged_at: str | None = None) -> VersionContent:
    """The files of one adapter version trained on MLX (the same files as the torch engine's)."""
    p, name, record = run.p, item.stage.adapter.name, item.record
    state = {
        "optimizer_state_dict": item.final_state.get("optimizer_state_dict", {}),
        "scheduler_state_dict": item.final_state.get("scheduler_state_dict", {}),
        "scaler_state_dict": None, **capture_torch_rng(), "global_step": record.steps,
        "epoch": item.stage.data.epochs_done(record.steps), "best_val_loss": record.best_val_loss,
        "dlm_manifest_hash": None,
    }
    return VersionContent(
        adapter_name=name, weights=run.trained[name], peft_config=lora_config(item.stage.adapter, grew=False),
        tokenizer=p.bringup.tokenizer, base_model_ref=base_reference(p.resolved),
        base_model_revision=p.resolved.revision or p.resolved.spec.revision, training_state=state,
        host_rng=capture_host_rng(), use_qlora=False, diverged_at=diverged_at,
    )


def commit(run: Any, item: CommitInput) -> tuple[Path, int]:
    """Commit one adapter version; non-finite weights raise `TrainingDivergedError` (kept as rejected)."""
    content = version_content(run, item)
    try:
        folder = commit_version(run.p.paths, lambda target: write_version(target, content),
                                name=item.stage.adapter.store_name)
    except NonFiniteWeightsError as exc:
        raise _diverged(item, "the trained weights", exc, step=item.record.steps) from exc
    from dlm_desktop.core.training.mlx_run import committed_number

    return folder, committed_number(folder)


def reject(run: Any, index: int, end: StageEnd) -> None:
    """Keep the weights of a diverged stage as `vNNNN-rejected` and raise `TrainingDivergedError`."""
    stage = run.p.stages[index]
    item = CommitInput(stage, end.record, {"optimizer_state_dict": end.optimizer.state_dict(),
                                           "scheduler_state_dict": end.scheduler.state_dict()})
    content = version_content(run, item, diverged_at=end.diverged_at or "the loss")
    run.log_of(end.record).write("diverged", step=end.record.steps + 1, reason=end.diverged_at)
    discard_checkpoint(run.p.paths)
    try:
        commit_version(run.p.paths, lambda target: write_version(target, content), name=stage.adapter.store_name)
    except NonFiniteWeightsError as exc:
        raise _diverged(item, end.diverged_at or "the loss", exc, step=end.record.steps + 1) from exc
    raise AssertionError("a diverged version was committed")  # write_version always refuses it


def commit_all(run: Any) -> Generator[TrainingEvent, None, None]:
    """Commit every adapter's version, then record the runs (as `TrainingRun._commit_all`)."""
    p, finished = run.p, []
    for index, stage in enumerate(p.stages):
        record = run.records[index]
        folder, number = commit(run, CommitInput(stage, record, run.finished_states.get(stage.adapter.name, {})))
        run.committed[stage.adapter.name] = folder
        yield VersionCommitted(stage.adapter.store_name, number, folder)
        finished.append(run._finished_stage(stage, record, number))
    for item in finished:
        write_summary(item, seed=p.run.seed, determinism_class=run.determinism_class)
    record_runs(p.paths, finished, seed=p.run.seed, revision=p.resolved.revision or p.resolved.spec.revision,
                pinned=pinned_versions(), section_ids=[s.section_id for s in p.report.sections])
    for item, record in zip(finished, run.records):
        run.metrics.record_run_start(record.run_id, phase="sft", seed=p.run.seed,
                                     adapter_version=item.adapter_version, started_at=iso_z(item.started_at))
        run.metrics.record_run_end(record.run_id, "ok")
        run.log_of(record).write("run_complete", run_id=record.run_id, adapter_version=item.adapter_version,
                                 steps=record.steps, summary_path=p.paths.relative(item.summary_path))
