"""Where a run starts: fresh, exactly where an interrupted run stopped, or from the current adapter weights.

* `resume=False`: fresh adapters; an old checkpoint is discarded (the user chose to start over).
* `resume=True` with a checkpoint whose fingerprint equals this run's: the adapters, the optimizer,
  scheduler and RNG states, the stage and the step are restored, so the run continues exactly.
* `resume=True` otherwise (no checkpoint, or the document or settings changed since): upstream `dlm`'s
  meaning, a new run whose adapters start from the current committed weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlm_desktop.core.store.manifest import load_manifest, next_run_id
from dlm_desktop.core.store.metrics import MetricsDB
from dlm_desktop.core.store.versions import resolve_current
from dlm_desktop.core.training.adapters import load_adapter_state
from dlm_desktop.core.training.checkpoint import StageRecord, discard_checkpoint, load_checkpoint
from dlm_desktop.core.training.errors import CheckpointError, ResumeMismatchError
from dlm_desktop.core.training.version_files import ADAPTER_WEIGHTS, load_tensors


@dataclass
class StartPoint:
    """The state a run begins from. `stage_state` holds `current` (the interrupted stage's optimizer,
    scheduler and torch RNG) and `finished` (per finished adapter, its final optimizer and scheduler)."""

    records: list[StageRecord]
    stage_index: int = 0
    stage_state: dict[str, Any] = field(default_factory=dict)
    host_rng: dict[str, Any] | None = None
    committed: dict[str, Path] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    exact: bool = False


def choose_start(prepared: Any, peft_model: Any) -> StartPoint:
    """Decide and set up the starting point (module docstring); loads weights into `peft_model`."""
    paths = prepared.paths
    if not prepared.request.resume:
        discard_checkpoint(paths)
        return StartPoint(fresh_records(prepared))
    notices = []
    try:
        checkpoint = load_checkpoint(paths)
    except CheckpointError as exc:
        checkpoint, notices = None, [f"the interrupted run's checkpoint is damaged ({exc.message}); not used"]
    if checkpoint is not None and checkpoint.meta.fingerprint == prepared.fingerprint:
        return _from_checkpoint(checkpoint, peft_model, paths)
    if checkpoint is not None:
        notices.append("the document or its settings changed since the run was interrupted, so it cannot "
                       "continue exactly; training starts from the current adapter weights instead")
    start = StartPoint(fresh_records(prepared), notices=notices)
    start.notices.extend(load_current_weights(prepared, peft_model))
    return start


def fresh_records(prepared: Any) -> list[StageRecord]:
    """One pending record per adapter, with run ids after every id the manifest and the metrics know."""
    paths = prepared.paths
    manifest = load_manifest(paths.manifest) if paths.manifest.exists() else None
    first = next_run_id(manifest, MetricsDB.for_store(paths).latest_run_id())
    return [
        StageRecord(adapter=stage.adapter.name, run_id=first + index, total_steps=stage.data.total_steps)
        for index, stage in enumerate(prepared.stages)
    ]


def _from_checkpoint(checkpoint: Any, peft_model: Any, paths: Any) -> StartPoint:
    for name, weights in checkpoint.adapter_weights.items():
        load_adapter_state(peft_model, name, dict(weights))
    meta = checkpoint.meta
    committed = {name: paths.root / relative for name, relative in meta.committed.items()}
    step = meta.stages[meta.stage_index].steps if meta.stage_index < len(meta.stages) else 0
    where = f"step {step} of adapter {meta.stages[meta.stage_index].adapter!r}" if step else "the next stage"
    return StartPoint(
        records=list(meta.stages), stage_index=meta.stage_index, stage_state=dict(checkpoint.stage_state or {}),
        host_rng=dict(meta.host_rng), committed=committed, exact=True,
        notices=[f"resuming the interrupted run exactly, from {where}"],
    )


def load_current_weights(prepared: Any, peft_model: Any) -> list[str]:
    """Load every adapter's current committed weights (upstream's resume); notes what was loaded."""
    notes = []
    for stage in prepared.stages:
        adapter = stage.adapter
        current = resolve_current(prepared.paths, adapter.store_name)
        if current is None:
            notes.append(f"adapter {adapter.name!r} has no saved version yet; it starts fresh")
            continue
        _check_compatible(current, adapter)
        load_adapter_state(peft_model, adapter.name, load_tensors(current / ADAPTER_WEIGHTS))
        notes.append(f"adapter {adapter.name!r} continues from {prepared.paths.relative(current)}")
    return notes


def _check_compatible(folder: Path, adapter: Any) -> None:
    """Refuse saved weights whose rank or target layers differ from the adapter's settings now."""
    try:
        config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResumeMismatchError(f"cannot read the saved adapter config: {exc}", path=folder,
                                  fix="train without resuming") from exc
    saved_targets = config.get("target_modules") or []
    saved = (config.get("r"), sorted(saved_targets) if isinstance(saved_targets, list) else saved_targets)
    wanted = (adapter.r, sorted(adapter.target_modules))
    if saved != wanted or bool(config.get("use_dora")) != adapter.use_dora:
        raise ResumeMismatchError(
            f"adapter {adapter.name!r} was saved with r={saved[0]} on {saved[1]}, but the document now asks for "
            f"r={wanted[0]} on {wanted[1]}",
            path=folder, fix="train without resuming to start a fresh adapter with the new settings",
        )
