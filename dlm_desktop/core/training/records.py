"""What a run leaves in the store besides the adapters: its log, its summary and the manifest entries.

* `logs/train-<run:06d>-<YYYYMMDDTHHMMSS>.jsonl`, one JSON object per line: a `banner` first (run id,
  seed, determinism, pinned versions, plan), then `step` and `eval` records, `checkpoint`, `cancelled`,
  `resumed` and `run_complete` events. Each line is flushed as it is written, so a killed run keeps its log.
* `logs/train-<...>.summary.json` with the run's final numbers.
* `manifest.json`: created on the first run (upstream's fields); after a successful run, one
  `TrainingRunSummary` per adapter, `content_hashes` of the current sections and the adapter version(s).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from dlm_desktop.core.store.manifest import (
    StoreManifest,
    TrainingRunSummary,
    load_manifest,
    new_manifest,
    replace_fields,
    save_manifest,
    utc_now,
)
from dlm_desktop.core.store.metrics import iso_z
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.training.version_files import write_json


class RunLog:
    """Appends JSON lines to one run's log file (opened per line, so nothing is lost if the process dies)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def write(self, kind: str, **fields: Any) -> None:
        """Append `{"type": kind, "timestamp": ..., **fields}`."""
        record = {"type": kind, "timestamp": iso_z(), **fields}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True, default=str) + "\n")
            handle.flush()

    @property
    def summary_path(self) -> Path:
        """The summary file that goes with this log (same stem, `.summary.json`)."""
        return self.path.with_name(self.path.name.removesuffix(".jsonl") + ".summary.json")


def new_run_log(paths: StorePaths, run_id: int, started: datetime) -> RunLog:
    """The log of a new run (`started` in naive UTC)."""
    return RunLog(paths.train_log(run_id, started))


@dataclass(frozen=True)
class FinishedStage:
    """A trained and committed adapter, as the manifest and the summary record it."""

    run_id: int
    adapter_name: str | None  # None: flat layout
    adapter_version: int
    started_at: datetime
    ended_at: datetime
    steps: int
    first_loss: float | None
    final_train_loss: float | None
    final_val_loss: float | None
    tokens_per_second: float
    train_seconds: float
    summary_path: Path
    weight_distribution: Mapping[str, Mapping[str, int]] | None


def write_summary(stage: FinishedStage, *, seed: int, determinism_class: str) -> None:
    """Write the run's `.summary.json`."""
    val = stage.final_val_loss
    write_json(stage.summary_path, {
        "run_id": stage.run_id,
        "adapter_name": stage.adapter_name,
        "adapter_version": stage.adapter_version,
        "seed": seed,
        "steps": stage.steps,
        "first_train_loss": stage.first_loss,
        "final_train_loss": stage.final_train_loss,
        "final_val_loss": val,
        "final_val_perplexity": None if val is None else _safe_exp(val),
        "early_stopped": False,
        "duration_seconds": round(stage.train_seconds, 3),
        "tokens_per_second": round(stage.tokens_per_second, 2),
        "determinism_class": determinism_class,
    })


def _safe_exp(value: float) -> float | None:
    import math

    return math.exp(value) if value < 700 else None


def ensure_manifest(
    paths: StorePaths, *, dlm_id: str, base_model: str, revision: str | None, source_path: Path
) -> StoreManifest:
    """The store's manifest, created (upstream's first-run fields) when there is none yet."""
    if paths.manifest.exists():
        return load_manifest(paths.manifest)
    manifest = new_manifest(dlm_id, base_model, base_model_revision=revision, source_path=source_path.resolve())
    save_manifest(paths.manifest, manifest)
    return manifest


def record_runs(
    paths: StorePaths,
    stages: Sequence[FinishedStage],
    *,
    seed: int,
    revision: str | None,
    pinned: Mapping[str, str],
    section_ids: Iterable[str],
) -> StoreManifest:
    """Append one `TrainingRunSummary` per stage, refresh `content_hashes` and the adapter version(s)."""
    manifest = load_manifest(paths.manifest)
    runs = [run for run in manifest.training_runs if run.run_id not in {s.run_id for s in stages}]
    versions = dict(manifest.adapter_versions)
    flat = manifest.adapter_version
    for stage in stages:
        runs.append(_summary(paths, stage, seed=seed, revision=revision, pinned=pinned))
        if stage.adapter_name is None:
            flat = stage.adapter_version
        else:
            versions[stage.adapter_name] = stage.adapter_version
    updated = replace_fields(
        manifest, training_runs=runs, adapter_version=flat, adapter_versions=versions,
        content_hashes={sid: sid for sid in section_ids}, pinned_versions=dict(pinned), updated_at=utc_now(),
    )
    save_manifest(paths.manifest, updated)
    return updated


def _summary(
    paths: StorePaths, stage: FinishedStage, *, seed: int, revision: str | None, pinned: Mapping[str, str]
) -> TrainingRunSummary:
    return TrainingRunSummary(
        run_id=stage.run_id,
        started_at=stage.started_at,
        ended_at=stage.ended_at,
        adapter_version=stage.adapter_version,
        base_model_revision=revision,
        seed=seed,
        steps=stage.steps,
        final_train_loss=stage.final_train_loss,
        final_val_loss=stage.final_val_loss,
        status="completed",
        pinned_versions=dict(pinned),
        summary_path=paths.relative(stage.summary_path),
        adapter_name=stage.adapter_name,
        weight_distribution={k: dict(v) for k, v in stage.weight_distribution.items()}
        if stage.weight_distribution is not None else None,
    )
