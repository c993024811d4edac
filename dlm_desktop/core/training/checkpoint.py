"""The resumable state of an unfinished run, kept in an app-only folder of the store.

`<store>/desktop/checkpoint/` holds:

* `checkpoint.json`: the run's fingerprint (what was being trained, and how), the stage reached, each
  stage's run id, log file and numbers so far, the step reached in the current stage, and the Python and
  numpy RNG states;
* `adapters/<name>.safetensors`: the weights of every adapter trained so far (finished ones and the current);
* `state.pt` (+ `.sha256`): the current stage's optimizer, scheduler and torch RNG states.

It is never part of `manifest.json` (upstream refuses unknown keys). A checkpoint is written whole into a
temporary folder and then swapped in, so a crash leaves the previous checkpoint or the new one. It is removed
when the run completes.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.training.errors import CheckpointError
from dlm_desktop.core.training.version_files import (
    load_tensors,
    load_torch_blob,
    save_tensors,
    save_torch_blob,
    write_json,
)

CHECKPOINT_FORMAT = 1
APP_DIRNAME = "desktop"
META_FILE = "checkpoint.json"
STATE_FILE = "state.pt"
_FIX = "start the training again without resuming"


def checkpoint_dir(paths: StorePaths) -> Path:
    """`<store>/desktop/checkpoint/`."""
    return paths.root / APP_DIRNAME / "checkpoint"


@dataclass(frozen=True)
class StageRecord:
    """One adapter stage as the checkpoint remembers it. `status`: `pending`, `running` or `done`."""

    adapter: str
    run_id: int
    status: str = "pending"
    started_at: str | None = None
    log_path: str | None = None
    steps: int = 0
    total_steps: int = 0
    first_loss: float | None = None
    last_loss: float | None = None
    final_val_loss: float | None = None
    best_val_loss: float | None = None
    tokens: int = 0
    train_seconds: float = 0.0

    def advanced(self, **changes: Any) -> "StageRecord":
        """A copy with `changes` applied."""
        return replace(self, **changes)


@dataclass(frozen=True)
class CheckpointMeta:
    """The JSON part of a checkpoint. `stage_index` is the stage to continue (== number of stages when only
    the gate is left); `committed` maps adapters to their committed version folders once all are saved."""

    fingerprint: str
    max_steps: int | None
    stage_index: int
    stages: tuple[StageRecord, ...]
    host_rng: Mapping[str, Any] = field(default_factory=dict)
    committed: Mapping[str, str] = field(default_factory=dict)
    saved_at: str = ""
    format: int = CHECKPOINT_FORMAT

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["stages"] = [asdict(stage) for stage in self.stages]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "CheckpointMeta":
        stages = tuple(StageRecord(**stage) for stage in data["stages"])
        return cls(**{**data, "stages": stages})


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A checkpoint read back: its metadata, every saved adapter's weights, the current stage's state."""

    meta: CheckpointMeta
    adapter_weights: Mapping[str, Mapping[str, Any]]
    stage_state: Mapping[str, Any] | None
    path: Path


def save_checkpoint(
    paths: StorePaths,
    meta: CheckpointMeta,
    adapter_weights: Mapping[str, Mapping[str, Any]],
    stage_state: Mapping[str, Any] | None,
) -> Path:
    """Write a complete checkpoint and swap it in place of the previous one; returns its folder."""
    final = checkpoint_dir(paths)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f"checkpoint.tmp-{os.getpid()}")
    shutil.rmtree(temp, ignore_errors=True)
    (temp / "adapters").mkdir(parents=True)
    for name, weights in adapter_weights.items():
        save_tensors(temp / "adapters" / f"{name}.safetensors", weights)
    if stage_state is not None:
        save_torch_blob(temp / STATE_FILE, stage_state)
    write_json(temp / META_FILE, meta.to_json())
    _swap_in(temp, final)
    return final


def _swap_in(temp: Path, final: Path) -> None:
    old = final.with_name("checkpoint.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(temp, final)
    shutil.rmtree(old, ignore_errors=True)


def _existing_dir(paths: StorePaths) -> Path | None:
    """The checkpoint folder, or the previous one when a crash hit between the two renames of a swap."""
    final = checkpoint_dir(paths)
    if (final / META_FILE).is_file():
        return final
    old = final.with_name("checkpoint.old")
    return old if (old / META_FILE).is_file() else None


def read_checkpoint_meta(paths: StorePaths) -> CheckpointMeta | None:
    """The metadata of the store's checkpoint, or None when there is none or it cannot be read (no torch)."""
    folder = _existing_dir(paths)
    if folder is None:
        return None
    try:
        meta = CheckpointMeta.from_json(json.loads((folder / META_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return meta if meta.format == CHECKPOINT_FORMAT else None


def load_checkpoint(paths: StorePaths) -> LoadedCheckpoint | None:
    """The whole checkpoint, or None when there is none. Damaged files raise `CheckpointError`."""
    meta = read_checkpoint_meta(paths)
    if meta is None:
        return None
    folder = _existing_dir(paths)
    assert folder is not None
    weights = {}
    for stage in meta.stages[: meta.stage_index + 1]:
        path = folder / "adapters" / f"{stage.adapter}.safetensors"
        if path.is_file():
            try:
                weights[stage.adapter] = load_tensors(path)
            except Exception as exc:  # safetensors raises its own error types for damaged files
                raise CheckpointError(f"the checkpoint's weights of {stage.adapter!r} are damaged: {exc}",
                                      path=path, fix=_FIX) from exc
    state = None
    if (folder / STATE_FILE).exists():
        state = load_torch_blob(folder / STATE_FILE)
        if state is None:
            raise CheckpointError("the checkpoint's optimizer state fails its checksum", path=folder, fix=_FIX)
    return LoadedCheckpoint(meta, weights, state, folder)


def discard_checkpoint(paths: StorePaths) -> None:
    """Remove the store's checkpoint (and any leftover temporary or previous copy)."""
    final = checkpoint_dir(paths)
    if not final.parent.is_dir():
        return
    for entry in final.parent.iterdir():
        if entry.name == "checkpoint" or entry.name.startswith(("checkpoint.tmp-", "checkpoint.old")):
            shutil.rmtree(entry, ignore_errors=True)
