"""Turning trained adapters into committed store versions, or into rejected ones when training diverged.

Every adapter of the run is committed only after all of them trained: `vNNNN` is allocated, written
(`version_files.write_version`), flushed, and then `current.txt` switches to it. Non-finite weights (or a
diverged loss) rename the folder `vNNNN-rejected` and leave the pointer where it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from dlm_desktop.core.store.errors import NonFiniteWeightsError
from dlm_desktop.core.store.versions import commit_version, parse_version_name
from dlm_desktop.core.training.adapters import adapter_state
from dlm_desktop.core.training.checkpoint import StageRecord
from dlm_desktop.core.training.determinism import capture_host_rng, capture_torch_rng
from dlm_desktop.core.training.errors import TrainingDivergedError
from dlm_desktop.core.training.version_files import VersionContent, write_version


@dataclass(frozen=True)
class CommitInput:
    """What one adapter's version needs besides the model: its stage, record and final optimizer state."""

    stage: Any  # session.StagePlan
    record: StageRecord
    final_state: Mapping[str, Any]


def base_reference(resolved: Any) -> str:
    """What `adapter_config.json` names as the base: the hub id, or the folder of a local base."""
    spec = resolved.spec
    return str(resolved.local_dir) if spec.source == "local" else spec.hf_id


def version_content(
    prepared: Any, peft_model: Any, item: CommitInput, diverged_at: str | None = None
) -> VersionContent:
    """The files of one adapter version (see `version_files`)."""
    name = item.stage.adapter.name
    record = item.record
    state = {
        "optimizer_state_dict": item.final_state.get("optimizer_state_dict", {}),
        "scheduler_state_dict": item.final_state.get("scheduler_state_dict", {}),
        "scaler_state_dict": None,
        **capture_torch_rng(),
        "global_step": record.steps,
        "epoch": item.stage.data.epochs_done(record.steps),
        "best_val_loss": record.best_val_loss,
        "dlm_manifest_hash": None,
    }
    return VersionContent(
        adapter_name=name,
        weights=adapter_state(peft_model, name),
        peft_config=peft_model.peft_config[name],
        tokenizer=prepared.bringup.tokenizer,
        base_model_ref=base_reference(prepared.resolved),
        base_model_revision=prepared.resolved.revision or prepared.resolved.spec.revision,
        training_state=state,
        host_rng=capture_host_rng(),
        use_qlora=prepared.settings.use_qlora,
        diverged_at=diverged_at,
    )


def commit_adapter(prepared: Any, peft_model: Any, item: CommitInput) -> tuple[Path, int]:
    """Commit one adapter version; returns its folder and number. Non-finite weights raise
    `TrainingDivergedError` (the folder is kept as `vNNNN-rejected`)."""
    content = version_content(prepared, peft_model, item)
    store_name = item.stage.adapter.store_name
    try:
        folder = commit_version(prepared.paths, lambda target: write_version(target, content), name=store_name)
    except NonFiniteWeightsError as exc:
        raise _diverged(item, "the trained weights", exc, step=item.record.steps) from exc
    number = parse_version_name(folder.name)
    assert number is not None
    return folder, number


def reject_adapter(prepared: Any, peft_model: Any, item: CommitInput, diverged_at: str) -> TrainingDivergedError:
    """Write the weights reached when the loss diverged as a rejected version; return the error to raise."""
    content = version_content(prepared, peft_model, item, diverged_at=diverged_at)
    store_name = item.stage.adapter.store_name
    try:
        commit_version(prepared.paths, lambda target: write_version(target, content), name=store_name)
    except NonFiniteWeightsError as exc:
        return _diverged(item, diverged_at, exc, step=item.record.steps + 1)
    raise AssertionError("a diverged version was committed")  # write_version always refuses it


def _diverged(item: CommitInput, what: str, exc: NonFiniteWeightsError, *, step: int) -> TrainingDivergedError:
    name = item.stage.adapter.name
    kept = f" (kept for inspection in {exc.rejected_dir})" if exc.rejected_dir is not None else ""
    return TrainingDivergedError(
        f"training of adapter {name!r} diverged: {what} became NaN or infinite; nothing was saved as a new "
        f"version{kept} and the current adapter is unchanged",
        adapter=name, step=step, rejected_dir=exc.rejected_dir,
    )
