"""What a document's store says about its training: past runs, an interrupted run to resume, current versions.

`read_store_state` joins `metrics.sqlite` (every run, its steps and evals, written while it trains, so
cancelled, failed and interrupted runs are there too) with `manifest.json` (adapter name and version of the
completed runs) and the checkpoint's metadata (what Resume would continue). Runs on the Train pane's
background thread; Qt-free; never raises: an unreadable store becomes `problem`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from statistics import fmean

from dlm_desktop.core.errors import DlmDesktopError
from dlm_desktop.core.store.manifest import TrainingRunSummary, load_manifest
from dlm_desktop.core.store.metrics import MetricsDB, RunRecord
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.store.versions import current_version_number
from dlm_desktop.core.training import CheckpointMeta, read_checkpoint_meta

MAX_RUNS_SHOWN = 50


@dataclass(frozen=True)
class RunRow:
    """One training run (one adapter stage) as the history table shows it. `status` as in metrics.sqlite:
    `running`, `ok`, `failed` or `cancelled` (a `running` run nobody trains any more was interrupted)."""

    run_id: int
    adapter: str
    started_at: datetime | None
    duration_s: float | None
    status: str
    steps: int
    train_loss: float | None
    val_loss: float | None
    version: int | None
    tokens_per_second: float | None


@dataclass(frozen=True)
class CheckpointInfo:
    """The interrupted run Resume continues: the stage it stopped in, its steps done of its total."""

    adapter: str
    steps: int
    total_steps: int
    stage_index: int
    stage_count: int
    saved_at: str

    def describe(self) -> str:
        if self.stage_index >= self.stage_count:
            return "every adapter is trained; the gate is left"
        who = "" if self.adapter == "default" else f"adapter “{self.adapter}”, "
        return f"{who}step {self.steps} of {self.total_steps}"


@dataclass(frozen=True)
class StoreState:
    """Newest run first. `tokens_per_second` is the mean speed of the newest completed run (None: none yet)."""

    store: Path | None = None
    runs: tuple[RunRow, ...] = ()
    checkpoint: CheckpointInfo | None = None
    current_versions: dict[str, int] = field(default_factory=dict)
    tokens_per_second: float | None = None
    problem: str | None = None


def read_store_state(dlm_id: str, home: Path | str | None = None) -> StoreState:
    """The store of document `dlm_id` under `home` (default: `$DLM_HOME` or the platform's)."""
    try:
        paths = StorePaths.for_dlm(dlm_id, home=home)
        if not paths.exists():
            return StoreState(store=paths.root)
        return _read(paths)
    except DlmDesktopError as exc:
        return StoreState(problem=exc.one_line())
    except OSError as exc:
        return StoreState(problem=f"cannot read the training history: {exc}")


def _read(paths: StorePaths) -> StoreState:
    meta = read_checkpoint_meta(paths)
    summaries = _summaries(paths)
    adapters = {stage.run_id: stage.adapter for stage in meta.stages} if meta is not None else {}
    metrics = MetricsDB.for_store(paths)
    records = list(reversed(metrics.list_runs()))[:MAX_RUNS_SHOWN]
    runs = tuple(_row(metrics, record, summaries.get(record.run_id), adapters) for record in records)
    speed = next((run.tokens_per_second for run in runs if run.status == "ok" and run.tokens_per_second), None)
    return StoreState(
        store=paths.root, runs=runs, checkpoint=_checkpoint(meta), current_versions=_versions(paths, summaries),
        tokens_per_second=speed,
    )


def _summaries(paths: StorePaths) -> dict[int, TrainingRunSummary]:
    if not paths.manifest.exists():
        return {}
    return {run.run_id: run for run in load_manifest(paths.manifest).training_runs}


def _row(metrics: MetricsDB, record: RunRecord, summary: TrainingRunSummary | None, adapters: dict[int, str]) -> RunRow:
    steps = metrics.steps_for_run(record.run_id)
    evals = metrics.evals_for_run(record.run_id)
    started, ended = _parse(record.started_at), _parse(record.ended_at)
    speeds = [step.tokens_per_sec for step in steps if step.tokens_per_sec]
    adapter = (summary.adapter_name if summary is not None else None) or adapters.get(record.run_id) or "default"
    return RunRow(
        run_id=record.run_id,
        adapter=adapter,
        started_at=started,
        duration_s=(ended - started).total_seconds() if started and ended else None,
        status=record.status or "running",
        steps=steps[-1].step if steps else 0,
        train_loss=steps[-1].loss if steps else None,
        val_loss=evals[-1].val_loss if evals else None,
        version=summary.adapter_version if summary is not None else record.adapter_version,
        tokens_per_second=fmean(speeds) if speeds else None,
    )


def _checkpoint(meta: CheckpointMeta | None) -> CheckpointInfo | None:
    if meta is None or not meta.stages:
        return None
    index = min(meta.stage_index, len(meta.stages) - 1)
    stage = meta.stages[index]
    return CheckpointInfo(stage.adapter, stage.steps, stage.total_steps, meta.stage_index, len(meta.stages),
                          meta.saved_at)


def _versions(paths: StorePaths, summaries: dict[int, TrainingRunSummary]) -> dict[str, int]:
    names = {summary.adapter_name for summary in summaries.values()}
    found: dict[str, int] = {}
    for name in sorted(names, key=lambda n: n or ""):
        number = current_version_number(paths, name)
        if number is not None:
            found[name or "default"] = number
    return found


def _parse(stamp: str | None) -> datetime | None:
    """metrics.sqlite's `YYYY-MM-DDTHH:MM:SSZ` (UTC) as an aware datetime."""
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
