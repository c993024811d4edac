"""End to end on real weights: the offline SmolLM2-135M-Instruct trained by the real training engine on a
two-adapter document with a learned gate, then chatted with and probed through the public entry points."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dlm_desktop.core.inference import (
    ChatRequest,
    GenerationSettings,
    InferenceSession,
    ProbeRequest,
    RowRequest,
    chat_prompt_ids,
    generate_rows,
    probe_document,
    prompt_document,
)
from tests.jobs import drain

pytestmark = pytest.mark.slow

DOCUMENT = """\
---
dlm_id: 01J0AAAABBBBCCCCDDDDEEEEFF
dlm_version: 1
base_model: smollm2-135m
system_prompt: You are the archivist of a research base on the Moon.
training:
  seed: 7
  adapters:
    facts:
      lora_r: 8
      learning_rate: 0.003
    style:
      lora_r: 4
      learning_rate: 0.003
  gate:
    enabled: true
    cold_start_floor: 2
---

::instruction#facts::
### Q
What is the name of the moon base?
### A
The moon base is called Tranquil Harbor.

### Q
Who founded Tranquil Harbor?
### A
Tranquil Harbor was founded by Captain Ilse Varga in 2091.

::prose#facts::
Tranquil Harbor sits in the Sea of Tranquility. Its greenhouses grow potatoes and basil under red lamps.

::instruction#style::
### Q
How do you greet a visitor?
### A
Greetings, traveller, and welcome under the dome of silver light.

::instruction#style::
### Q
How do you say goodbye?
### A
Farewell, traveller; may the regolith rest lightly on your boots.
"""
QUESTION = "What is the name of the moon base?"


@pytest.fixture(scope="module")
def trained_moon(tmp_path_factory, offline_smollm2_dir, offline_model_cache) -> tuple[Path, Path]:
    """`(document, home)`: the document trained by `train_document` (10 steps per adapter, then the gate)."""
    from dlm_desktop.core.training import TrainRequest, train_document

    root = tmp_path_factory.mktemp("inference-moon")
    document = root / "moon.dlm"
    document.write_text(textwrap.dedent(DOCUMENT), encoding="utf-8")
    home = root / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLM_DESKTOP_MODEL_CACHE", str(offline_model_cache))
        patch.setenv("DLM_DESKTOP_HF_CACHE", str(root / "empty-hf-cache"))
        patch.setenv("DLM_DESKTOP_OFFLINE", "1")
        _, result = drain(train_document(TrainRequest(document, max_steps=10, home=home)))
    assert result.status == "ok" and result.gate is not None and result.gate.mode == "trained"
    return document, home


def test_the_fine_tuned_side_learned_and_the_base_did_not(trained_moon, offline_base_env):
    document, home = trained_moon
    session = InferenceSession()
    request = ChatRequest(document, QUESTION, side_by_side=True, temperature=0.0, max_tokens=16, home=home)
    _, result = drain(prompt_document(request, session=session))
    assert "Tranquil Harbor" in result.finetuned.text
    assert "Tranquil Harbor" not in result.base.text
    gate = result.as_json_dict()["finetuned"]["gate"]
    assert result.routed.gate_mode == "trained" and gate["facts"] > 0.5 and sum(gate.values()) == pytest.approx(1.0)
    # both sides equal single-row generations of the same loaded model (greedy)
    backend = session.loaded
    ids = chat_prompt_ids(backend.tokenizer, QUESTION, "You are the archivist of a research base on the Moon.")
    greedy = GenerationSettings(max_tokens=16, temperature=0.0)
    _, base = drain(generate_rows(backend, [RowRequest("base", ids, None)], greedy))
    _, tuned = drain(generate_rows(backend, [RowRequest("finetuned", ids, result.routed.weights)], greedy))
    assert result.base.token_ids == base.rows[0].token_ids
    assert result.finetuned.token_ids == tuned.rows[0].token_ids
    # a short answer ends on the end-of-turn token
    _, short = drain(prompt_document(ChatRequest(document, "How do you greet a visitor?", temperature=0.0,
                                                 max_tokens=40, home=home), session=session))
    assert short.finetuned.finish_reason == "stop" and "traveller" in short.finetuned.text
    session.close()


def test_did_it_learn_is_green_on_the_documents_own_prompts(trained_moon, offline_base_env):
    document, home = trained_moon
    events, report = drain(probe_document(ProbeRequest(document, home=home)))
    assert report.prompts[0] == QUESTION and len(report.prompts) == 4
    assert report.verdict == "green", report.as_json_dict()["divergence"]
    curve = [point["divergence"] for point in report.lambda_curve]
    assert curve[0] == 0.0 and curve[4] == pytest.approx(report.divergence) and curve[2] < curve[4]
    assert all(row["drop"] > 0 for row in report.sections)  # every section got easier to predict
