"""The run checkpoint on disk: written whole, found again after a crash mid-swap, refused when damaged."""

from __future__ import annotations

import os

import pytest

from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.training.checkpoint import (
    CheckpointMeta,
    StageRecord,
    checkpoint_dir,
    discard_checkpoint,
    load_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)
from dlm_desktop.core.training.errors import CheckpointError


@pytest.fixture
def paths(tmp_path) -> StorePaths:
    return StorePaths(tmp_path / "store")


def _save(paths: StorePaths, step: int):
    import torch

    meta = CheckpointMeta("f" * 64, None, 0, (StageRecord("default", 1, "running", steps=step),))
    weights = {"default": {"w": torch.full((2, 2), float(step))}}
    return save_checkpoint(paths, meta, weights, {"current": {"step": torch.tensor(step)}, "finished": {}})


def test_a_checkpoint_round_trips_and_replaces_the_previous_one(paths):
    import torch

    _save(paths, 3)
    folder = _save(paths, 4)
    assert folder == checkpoint_dir(paths) == paths.root / "desktop" / "checkpoint"
    loaded = load_checkpoint(paths)
    assert loaded.meta.stages[0].steps == 4
    assert torch.equal(loaded.adapter_weights["default"]["w"], torch.full((2, 2), 4.0))
    assert int(loaded.stage_state["current"]["step"]) == 4
    assert sorted(p.name for p in folder.parent.iterdir()) == ["checkpoint"]


def test_a_crash_between_the_two_renames_keeps_the_previous_checkpoint(paths):
    _save(paths, 5)
    final = checkpoint_dir(paths)
    os.replace(final, final.with_name("checkpoint.old"))  # the state right after the first rename
    assert read_checkpoint_meta(paths).stages[0].steps == 5
    assert load_checkpoint(paths).meta.stages[0].steps == 5
    discard_checkpoint(paths)
    assert read_checkpoint_meta(paths) is None and load_checkpoint(paths) is None


def test_a_damaged_optimizer_state_is_refused(paths):
    folder = _save(paths, 2)
    state = folder / "state.pt"
    state.write_bytes(state.read_bytes()[:-1] + b"x")
    with pytest.raises(CheckpointError):
        load_checkpoint(paths)
