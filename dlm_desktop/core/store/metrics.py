"""`metrics.sqlite`: run history, loss curves, evals and gate events, in upstream `dlm`'s tables.

The database is in WAL mode with `foreign_keys=ON`, so one writer (the trainer thread) and many readers (the
GUI, `dlm metrics` in another process) work at once. Every call opens and closes its own connection, which
makes a `MetricsDB` safe to share between threads. Timestamps are ISO 8601 UTC strings ending in `Z`.

Failure policy (upstream's): run start and run end are anchor rows and always raise `MetricsError`; step,
eval, gate and export rows are best effort (logged once per kind) unless the database is opened `strict`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from dlm_desktop.core.store.errors import MetricsError
from dlm_desktop.core.store.paths import StorePaths

_LOG = logging.getLogger(__name__)

Phase = Literal["sft", "dpo", "orpo", "cpt"]
RunStatus = Literal["running", "ok", "failed", "cancelled"]
GateMode = Literal["trained", "uniform", "diverged"]
_PHASES = ("sft", "dpo", "orpo", "cpt")
_STATUSES = ("running", "ok", "failed", "cancelled")
_GATE_MODES = ("trained", "uniform", "diverged")
_BUSY_TIMEOUT_S = 30.0

SCHEMA_SQL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS runs (
        run_id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, ended_at TEXT, adapter_version INTEGER,
        phase TEXT, seed INTEGER, status TEXT)""",
    """CREATE TABLE IF NOT EXISTS steps (
        run_id INTEGER NOT NULL REFERENCES runs(run_id), step INTEGER NOT NULL, loss REAL, lr REAL,
        grad_norm REAL, tokens_per_sec REAL, peak_vram_mb INTEGER, at TEXT NOT NULL,
        PRIMARY KEY (run_id, step))""",
    """CREATE TABLE IF NOT EXISTS evals (
        run_id INTEGER NOT NULL REFERENCES runs(run_id), step INTEGER NOT NULL, val_loss REAL,
        perplexity REAL, retention REAL, at TEXT NOT NULL, PRIMARY KEY (run_id, step))""",
    """CREATE TABLE IF NOT EXISTS exports (
        exported_at TEXT PRIMARY KEY, quant TEXT, merged INTEGER, ollama_name TEXT, size_bytes INTEGER,
        duration_s REAL)""",
    """CREATE TABLE IF NOT EXISTS tokenization (
        run_id INTEGER PRIMARY KEY REFERENCES runs(run_id), total_sections INTEGER NOT NULL,
        cache_hits INTEGER NOT NULL, cache_misses INTEGER NOT NULL, total_tokenize_seconds REAL NOT NULL,
        cache_bytes_after INTEGER NOT NULL, at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS gate_events (
        run_id INTEGER NOT NULL REFERENCES runs(run_id), adapter_name TEXT NOT NULL, mean_weight REAL NOT NULL,
        sample_count INTEGER NOT NULL, mode TEXT NOT NULL, at TEXT NOT NULL,
        PRIMARY KEY (run_id, adapter_name))""",
    """CREATE TABLE IF NOT EXISTS preference_mining (
        event_id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL, judge_name TEXT NOT NULL,
        sample_count INTEGER NOT NULL, mined_pairs INTEGER NOT NULL, skipped_prompts INTEGER NOT NULL,
        write_mode TEXT NOT NULL, at TEXT NOT NULL)""",
)


def iso_z(when: datetime | None = None) -> str:
    """`when` (default now) as `YYYY-MM-DDTHH:MM:SSZ` in UTC; a naive `when` is taken as UTC."""
    when = datetime.now(UTC) if when is None else when
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


@dataclass(frozen=True)
class RunRecord:
    """One row of `runs`."""

    run_id: int
    started_at: str
    ended_at: str | None
    adapter_version: int | None
    phase: str | None
    seed: int | None
    status: str | None


@dataclass(frozen=True)
class StepRecord:
    """One row of `steps`: a logged training step."""

    run_id: int
    step: int
    loss: float | None
    lr: float | None = None
    grad_norm: float | None = None
    tokens_per_sec: float | None = None
    peak_vram_mb: int | None = None
    at: str = field(default_factory=iso_z)


@dataclass(frozen=True)
class EvalRecord:
    """One row of `evals`: a validation pass."""

    run_id: int
    step: int
    val_loss: float | None = None
    perplexity: float | None = None
    retention: float | None = None
    at: str = field(default_factory=iso_z)


@dataclass(frozen=True)
class GateEventRecord:
    """One row of `gate_events`: an adapter's mean gate weight after a gate training (or its fallback)."""

    run_id: int
    adapter_name: str
    mean_weight: float
    sample_count: int
    mode: GateMode
    at: str = field(default_factory=iso_z)


@dataclass(frozen=True)
class ExportRecord:
    """One row of `exports`."""

    quant: str
    merged: bool
    ollama_name: str | None
    size_bytes: int
    duration_s: float
    exported_at: str = field(default_factory=iso_z)


class MetricsDB:
    """Typed access to one store's `metrics.sqlite`. Cheap to create; safe to share between threads."""

    def __init__(self, path: Path | str, *, strict: bool = False) -> None:
        self.path = Path(path)
        self.strict = strict
        self._reported: set[str] = set()
        self._reported_lock = threading.Lock()

    @classmethod
    def for_store(cls, paths: StorePaths, *, strict: bool = False) -> "MetricsDB":
        """The metrics database of a store (`<store>/metrics.sqlite`)."""
        return cls(paths.metrics_db, strict=strict)

    # --- connections -------------------------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            for statement in SCHEMA_SQL:
                conn.execute(statement)
            yield conn
        finally:
            conn.close()

    def _write(self, kind: str, action: Callable[[sqlite3.Connection], None], *, anchor: bool) -> None:
        try:
            with self._connection() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    action(conn)
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if anchor or self.strict:
                raise MetricsError(f"cannot record {kind} in metrics: {exc}", path=self.path, fix=_FIX) from exc
            self._report_once(kind, exc)

    def _report_once(self, kind: str, exc: sqlite3.Error) -> None:
        with self._reported_lock:
            if kind in self._reported:
                return
            self._reported.add(kind)
        _LOG.error("metrics: writing %s failed: %s (best effort; later failures are not logged)", kind, exc)

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        if not self.path.exists():
            return []
        try:
            with self._connection() as conn:
                return conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise MetricsError(f"cannot read metrics: {exc}", path=self.path, fix=_FIX) from exc

    # --- writes ------------------------------------------------------------------------------------------------

    def record_run_start(
        self,
        run_id: int,
        *,
        phase: Phase,
        seed: int,
        adapter_version: int | None = None,
        started_at: str | None = None,
    ) -> None:
        """Insert (or restart) run `run_id` with status `running`. Raises `MetricsError` on failure."""
        _check_choice("phase", phase, _PHASES)
        row = (run_id, started_at or iso_z(), adapter_version, phase, seed)
        self._write("run start", lambda conn: conn.execute(_UPSERT_RUN, row), anchor=True)

    def record_run_end(self, run_id: int, status: RunStatus, *, ended_at: str | None = None) -> None:
        """Set a run's end time and final status (`ok`, `failed`, `cancelled`). Raises on failure."""
        _check_choice("status", status, _STATUSES)

        def action(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "UPDATE runs SET ended_at = ?, status = ? WHERE run_id = ?", (ended_at or iso_z(), status, run_id)
            )
            if cursor.rowcount == 0:
                raise sqlite3.IntegrityError(f"no run {run_id} was started")

        self._write("run end", action, anchor=True)

    def record_step(self, step: StepRecord) -> None:
        """Insert or replace one step row."""
        sql = (
            "INSERT OR REPLACE INTO steps (run_id, step, loss, lr, grad_norm, tokens_per_sec, peak_vram_mb, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._write("step", lambda conn: conn.execute(sql, astuple(step)), anchor=False)

    def record_eval(self, evaluation: EvalRecord) -> None:
        """Insert or replace one eval row."""
        sql = (
            "INSERT OR REPLACE INTO evals (run_id, step, val_loss, perplexity, retention, at) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        self._write("eval", lambda conn: conn.execute(sql, astuple(evaluation)), anchor=False)

    def record_gate_events(self, events: Sequence[GateEventRecord]) -> None:
        """Insert or replace the gate rows (one per declared adapter) in one transaction."""
        for event in events:
            _check_choice("gate mode", event.mode, _GATE_MODES)
        sql = (
            "INSERT OR REPLACE INTO gate_events (run_id, adapter_name, mean_weight, sample_count, mode, at) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        self._write("gate events", lambda conn: conn.executemany(sql, [astuple(e) for e in events]), anchor=False)

    def record_export(self, export: ExportRecord) -> None:
        """Insert or replace one export row (keyed by `exported_at`)."""
        sql = (
            "INSERT OR REPLACE INTO exports (exported_at, quant, merged, ollama_name, size_bytes, duration_s) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        row = (export.exported_at, export.quant, int(export.merged), export.ollama_name, export.size_bytes,
               export.duration_s)
        self._write("export", lambda conn: conn.execute(sql, row), anchor=False)

    # --- reads -------------------------------------------------------------------------------------------------

    def list_runs(self) -> list[RunRecord]:
        """Every run, oldest first."""
        rows = self._read(
            "SELECT run_id, started_at, ended_at, adapter_version, phase, seed, status FROM runs ORDER BY run_id"
        )
        return [RunRecord(*row) for row in rows]

    def latest_run_id(self) -> int | None:
        """The highest run id recorded, or None."""
        rows = self._read("SELECT MAX(run_id) FROM runs")
        return rows[0][0] if rows else None

    def steps_for_run(self, run_id: int, *, since_step: int = 0) -> list[StepRecord]:
        """Steps of `run_id` after `since_step`, in step order (poll with the last step seen)."""
        rows = self._read(
            "SELECT run_id, step, loss, lr, grad_norm, tokens_per_sec, peak_vram_mb, at FROM steps "
            "WHERE run_id = ? AND step > ? ORDER BY step",
            (run_id, since_step),
        )
        return [StepRecord(*row) for row in rows]

    def evals_for_run(self, run_id: int, *, since_step: int = 0) -> list[EvalRecord]:
        """Evals of `run_id` after `since_step`, in step order."""
        rows = self._read(
            "SELECT run_id, step, val_loss, perplexity, retention, at FROM evals "
            "WHERE run_id = ? AND step > ? ORDER BY step",
            (run_id, since_step),
        )
        return [EvalRecord(*row) for row in rows]

    def latest_gate_events(self) -> list[GateEventRecord]:
        """The gate rows of the most recent run that has any, ordered by adapter name; [] when none."""
        rows = self._read(
            "SELECT run_id, adapter_name, mean_weight, sample_count, mode, at FROM gate_events "
            "WHERE run_id = (SELECT MAX(run_id) FROM gate_events) ORDER BY adapter_name"
        )
        return [GateEventRecord(*row) for row in rows]


_FIX = "check that the store folder is writable and the disk is not full; close other programs using metrics.sqlite"

_UPSERT_RUN = (
    "INSERT INTO runs (run_id, started_at, ended_at, adapter_version, phase, seed, status) "
    "VALUES (?, ?, NULL, ?, ?, ?, 'running') "
    "ON CONFLICT(run_id) DO UPDATE SET started_at = excluded.started_at, ended_at = NULL, "
    "adapter_version = excluded.adapter_version, phase = excluded.phase, seed = excluded.seed, status = 'running'"
)


def _check_choice(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise MetricsError(f"{what} {value!r} is not one of {', '.join(allowed)}", fix="this is a bug in the caller")
