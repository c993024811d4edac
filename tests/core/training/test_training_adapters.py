"""The forward pass (head on target positions only, unmasked right padding) and multi-adapter training with
the gate, on the tiny real model."""

from __future__ import annotations

import json

import pytest

from dlm_desktop.core.store.manifest import load_manifest
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.store.versions import resolve_current
from dlm_desktop.core.training import ModelLoading, StageStarted, StepCompleted, TrainRequest, train_document
from dlm_desktop.core.training.examples import IGNORE_INDEX, Example
from dlm_desktop.core.training.forward import collate, loss_sum, model_parts
from tests.core.training.training_helpers import TWO_ADAPTER_DLM_ID, drain, two_adapter_document
from tests.tiny_models import tiny_chat_model_dir  # noqa: F401  (fixture)


@pytest.fixture
def tiny_model(tiny_chat_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(tiny_chat_model_dir), dtype=torch.float32).eval()


def _example(length: int, masked_prefix: int, seed: int) -> Example:
    import random

    rng = random.Random(seed)
    ids = tuple(rng.randrange(5, 390) for _ in range(length))
    labels = tuple(IGNORE_INDEX if i < masked_prefix else token for i, token in enumerate(ids))
    return Example(ids, labels, "instruction")


def test_right_padding_without_a_mask_leaves_every_rows_loss_unchanged(tiny_model):
    import torch

    parts = model_parts(tiny_model)
    examples = [_example(13, 4, 1), _example(5, 2, 2), _example(9, 0, 3)]
    with torch.no_grad():
        together = loss_sum(parts, collate(examples, 0, "cpu"))
        apart = sum(loss_sum(parts, collate([example], 0, "cpu")) for example in examples)
    assert torch.allclose(together, apart, rtol=1e-5, atol=1e-5)


def test_the_head_on_target_positions_equals_the_models_own_loss(tiny_model):
    import torch

    parts = model_parts(tiny_model)
    example = _example(17, 6, 4)
    batch = collate([example], 0, "cpu")
    with torch.no_grad():
        ours = loss_sum(parts, batch) / batch.target_count
        theirs = tiny_model(torch.tensor([example.input_ids]), labels=torch.tensor([example.labels])).loss
    assert batch.target_count == 17 - 6
    assert torch.allclose(ours, theirs, rtol=1e-5)


def test_two_adapters_train_on_one_base_then_the_gate(tmp_path, tiny_chat_model_dir):
    doc = two_adapter_document(tmp_path / "doc")
    home = tmp_path / "home"
    events, result = drain(train_document(TrainRequest(doc, base=str(tiny_chat_model_dir), home=home)))

    assert result.status == "ok"
    stages = [(e.stage, e.adapter, e.index, e.count) for e in events if isinstance(e, StageStarted)]
    assert stages == [("adapter", "astro", 0, 3), ("adapter", "keeper", 1, 3), ("gate", None, 2, 3)]
    assert len([e for e in events if isinstance(e, ModelLoading) and e.stage == "load-base"]) == 1
    assert {e.adapter for e in events if isinstance(e, StepCompleted)} == {"astro", "keeper", None}
    paths = StorePaths.for_dlm(TWO_ADAPTER_DLM_ID, home=home)
    assert result.adapters == {"astro": paths.version_dir(1, "astro"), "keeper": paths.version_dir(1, "keeper")}
    assert resolve_current(paths, "astro") == paths.version_dir(1, "astro")
    astro = json.loads((result.adapters["astro"] / "adapter_config.json").read_text())
    keeper = json.loads((result.adapters["keeper"] / "adapter_config.json").read_text())
    assert (astro["r"], astro["lora_alpha"]) == (4, 16)
    assert (keeper["r"], keeper["lora_alpha"], sorted(keeper["target_modules"])) == (8, 8, ["q_proj", "v_proj"])

    manifest = load_manifest(paths.manifest)
    assert [(r.run_id, r.adapter_name) for r in manifest.training_runs] == [(1, "astro"), (2, "keeper")]
    assert manifest.adapter_versions == {"astro": 1, "keeper": 1} and manifest.adapter_version == 0
    assert result.gate is not None and result.gate.adapter_names == ("astro", "keeper")
    assert result.gate.mode in ("trained", "uniform")
    assert json.loads(paths.gate_config.read_text())["adapter_names"] == ["astro", "keeper"]
    assert result.as_json_dict()["gate"] == {"mode": result.gate.mode, "adapter_names": ["astro", "keeper"]}


def test_unknown_target_modules_are_a_typed_error(tmp_path, tiny_chat_model_dir):
    from dlm_desktop.core.training import AdapterSetupError
    from tests.core.training.training_helpers import tiny_document

    doc = tiny_document(tmp_path / "doc", extra_training="  target_modules: [no_such_proj]\n")
    with pytest.raises(AdapterSetupError) as caught:
        drain(train_document(TrainRequest(doc, base=str(tiny_chat_model_dir), home=tmp_path / "home")))
    assert "target_modules" in caught.value.fix


def test_cancel_in_the_second_adapter_then_resume_is_exact_for_both(tmp_path, tiny_chat_model_dir):
    import torch

    from tests.core.training.training_helpers import adapter_tensors

    doc = two_adapter_document(tmp_path / "doc", gate=False)
    _, straight = drain(train_document(TrainRequest(doc, base=str(tiny_chat_model_dir), home=tmp_path / "a")))
    flag = [False]
    home = tmp_path / "b"
    job = train_document(TrainRequest(doc, base=str(tiny_chat_model_dir), home=home), should_stop=lambda: flag[0])
    _, cancelled = drain(job, stop_when=lambda e: isinstance(e, StepCompleted) and e.adapter == "keeper", flag=flag)
    assert cancelled.status == "cancelled" and [s.steps for s in cancelled.stages] == [2, 1]

    events, resumed = drain(train_document(TrainRequest(doc, base=str(tiny_chat_model_dir), home=home, resume=True)))
    assert [(e.adapter, e.resumed_from_step) for e in events if isinstance(e, StageStarted)] == [("keeper", 1)]
    for name in ("astro", "keeper"):
        expected, actual = adapter_tensors(straight.adapters[name]), adapter_tensors(resumed.adapters[name])
        assert expected.keys() == actual.keys()
        assert all(torch.equal(expected[key], actual[key]) for key in expected), name
    runs = load_manifest(StorePaths.for_dlm(TWO_ADAPTER_DLM_ID, home=home).manifest).training_runs
    assert [(r.run_id, r.adapter_name, r.steps) for r in runs] == [(1, "astro", 2), (2, "keeper", 3)]


def test_cancel_in_the_gate_keeps_the_adapters_and_resume_trains_only_the_gate(tmp_path, tiny_chat_model_dir):
    doc = two_adapter_document(tmp_path / "doc")
    home = tmp_path / "home"
    flag = [False]
    job = train_document(TrainRequest(doc, base=str(tiny_chat_model_dir), home=home), should_stop=lambda: flag[0])
    _, cancelled = drain(job, stop_when=lambda e: isinstance(e, StageStarted) and e.stage == "gate", flag=flag)
    paths = StorePaths.for_dlm(TWO_ADAPTER_DLM_ID, home=home)
    assert cancelled.status == "cancelled" and set(cancelled.adapters) == {"astro", "keeper"}
    assert not paths.gate_config.exists()

    events, resumed = drain(train_document(TrainRequest(doc, base=str(tiny_chat_model_dir), home=home, resume=True)))
    assert [e.stage for e in events if isinstance(e, StageStarted)] == ["gate"]
    assert resumed.status == "ok" and resumed.gate is not None and paths.gate_config.exists()
    assert resumed.adapters == cancelled.adapters
    assert len(load_manifest(paths.manifest).training_runs) == 2


def test_dora_from_the_frontmatter_trains_magnitude_vectors(tmp_path, tiny_chat_model_dir):
    from tests.core.training.training_helpers import adapter_tensors, tiny_document

    doc = tiny_document(tmp_path / "doc", extra_training="  adapter: dora\n  lora_r: 4\n  lora_dropout: 0.0\n")
    _, result = drain(train_document(TrainRequest(doc, base=str(tiny_chat_model_dir), home=tmp_path / "home",
                                                  max_steps=2)))
    version = result.adapters["default"]
    config = json.loads((version / "adapter_config.json").read_text())
    assert (config["use_dora"], config["r"], config["lora_dropout"]) == (True, 4, 0.0)
    assert any("lora_magnitude_vector" in name for name in adapter_tensors(version))


def test_examples_packed_into_one_row_keep_their_own_losses(tiny_model):
    import torch

    from dlm_desktop.core.training.forward import collate_packed

    parts = model_parts(tiny_model)
    examples = [_example(11, 3, 5), _example(6, 1, 6), _example(4, 0, 7)]
    with torch.no_grad():
        packed = loss_sum(parts, collate_packed([examples[:2], examples[2:]], 0, "cpu"))
        apart = sum(loss_sum(parts, collate([example], 0, "cpu")) for example in examples)
    assert torch.allclose(packed, apart, rtol=1e-5, atol=1e-5)
