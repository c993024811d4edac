"""Training on the MLX runtime (`DLM_DESKTOP_BACKEND=mlx`): the engine's events and store versions, PEFT
adapters that torch reads with the same logits, cancel with a checkpoint and resume, and chat through the
MLX backend."""

from __future__ import annotations

import numpy as np
import pytest

from dlm_desktop.core.training import (
    CheckpointSaved,
    Notice,
    StageStarted,
    StepCompleted,
    TrainRequest,
    VersionCommitted,
    train_document,
)
from tests.core.training.training_helpers import drain, store_for, tiny_document
from tests.tiny_models import tiny_chat_model_dir  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def _mlx_runtime(monkeypatch):
    monkeypatch.setenv("DLM_DESKTOP_BACKEND", "mlx")


def _steps(events):
    return [event for event in events if isinstance(event, StepCompleted)]


def _train(doc, model, home, **kwargs):
    return TrainRequest(doc, base=str(model), home=home, max_steps=8, **kwargs)


def test_mlx_training_lowers_the_loss_and_commits_a_peft_adapter_torch_reads(tmp_path, tiny_chat_model_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from dlm_desktop.core.inference import build

    doc = tiny_document(tmp_path / "doc", learning_rate="0.3")
    request = TrainRequest(doc, base=str(tiny_chat_model_dir), home=tmp_path / "home", max_steps=12)
    events, result = drain(train_document(request))
    steps = _steps(events)
    assert result.status == "ok" and [s.step for s in steps] == list(range(1, 13))
    # 3 steps per epoch see every training row once: the last epoch's loss is below the first's
    assert np.mean([s.loss for s in steps[-3:]]) < np.mean([s.loss for s in steps[:3]]) - 0.02
    assert result.final_val_loss is not None and result.tokens_per_second > 0
    (committed,) = [e for e in events if isinstance(e, VersionCommitted)]
    version = store_for(tmp_path / "home").version_dir(1)
    assert committed.path == version and result.adapters == {"default": version}

    ids = [[1, 45, 80, 120, 7, 33, 2]]
    base = AutoModelForCausalLM.from_pretrained(str(tiny_chat_model_dir), dtype=torch.float32)
    peft = PeftModel.from_pretrained(base, str(version)).eval()
    with torch.no_grad():
        torch_logits = peft(torch.tensor(ids)).logits.numpy()
        with peft.disable_adapter():
            assert np.abs(peft(torch.tensor(ids)).logits.numpy() - torch_logits).max() > 1e-3  # it learned
    mlx = build({"kind": "mlx", "base": str(tiny_chat_model_dir), "adapter": str(version)})
    assert np.abs(mlx.forward_rows(ids, [{"default": 1.0}], last_only=False) - torch_logits).max() < 1e-3


def test_a_cancelled_mlx_run_checkpoints_and_resumes_where_it_stopped(tmp_path, tiny_chat_model_dir):
    doc = tiny_document(tmp_path / "doc")
    home = tmp_path / "home"
    flag = [False]
    job = train_document(_train(doc, tiny_chat_model_dir, home), should_stop=lambda: flag[0])
    events, result = drain(job, stop_when=lambda e: isinstance(e, StepCompleted) and e.step == 3, flag=flag)
    assert result.status == "cancelled" and result.steps == 3 and result.adapters == {}
    assert [e.reason for e in events if isinstance(e, CheckpointSaved)] == ["cancel"]

    events, result = drain(train_document(_train(doc, tiny_chat_model_dir, home, resume=True)))
    assert any(isinstance(e, Notice) and "resuming the interrupted run exactly" in e.message for e in events)
    (stage,) = [e for e in events if isinstance(e, StageStarted)]
    assert stage.resumed_from_step == 3
    assert [s.step for s in _steps(events)] == [4, 5, 6, 7, 8]
    assert result.status == "ok" and result.steps == 8 and "default" in result.adapters


def test_side_by_side_chat_runs_on_the_mlx_backend(tmp_path, tiny_chat_model_dir, monkeypatch):
    from dlm_desktop.core.inference import ChatRequest, InferenceSession, MlxDifferentialBackend, prompt_document

    doc = tiny_document(tmp_path / "doc")
    text = doc.read_text().replace("base_model: smollm2-135m", f"base_model: {tiny_chat_model_dir}")
    doc.write_text(text)
    home = tmp_path / "home"
    drain(train_document(TrainRequest(doc, home=home, max_steps=2)))
    session = InferenceSession()
    request = ChatRequest(doc, "When was the lighthouse first lit?", side_by_side=True, max_tokens=5,
                          temperature=0.0, home=home)
    events, result = drain(prompt_document(request, session=session))
    assert isinstance(session.loaded, MlxDifferentialBackend) and session.runtime == "mlx"
    payload = result.as_json_dict()
    assert payload["base"]["finish_reason"] in ("stop", "length") and payload["finetuned"]["strength"] == 1.0
    assert {e.side for e in events if hasattr(e, "side")} == {"base", "finetuned"}
    session.close()
