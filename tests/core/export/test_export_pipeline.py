"""`run_export` end to end on the real offline SmolLM2 with real PEFT adapters in a real store: files,
manifest, Modelfile, the frozen gate mix (ranks 8 and 4), merged export, the conversion cache, parity."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from dlm_desktop.core.export import ExportNotice, ExportRequest, run_export
from dlm_desktop.core.export.llama_runtime import load_llama, logits_for
from dlm_desktop.core.export.parity import PeftMixView
from dlm_desktop.core.export.staging import file_sha256
from dlm_desktop.core.store.paths import StorePaths
from tests.core.export.export_documents import EXPORT_DLM_ID, FRANCE_AND_SKY_DOCUMENT
from tests.core.export.export_helpers import chat_ids, commit_adapter, drain, make_peft_adapter

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"


@pytest.fixture(scope="module")
def adapters(offline_smollm2_dir, tmp_path_factory):
    """Two PEFT adapters on SmolLM2: r=8/alpha=16 on q,k,v,o and r=4/alpha=32 on q,v only."""
    root = tmp_path_factory.mktemp("peft")
    first = make_peft_adapter(offline_smollm2_dir, root / "a", r=8, alpha=16,
                              targets=["q_proj", "k_proj", "v_proj", "o_proj"], seed=1)
    second = make_peft_adapter(offline_smollm2_dir, root / "b", r=4, alpha=32, targets=["q_proj", "v_proj"], seed=2)
    return first, second


@pytest.fixture
def single_doc(tmp_path, offline_base_env, adapters):
    document = tmp_path / "notes.dlm"
    document.write_text(FRANCE_AND_SKY_DOCUMENT, encoding="utf-8")
    commit_adapter(StorePaths.for_dlm(EXPORT_DLM_ID), adapters[0])
    return document


@pytest.fixture
def gate_doc(tmp_path, offline_base_env, adapters):
    """The shipped two-adapter example with both adapters trained and a trained gate's mean weights."""
    from dlm_desktop.core.store.gate_files import GateConfig, write_gate_config
    from dlm_desktop.core.store.metrics import GateEventRecord, MetricsDB

    document = tmp_path / "two.dlm"
    shutil.copy(EXAMPLES / "two-adapters.dlm", document)
    store = StorePaths.for_dlm("01JDXMDESKTQPEXAMP1E000002")
    store.ensure_layout()
    commit_adapter(store, adapters[0], "astronomy")
    commit_adapter(store, adapters[1], "baking")
    store.gate_weights.parent.mkdir(parents=True, exist_ok=True)
    store.gate_weights.write_bytes(b"placeholder")  # the export reads the recorded means, not the network
    write_gate_config(store, GateConfig(576, 64, ("astronomy", "baking"), "trained"))
    db = MetricsDB.for_store(store)
    db.record_run_start(1, adapter_version=1, phase="sft", seed=7)
    db.record_gate_events([GateEventRecord(1, "astronomy", 0.625, 6, "trained"),
                           GateEventRecord(1, "baking", 0.375, 5, "trained")])
    return document


def test_single_adapter_export_f16_with_parity(single_doc):
    events, result = drain(run_export(ExportRequest(single_doc, quant="F16", ollama=False, parity=True)))
    assert result.out_dir == single_doc.parent / "notes-export"
    assert sorted(p.name for p in result.out_dir.iterdir()) == [
        "Modelfile", "adapter.gguf", "base.F16.gguf", "export_manifest.json"]
    manifest = json.loads(result.manifest.read_text())
    assert result.manifest.read_text().endswith("}\n")
    assert manifest["gate_mode"] == "single" and manifest["adapter_mix"] == [["default", 1.0]]
    assert manifest["adapter_version"] == 1 and manifest["quant"] == "F16" and manifest["merged"] is False
    assert manifest["ollama_name"] == "dlm-01jdxmdesktqpexamp1e000009:v0001"
    for artifact in manifest["artifacts"]:
        assert file_sha256(result.out_dir / artifact["path"]) == artifact["sha256"]
    parity = manifest["parity"]
    assert parity["prompts"] == 2 and parity["passed"], parity
    modelfile = result.modelfile.read_text()
    assert "FROM ./base.F16.gguf\nADAPTER ./adapter.gguf\n" in modelfile
    assert 'SYSTEM "Answer in one sentence."' in modelfile and 'LICENSE "Apache-2.0"' in modelfile
    assert any(isinstance(e, ExportNotice) for e in events) and not list(result.out_dir.glob(".staging-*"))


def test_gate_is_frozen_to_its_mean_mix_across_ranks(gate_doc, offline_smollm2_dir, adapters):
    events, result = drain(run_export(ExportRequest(gate_doc, quant="F16", ollama=False)))
    manifest = json.loads(result.manifest.read_text())
    assert manifest["gate_mode"] == "static_mean"
    assert manifest["adapter_mix"] == [["astronomy", 0.625], ["baking", 0.375]]
    assert manifest["adapter_versions"] == {"astronomy": 1, "baking": 1}
    notices = [e.message for e in events if isinstance(e, ExportNotice)]
    assert any(n.startswith("gate_mode=static_mean") for n in notices)
    # llama.cpp (F16 base + mixed adapter) against torch with the exact sum of both adapters' changes
    view = PeftMixView(offline_smollm2_dir, result.selection)
    ids = chat_ids(offline_smollm2_dir, "What is the brightest star in the night sky?")
    ours = view.logits(ids)
    theirs = logits_for(load_llama(result.base_gguf, lora_path=result.adapter_gguf), ids)
    assert np.abs(ours - theirs).mean() < 0.02 and (ours.argmax(-1) == theirs.argmax(-1)).mean() >= 0.95


def test_merged_export_folds_the_mix_into_the_base(gate_doc, offline_smollm2_dir):
    _, unmerged = drain(run_export(ExportRequest(gate_doc, quant="F16", ollama=False, out_dir=gate_doc.parent / "u")))
    _, merged = drain(run_export(ExportRequest(gate_doc, quant="F16", merged=True, ollama=False,
                                               out_dir=gate_doc.parent / "m")))
    assert merged.adapter_gguf is None and "ADAPTER" not in merged.modelfile.read_text()
    assert [a["path"] for a in json.loads(merged.manifest.read_text())["artifacts"]] == ["base.F16.gguf"]
    ids = chat_ids(offline_smollm2_dir, "How long does light from the Sun take to reach Earth?")
    with_adapter = logits_for(load_llama(unmerged.base_gguf, lora_path=unmerged.adapter_gguf), ids)
    folded = logits_for(load_llama(merged.base_gguf), ids)
    plain = logits_for(load_llama(unmerged.base_gguf), ids)
    assert np.abs(folded - with_adapter).mean() < 0.02
    assert np.abs(plain - with_adapter).mean() > 5 * np.abs(folded - with_adapter).mean()


def test_second_export_reuses_the_cached_base_conversion(single_doc, tmp_path, monkeypatch):
    monkeypatch.setenv("DLM_DESKTOP_GGUF_CACHE", str(tmp_path / "gguf-cache"))
    _, first = drain(run_export(ExportRequest(single_doc, quant="Q8_0", ollama=False)))
    _, second = drain(run_export(ExportRequest(single_doc, quant="Q8_0", ollama=False)))
    assert (first.base_cached, second.base_cached) == (False, True)
    assert second.seconds["convert-base"] < first.seconds["convert-base"] / 3
    assert file_sha256(first.base_gguf) == json.loads(second.manifest.read_text())["artifacts"][0]["sha256"]


def test_manual_mix_and_bad_requests(gate_doc):
    from dlm_desktop.core.export import AdapterSelectionError

    _, result = drain(run_export(ExportRequest(gate_doc, quant="F16", ollama=False, mix={"baking": 1.0},
                                               name="me/baker:latest")))
    manifest = json.loads(result.manifest.read_text())
    assert manifest["gate_mode"] == "manual" and manifest["adapter_mix"] == [["baking", 1.0]]
    assert manifest["ollama_name"] == "me/baker:latest"
    with pytest.raises(AdapterSelectionError, match="not one of the document's adapters"):
        drain(run_export(ExportRequest(gate_doc, ollama=False, mix={"cooking": 1.0})))
    with pytest.raises(AdapterSelectionError, match="either one adapter or a mix"):
        drain(run_export(ExportRequest(gate_doc, ollama=False, mix={"baking": 1.0}, adapter="astronomy")))
