"""`prompt_document` and `probe_document` on a document whose store holds real adapters and a real gate (tiny
model as the base folder): the adapters are found in upstream's layout, the gate routes the fine-tuned
side and its weights come back with the answer, side-by-side answers come from one batched generation, and
bad requests are typed errors."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from dlm_desktop.core.inference import (
    AdapterLoadError,
    ChatRequest,
    ChatRequestError,
    ChatRouted,
    GenerationSettings,
    InferenceSession,
    ProbeRequest,
    RowRequest,
    TokenEvent,
    chat_prompt_ids,
    generate_rows,
    probe_document,
    prompt_document,
)
from dlm_desktop.core.store.gate_files import write_gate_config
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.store.versions import allocate_version, set_current
from tests.jobs import drain

DLM_ID = "01HZ4X7TGZM3J1A2B3C4D5E6F7"
SYSTEM = "the cat is a dog"
QUESTION = "what is the capital of france"


def write_document(folder: Path, base_dir: Path, *, adapters: bool = True) -> Path:
    training = ("training:\n  adapters:\n    alpha: {}\n    beta: {}\n  gate:\n    enabled: true\n"
                if adapters else "")
    body = ("::instruction#alpha::\n### Q\nwhat is the capital of france\n### A\nparis\n\n"
            "::instruction#beta::\n### Q\nthe sky is\n### A\nblue\n\n"
            "::prose::\nthe cat sat on the mat. the dog sat on the cat.\n")
    path = folder / "doc.dlm"
    path.write_text(f"---\ndlm_id: {DLM_ID}\nbase_model: {base_dir}\nsystem_prompt: {SYSTEM}\n{training}---\n\n{body}",
                    encoding="utf-8")
    return path


def commit_adapter(store: StorePaths, source: Path, name: str | None) -> Path:
    folder = allocate_version(store, name)
    shutil.copytree(source, folder, dirs_exist_ok=True)
    set_current(store, folder, name=name)
    return folder


@pytest.fixture
def trained_doc(tmp_path, tiny_model_dir, tiny_adapters, gate_maker):
    """A two-adapter document with both adapters committed and a trained gate in its store."""
    store = StorePaths.for_dlm(DLM_ID)
    for name, source in tiny_adapters.items():
        commit_adapter(store, source, name)
    gate = gate_maker(32, ("alpha", "beta"))
    store.gate_dir.mkdir(parents=True, exist_ok=True)
    gate.network.save(store.gate_weights)
    write_gate_config(store, gate.config)
    return write_document(tmp_path, tiny_model_dir), gate


def test_side_by_side_answers_with_gate_weights_from_one_batched_generation(trained_doc, tiny_model_dir,
                                                                            tiny_adapters):
    from dlm_desktop.core.inference import HFDifferentialBackend

    path, gate = trained_doc
    request = ChatRequest(path, QUESTION, side_by_side=True, temperature=0.0, max_tokens=8)
    events, result = drain(prompt_document(request))
    routed = next(e for e in events if isinstance(e, ChatRouted))
    assert routed.gate_mode == "trained" and math.isclose(sum(routed.weights.values()), 1.0, abs_tol=1e-6)
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    assert {e.side for e in tokens} == {"base", "finetuned"}
    # the same answers as two separate single-row generations on an independently loaded model
    backend = HFDifferentialBackend.load(tiny_model_dir, tiny_adapters, gate=gate)
    assert backend.weights_for(QUESTION) == pytest.approx(routed.weights)
    ids = chat_prompt_ids(backend.tokenizer, QUESTION, SYSTEM)
    greedy = GenerationSettings(max_tokens=8, temperature=0.0)
    _, base = drain(generate_rows(backend, [RowRequest("base", ids, None)], greedy))
    _, tuned = drain(generate_rows(backend, [RowRequest("finetuned", ids, routed.weights)], greedy))
    assert result.base.token_ids == base.rows[0].token_ids
    assert result.finetuned.token_ids == tuned.rows[0].token_ids
    payload = json.loads(json.dumps(result.as_json_dict()))
    assert payload["base"]["text"] == result.base.text
    assert payload["finetuned"]["gate"] == pytest.approx(routed.weights) and payload["finetuned"]["adapter"] is None
    assert set(payload["timing"]) == {"load_s", "route_s", "first_token_s", "generate_s", "total_s"}


def test_gate_off_named_adapter_and_strength(trained_doc):
    path, _ = trained_doc
    session = InferenceSession()
    _, off = drain(prompt_document(ChatRequest(path, QUESTION, gate="off", temperature=0.0, max_tokens=4),
                                   session=session))
    assert off.routed.weights == {"alpha": 0.5, "beta": 0.5} and off.routed.gate_mode == "uniform"
    assert off.base is None and off.as_json_dict()["base"] is None
    loaded = session.loaded
    _, named = drain(prompt_document(ChatRequest(path, QUESTION, adapter="beta", temperature=0.0, max_tokens=4),
                                     session=session))
    payload = named.as_json_dict()["finetuned"]
    assert payload["adapter"] == "beta" and payload["gate"] is None
    _, zero = drain(prompt_document(ChatRequest(path, QUESTION, side_by_side=True, strength=0.0, temperature=0.0,
                                                max_tokens=6), session=session))
    assert zero.finetuned.token_ids == zero.base.token_ids  # λ = 0 is the base
    assert session.loaded is loaded  # one model kept between prompts, not reloaded
    session.close()


def test_bad_requests_are_typed_errors(trained_doc, tmp_path, tiny_model_dir):
    path, _ = trained_doc
    with pytest.raises(ChatRequestError, match="not declared"):
        drain(prompt_document(ChatRequest(path, QUESTION, adapter="gamma")))
    with pytest.raises(ChatRequestError, match="gate must be"):
        drain(prompt_document(ChatRequest(path, QUESTION, gate="on")))
    with pytest.raises(ChatRequestError, match="empty"):
        ChatRequest(path, "   ")
    (tmp_path / "flat").mkdir()
    flat = write_document(tmp_path / "flat", tiny_model_dir, adapters=False)  # same store, no flat adapter
    with pytest.raises(ChatRequestError, match="declares no adapters"):
        drain(prompt_document(ChatRequest(flat, QUESTION, adapter="alpha")))
    with pytest.raises(AdapterLoadError, match="no trained adapter") as excinfo:
        drain(prompt_document(ChatRequest(flat, QUESTION)))
    assert "train" in excinfo.value.fix


def test_flat_layout_single_adapter(tmp_path, tiny_model_dir, tiny_adapters):
    store = StorePaths.for_dlm(DLM_ID)
    commit_adapter(store, tiny_adapters["alpha"], None)
    path = write_document(tmp_path, tiny_model_dir, adapters=False)
    events, result = drain(prompt_document(ChatRequest(path, QUESTION, temperature=0.0, max_tokens=4)))
    payload = result.as_json_dict()["finetuned"]
    assert payload["gate"] is None and payload["adapter"] == "default"
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)) == result.finetuned.text


def test_probe_document_uses_the_documents_own_prompts(trained_doc):
    path, _ = trained_doc
    events, report = drain(probe_document(ProbeRequest(path, top_k=8, null_seeds=(0, 1, 2))))
    assert report.prompts == ["what is the capital of france", "the sky is"]
    assert [s["type"] for s in report.sections] == ["instruction", "instruction", "prose"]
    assert report.verdict in ("green", "yellow", "red") and len(report.null_divergences) == 3
    json.dumps(report.as_json_dict())
