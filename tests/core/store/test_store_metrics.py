"""metrics.sqlite in upstream's tables (SPEC-upstream §4.6, §9)."""

from __future__ import annotations

import json
import re
import sqlite3
import threading

import pytest

from dlm_desktop.core.store.errors import MetricsError
from dlm_desktop.core.store.metrics import (
    EvalRecord,
    ExportRecord,
    GateEventRecord,
    MetricsDB,
    StepRecord,
    iso_z,
)

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UPSTREAM_COLUMNS = {
    "runs": ["run_id", "started_at", "ended_at", "adapter_version", "phase", "seed", "status"],
    "steps": ["run_id", "step", "loss", "lr", "grad_norm", "tokens_per_sec", "peak_vram_mb", "at"],
    "evals": ["run_id", "step", "val_loss", "perplexity", "retention", "at"],
    "exports": ["exported_at", "quant", "merged", "ollama_name", "size_bytes", "duration_s"],
    "tokenization": [
        "run_id", "total_sections", "cache_hits", "cache_misses", "total_tokenize_seconds", "cache_bytes_after", "at",
    ],
    "gate_events": ["run_id", "adapter_name", "mean_weight", "sample_count", "mode", "at"],
    "preference_mining": [
        "event_id", "run_id", "judge_name", "sample_count", "mined_pairs", "skipped_prompts", "write_mode", "at",
    ],
}

_DESCRIBE_SCHEMA = """
import json, sqlite3, sys


def describe(path):
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    return {
        "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
        "tables": {
            t: {
                "columns": [list(r) for r in conn.execute(f"PRAGMA table_info({t})")],
                "foreign_keys": [list(r) for r in conn.execute(f"PRAGMA foreign_key_list({t})")],
                "indexes": [[r[2], r[3]] for r in conn.execute(f"PRAGMA index_list({t})")],
            }
            for t in tables
        },
    }


if __name__ == "__main__":
    print(json.dumps(describe(sys.argv[1])))
"""


def _describe(db_path) -> dict:
    namespace: dict = {"__name__": "describe"}
    exec(_DESCRIBE_SCHEMA, namespace)
    return json.loads(json.dumps(namespace["describe"](str(db_path))))


@pytest.fixture
def db(store) -> MetricsDB:
    return MetricsDB.for_store(store, strict=True)


def test_tables_and_columns_are_upstreams(db):
    db.record_run_start(1, phase="sft", seed=42)
    described = _describe(db.path)
    assert described["journal_mode"] == "wal"
    columns = {t: [c[1] for c in info["columns"]] for t, info in described["tables"].items()}
    assert {t: cols for t, cols in columns.items() if t != "sqlite_sequence"} == UPSTREAM_COLUMNS
    gate_pk = [c[1] for c in sorted(described["tables"]["gate_events"]["columns"], key=lambda c: c[5]) if c[5]]
    assert gate_pk == ["run_id", "adapter_name"]


def test_schema_is_identical_to_the_one_upstream_creates(db, tmp_path, run_upstream):
    db.record_run_start(1, phase="sft", seed=42)
    upstream_root = tmp_path / "upstream-store"
    run_upstream(
        "import sys\nfrom pathlib import Path\nfrom dlm.metrics.db import connect\n"
        "with connect(Path(sys.argv[1])): pass\n",
        str(upstream_root),
    )
    assert _describe(db.path) == json.loads(run_upstream(_DESCRIBE_SCHEMA, str(upstream_root / "metrics.sqlite")))


def test_run_lifecycle_steps_and_evals(db):
    db.record_run_start(1, phase="sft", seed=42, adapter_version=1)
    for step in (1, 2, 3):
        db.record_step(StepRecord(run_id=1, step=step, loss=2.0 / step, lr=1e-4, tokens_per_sec=900.0))
    db.record_eval(EvalRecord(run_id=1, step=3, val_loss=1.1, perplexity=3.0))
    db.record_run_end(1, "ok")

    (run,) = db.list_runs()
    assert (run.run_id, run.adapter_version, run.phase, run.seed, run.status) == (1, 1, "sft", 42, "ok")
    assert ISO_Z.match(run.started_at) and ISO_Z.match(run.ended_at)
    steps = db.steps_for_run(1)
    assert [(s.step, s.loss) for s in steps] == [(1, 2.0), (2, 1.0), (3, 2.0 / 3)]
    assert all(ISO_Z.match(s.at) for s in steps)
    assert [s.step for s in db.steps_for_run(1, since_step=2)] == [3]
    assert db.evals_for_run(1) == [EvalRecord(1, 3, 1.1, 3.0, None, db.evals_for_run(1)[0].at)]
    assert db.latest_run_id() == 1


def test_restarting_a_run_keeps_its_steps_and_resets_status(db):
    db.record_run_start(1, phase="sft", seed=1)
    db.record_step(StepRecord(run_id=1, step=1, loss=1.0))
    db.record_run_end(1, "cancelled")
    db.record_run_start(1, phase="sft", seed=1)  # resume under the same id: no foreign-key failure
    (run,) = db.list_runs()
    assert run.status == "running" and run.ended_at is None
    assert len(db.steps_for_run(1)) == 1


def _uniform(run_id: int, *names: str) -> list[GateEventRecord]:
    return [GateEventRecord(run_id, name, 1 / len(names), 1, "uniform") for name in names]


def test_gate_events_insert_or_replace_and_latest_run_only(db):
    db.record_run_start(1, phase="sft", seed=1)
    db.record_run_start(2, phase="sft", seed=1)
    db.record_gate_events(_uniform(1, "lexer", "runtime"))
    db.record_gate_events(_uniform(2, "runtime", "lexer"))
    trained = [GateEventRecord(2, "lexer", 0.7, 9, "trained"), GateEventRecord(2, "runtime", 0.3, 9, "trained")]
    db.record_gate_events(trained)
    latest = db.latest_gate_events()
    assert [(e.run_id, e.adapter_name, e.mean_weight, e.sample_count, e.mode) for e in latest] == [
        (2, "lexer", 0.7, 9, "trained"),
        (2, "runtime", 0.3, 9, "trained"),
    ]
    assert all(ISO_Z.match(e.at) for e in latest)
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM gate_events").fetchone()[0] == 4


def test_upstream_reads_our_rows(db, store, run_upstream):
    db.record_run_start(1, phase="sft", seed=42, adapter_version=1)
    db.record_step(StepRecord(run_id=1, step=5, loss=0.25))
    db.record_gate_events(_uniform(1, "lexer", "runtime"))
    db.record_run_end(1, "ok")
    out = run_upstream(
        """
        import json, sys
        from pathlib import Path
        from dlm.metrics import queries
        root = Path(sys.argv[1])
        print(json.dumps([
            [[r.run_id, r.status, r.phase] for r in queries.recent_runs(root)],
            [[s.step, s.loss] for s in queries.steps_for_run(root, 1)],
            [[g.adapter_name, g.mean_weight, g.sample_count, g.mode] for g in queries.latest_gate_events(root)],
        ]))
        """,
        str(store.root),
    )
    assert json.loads(out) == [
        [[1, "ok", "sft"]],
        [[5, 0.25]],
        [["lexer", 0.5, 1, "uniform"], ["runtime", 0.5, 1, "uniform"]],
    ]


def test_foreign_keys_are_enforced(db, store):
    with pytest.raises(MetricsError):
        db.record_step(StepRecord(run_id=99, step=1, loss=1.0))
    with pytest.raises(MetricsError):
        db.record_gate_events([GateEventRecord(99, "a", 0.5, 1, "uniform")])
    lenient = MetricsDB.for_store(store)  # best effort: logged, not raised
    lenient.record_step(StepRecord(run_id=99, step=1, loss=1.0))
    assert lenient.steps_for_run(99) == []


def test_anchor_writes_always_raise(store):
    lenient = MetricsDB.for_store(store)
    with pytest.raises(MetricsError, match="no run 5"):
        lenient.record_run_end(5, "ok")
    with pytest.raises(MetricsError):
        lenient.record_run_start(1, phase="pretrain", seed=1)  # not a phase upstream knows
    with pytest.raises(MetricsError):
        lenient.record_run_end(1, "completed")  # the manifest's word, not the metrics table's


def test_exports_row(db):
    db.record_export(ExportRecord(quant="Q4_K_M", merged=True, ollama_name="doc", size_bytes=10, duration_s=1.5,
                                  exported_at="2026-04-24T10:18:42Z"))
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("SELECT * FROM exports").fetchall() == [
            ("2026-04-24T10:18:42Z", "Q4_K_M", 1, "doc", 10, 1.5)
        ]


def test_reading_a_missing_database_creates_nothing(db):
    assert db.list_runs() == [] and db.latest_gate_events() == [] and db.latest_run_id() is None
    assert db.steps_for_run(1) == [] and db.evals_for_run(1) == []
    assert not db.path.exists()


def test_iso_z_converts_to_utc():
    from datetime import datetime, timedelta, timezone

    assert iso_z(datetime(2026, 1, 1, 12, 0, 0, 999, tzinfo=timezone(timedelta(hours=2)))) == "2026-01-01T10:00:00Z"
    assert iso_z(datetime(2026, 1, 1, 12, 0, 0)) == "2026-01-01T12:00:00Z"
    assert ISO_Z.match(iso_z())


def test_trainer_thread_writes_while_another_thread_reads(db):
    db.record_run_start(1, phase="sft", seed=1)
    done = threading.Event()
    errors: list[BaseException] = []

    def trainer():
        try:
            for step in range(1, 101):
                db.record_step(StepRecord(run_id=1, step=step, loss=1.0 / step))
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=trainer)
    thread.start()
    seen, reads = 0, 0
    while not done.is_set() or reads == 0:
        new = db.steps_for_run(1, since_step=seen)
        assert [s.step for s in new] == list(range(seen + 1, seen + 1 + len(new)))  # never a gap or a torn read
        seen += len(new)
        reads += 1
    thread.join()
    assert errors == []
    seen += len(db.steps_for_run(1, since_step=seen))
    assert seen == 100
