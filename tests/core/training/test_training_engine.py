"""The training engine on a tiny real model (CPU): what a run leaves in the store, exact resume after a
cancel, upstream's resume from the current weights, rejection of a diverged run, and the store lock."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from dlm_desktop.core.store.errors import StoreLockedError
from dlm_desktop.core.store.manifest import load_manifest
from dlm_desktop.core.store.metrics import MetricsDB
from dlm_desktop.core.store.versions import resolve_current
from dlm_desktop.core.training import (
    CheckpointSaved,
    EvalCompleted,
    Notice,
    StageStarted,
    StepCompleted,
    TrainingDivergedError,
    TrainRequest,
    checkpoint_dir,
    read_checkpoint_meta,
    train_document,
)
from tests.core.training.training_helpers import adapter_tensors, drain, store_for, tiny_document
from tests.tiny_models import tiny_chat_model_dir  # noqa: F401  (fixture)


def _request(doc: Path, model: Path, home: Path, **kwargs) -> TrainRequest:
    return TrainRequest(doc, base=str(model), home=home, **kwargs)


def _steps(events) -> list[StepCompleted]:
    return [event for event in events if isinstance(event, StepCompleted)]


def test_a_run_fills_the_store_like_upstream(tmp_path, tiny_chat_model_dir):
    doc = tiny_document(tmp_path / "doc")
    before = doc.read_bytes()
    home = tmp_path / "home"
    events, result = drain(train_document(_request(doc, tiny_chat_model_dir, home)))

    assert result.status == "ok" and result.steps == 6 == len(_steps(events))
    assert [e.step for e in _steps(events)] == [1, 2, 3, 4, 5, 6]
    assert all(e.total == 6 and e.adapter == "default" for e in _steps(events))
    assert len([e for e in events if isinstance(e, EvalCompleted)]) == 6  # a quarter of 6 steps rounds to 1
    assert result.final_val_loss is not None and result.first_loss is not None
    paths = store_for(home)
    assert result.adapters == {"default": paths.version_dir(1)}
    assert paths.current_pointer().read_text() == "adapter/versions/v0001\n"
    _assert_version_files(paths.version_dir(1))
    _assert_run_records(paths, result)
    assert read_checkpoint_meta(paths) is None and not checkpoint_dir(paths).exists()
    assert doc.read_bytes() == before

    _, second = drain(train_document(_request(doc, tiny_chat_model_dir, home)))
    assert second.adapters == {"default": paths.version_dir(2)}
    assert [r.run_id for r in load_manifest(paths.manifest).training_runs] == [1, 2]


def _assert_version_files(version: Path) -> None:
    expected = {"adapter_config.json", "adapter_model.safetensors", "tokenizer_config.json", "chat_template.jinja",
                "training_state.pt", "training_state.pt.sha256", "training_state.rng.json",
                "pinned_versions.json", "training_run.json"}
    assert expected <= {p.name for p in version.iterdir()}
    digest = hashlib.sha256((version / "training_state.pt").read_bytes()).hexdigest()
    assert (version / "training_state.pt.sha256").read_text() == digest + "\n"
    config = json.loads((version / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], config["lora_dropout"]) == (8, 16, 0.05)
    assert sorted(config["target_modules"]) == ["k_proj", "o_proj", "q_proj", "v_proj"]
    assert json.loads((version / "training_run.json").read_text()) == {"use_qlora": False}


def _assert_run_records(paths, result) -> None:
    manifest = load_manifest(paths.manifest)
    (run,) = manifest.training_runs
    assert (run.run_id, run.adapter_version, run.steps, run.status, run.adapter_name) == (1, 1, 6, "completed", None)
    assert run.final_train_loss == pytest.approx(result.final_train_loss)
    assert (paths.root / run.summary_path).is_file()
    assert manifest.adapter_version == 1 and manifest.content_hashes
    metrics = MetricsDB.for_store(paths)
    (record,) = metrics.list_runs()
    assert (record.status, record.adapter_version, record.phase) == ("ok", 1, "sft")
    assert [s.step for s in metrics.steps_for_run(1)] == [1, 2, 3, 4, 5, 6]
    assert len(metrics.evals_for_run(1)) == 6
    log = next(paths.logs.glob("train-000001-*.jsonl")).read_text().splitlines()
    assert json.loads(log[0])["type"] == "banner" and json.loads(log[-1])["type"] == "run_complete"


def test_the_committed_adapter_loads_with_peft_and_changes_the_model(tmp_path, tiny_chat_model_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    doc = tiny_document(tmp_path / "doc")
    _, result = drain(train_document(_request(doc, tiny_chat_model_dir, tmp_path / "home")))
    base = AutoModelForCausalLM.from_pretrained(str(tiny_chat_model_dir))
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    with torch.no_grad():
        plain = base(ids).logits
        tuned = PeftModel.from_pretrained(base, str(result.adapters["default"])).eval()
        adapted = tuned(ids).logits
    assert not torch.allclose(plain, adapted)


def test_cancel_then_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path, tiny_chat_model_dir):
    doc = tiny_document(tmp_path / "doc")
    straight_events, straight = drain(train_document(_request(doc, tiny_chat_model_dir, tmp_path / "a")))

    flag = [False]
    home = tmp_path / "b"
    job = train_document(_request(doc, tiny_chat_model_dir, home), should_stop=lambda: flag[0])
    events, cancelled = drain(job, stop_when=lambda e: isinstance(e, StepCompleted) and e.step == 4, flag=flag)
    assert cancelled.status == "cancelled" and cancelled.steps == 4 and cancelled.adapters == {}
    assert any(isinstance(e, CheckpointSaved) and e.reason == "cancel" and e.step == 4 for e in events)
    paths = store_for(home)
    assert resolve_current(paths) is None and cancelled.checkpoint == checkpoint_dir(paths)
    assert MetricsDB.for_store(paths).list_runs()[0].status == "cancelled"

    resumed_events, resumed = drain(train_document(_request(doc, tiny_chat_model_dir, home, resume=True)))
    started = next(e for e in resumed_events if isinstance(e, StageStarted))
    assert started.resumed_from_step == 4
    assert [e.step for e in _steps(resumed_events)] == [5, 6]
    assert [e.loss for e in _steps(resumed_events)] == [e.loss for e in _steps(straight_events)][4:]
    assert resumed.status == "ok" and resumed.steps == 6

    _assert_identical_versions(straight.adapters["default"], resumed.adapters["default"])
    (run,) = load_manifest(paths.manifest).training_runs
    assert run.run_id == 1 and run.steps == 6
    assert [s.step for s in MetricsDB.for_store(paths).steps_for_run(1)] == [1, 2, 3, 4, 5, 6]
    assert read_checkpoint_meta(paths) is None


def _assert_identical_versions(first: Path, second: Path) -> None:
    """Every adapter tensor and every AdamW moment of two version folders are bit-identical."""
    import torch

    expected, actual = adapter_tensors(first), adapter_tensors(second)
    assert expected.keys() == actual.keys() and expected
    for name in expected:
        assert torch.equal(expected[name], actual[name]), name
    states = [torch.load(folder / "training_state.pt", weights_only=True) for folder in (first, second)]
    moments = [state["optimizer_state_dict"]["state"].values() for state in states]
    assert len(moments[0]) == len(moments[1]) > 0
    for a, b in zip(*moments):
        assert torch.equal(a["exp_avg"], b["exp_avg"]) and torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])


def test_resume_after_the_document_changed_starts_over_from_the_current_weights(tmp_path, tiny_chat_model_dir):
    doc = tiny_document(tmp_path / "doc")
    home = tmp_path / "home"
    flag = [False]
    job = train_document(_request(doc, tiny_chat_model_dir, home), should_stop=lambda: flag[0])
    drain(job, stop_when=lambda e: isinstance(e, StepCompleted) and e.step == 2, flag=flag)
    tiny_document(tmp_path / "doc", learning_rate="0.02")

    events, result = drain(train_document(_request(doc, tiny_chat_model_dir, home, resume=True)))
    assert any(isinstance(e, Notice) and "changed since" in e.message for e in events)
    assert next(e for e in events if isinstance(e, StageStarted)).resumed_from_step == 0
    assert result.status == "ok" and result.steps == 6


def test_resume_without_a_checkpoint_continues_from_the_current_adapter(tmp_path, tiny_chat_model_dir):
    doc = tiny_document(tmp_path / "doc")
    home = tmp_path / "home"
    _, first = drain(train_document(_request(doc, tiny_chat_model_dir, home)))
    events, second = drain(train_document(_request(doc, tiny_chat_model_dir, home, resume=True)))
    assert any(isinstance(e, Notice) and "continues from adapter/versions/v0001" in e.message for e in events)
    # the same first batch (same seed), but from trained weights: it starts lower
    assert second.first_loss < first.first_loss
    assert second.adapters == {"default": store_for(home).version_dir(2)}


def test_a_diverged_run_is_rejected_and_the_previous_version_stays_current(tmp_path, tiny_chat_model_dir):
    doc = tiny_document(tmp_path / "doc")
    home = tmp_path / "home"
    drain(train_document(_request(doc, tiny_chat_model_dir, home)))
    tiny_document(tmp_path / "doc", learning_rate="1.0e+30")
    paths = store_for(home)

    with pytest.raises(TrainingDivergedError) as caught:
        drain(train_document(_request(doc, tiny_chat_model_dir, home)))
    assert caught.value.rejected_dir == paths.versions_dir() / "v0002-rejected"
    assert (caught.value.rejected_dir / "adapter_model.safetensors").is_file()
    assert resolve_current(paths) == paths.version_dir(1)
    assert [r.run_id for r in load_manifest(paths.manifest).training_runs] == [1]
    assert [(r.run_id, r.status) for r in MetricsDB.for_store(paths).list_runs()] == [(1, "ok"), (2, "failed")]
    assert read_checkpoint_meta(paths) is None


def test_a_second_trainer_of_the_same_document_is_refused(tmp_path, tiny_chat_model_dir):
    doc = tiny_document(tmp_path / "doc")
    home = tmp_path / "home"
    first = train_document(_request(doc, tiny_chat_model_dir, home))
    while not isinstance(next(first), StepCompleted):
        pass
    with pytest.raises(StoreLockedError):
        next(train_document(_request(doc, tiny_chat_model_dir, home)))
    first.close()  # abandoning the job releases the lock and marks its run cancelled
    assert MetricsDB.for_store(store_for(home)).list_runs()[0].status == "cancelled"
    _, result = drain(train_document(_request(doc, tiny_chat_model_dir, home, max_steps=1)))
    assert result.status == "ok"


def test_mask_off_trains_on_the_whole_transcript(tmp_path, tiny_chat_model_dir):
    doc = tiny_document(tmp_path / "doc")
    masked = [e for e in drain(train_document(_request(doc, tiny_chat_model_dir, tmp_path / "a", max_steps=1)))[0]
              if isinstance(e, StepCompleted)]
    whole = [e for e in drain(train_document(
        _request(doc, tiny_chat_model_dir, tmp_path / "b", max_steps=1, mask_prompt_tokens=False)))[0]
        if isinstance(e, StepCompleted)]
    assert masked[0].loss != whole[0].loss


def test_metrics_rows_survive_for_the_gui_while_running(tmp_path, tiny_chat_model_dir):
    doc = tiny_document(tmp_path / "doc")
    home = tmp_path / "home"
    job = train_document(_request(doc, tiny_chat_model_dir, home))
    while not (isinstance(event := next(job), StepCompleted) and event.step == 2):
        pass
    db = store_for(home).metrics_db
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM runs").fetchall() == [("running",)]
        assert conn.execute("SELECT step FROM steps ORDER BY step").fetchall() == [(1,), (2,)]
    job.close()
