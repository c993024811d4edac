"""Resolution through the hub (a local server speaking the hub protocol), the hub cache and local folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dlm_desktop.core.models import (
    HubDownloadError,
    ModelJobCancelled,
    ModelUnavailableOfflineError,
    UnsupportedBaseModelError,
    resolve_base,
)
from dlm_desktop.core.models.hub import find_cached_snapshot, repo_cache_dir
from tests.jobs import drain


def test_local_folder_resolves_to_itself_without_events(tiny_llama_dir):
    events, resolved = drain(resolve_base(str(tiny_llama_dir)))
    assert events == []
    assert resolved.source == "local" and resolved.local_dir == tiny_llama_dir.resolve()
    assert resolved.spec.architecture == "LlamaForCausalLM"


def test_hf_reference_downloads_with_progress_then_uses_the_cache(fake_hub, tiny_llama_dir, tmp_path, monkeypatch):
    repo = fake_hub.add("test-org/tiny-chat", tiny_llama_dir)
    hf_cache = tmp_path / "hf"
    events, resolved = drain(resolve_base("hf:test-org/tiny-chat", hf_cache_dir=hf_cache))

    assert events[0].stage == "check-network"
    downloads = [e for e in events if e.job == "download" and e.stage in ("download", "downloaded")]
    total = sum(p.stat().st_size for p in tiny_llama_dir.iterdir())
    assert downloads[-1].stage == "downloaded" and downloads[-1].fraction == 1.0
    assert downloads[-1].bytes_done == downloads[-1].bytes_total == total
    assert [e.bytes_done for e in downloads] == sorted(e.bytes_done for e in downloads)
    assert resolved.source == "hub" and resolved.revision == repo.sha
    assert resolved.local_dir == repo_cache_dir("test-org/tiny-chat", hf_cache) / "snapshots" / repo.sha
    assert (resolved.local_dir / "model.safetensors").read_bytes() == (tiny_llama_dir / "model.safetensors").read_bytes()
    spec = resolved.spec
    assert (spec.architecture, spec.revision, spec.context_length, spec.dialect) == (
        "LlamaForCausalLM", repo.sha, 512, "chatml")

    fake_hub.requests.clear()
    events, again = drain(resolve_base("hf:test-org/tiny-chat", hf_cache_dir=hf_cache))
    assert events == [] and fake_hub.requests == []  # found in the hub cache: no network at all
    assert again.local_dir == resolved.local_dir and again.spec == spec

    monkeypatch.setenv("DLM_DESKTOP_OFFLINE", "1")
    _, offline_again = drain(resolve_base("hf:test-org/tiny-chat", hf_cache_dir=hf_cache))
    assert offline_again.local_dir == resolved.local_dir


def test_cancelled_download_leaves_no_usable_snapshot(fake_hub, tiny_llama_dir, tmp_path):
    fake_hub.add("test-org/slow", tiny_llama_dir, delay_s=1.0)
    hf_cache = tmp_path / "hf"
    seen = []
    job = resolve_base("hf:test-org/slow", hf_cache_dir=hf_cache, should_stop=lambda: bool(seen))
    with pytest.raises(ModelJobCancelled):
        for event in job:
            if event.stage == "download":
                seen.append(event)
    assert find_cached_snapshot("test-org/slow", None, hf_cache, any_revision=True) is None


def test_gated_and_missing_repositories_are_typed_errors(fake_hub, tiny_llama_dir, tmp_path):
    fake_hub.add("test-org/gated", tiny_llama_dir, mode="gated")
    with pytest.raises(HubDownloadError, match="gated") as info:
        drain(resolve_base("hf:test-org/gated", hf_cache_dir=tmp_path))
    assert "HF_TOKEN" in info.value.fix
    with pytest.raises(HubDownloadError, match="no model test-org/absent"):
        drain(resolve_base("hf:test-org/absent", hf_cache_dir=tmp_path))


def test_repository_without_safetensors_is_refused(fake_hub, tmp_path):
    folder = tmp_path / "bin-only"
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    (folder / "pytorch_model.bin").write_bytes(b"\0" * 16)
    fake_hub.add("test-org/bin-only", folder)
    with pytest.raises(HubDownloadError, match="no .safetensors"):
        drain(resolve_base("hf:test-org/bin-only", hf_cache_dir=tmp_path / "hf"))


def test_a_failing_hub_counts_as_offline(fake_hub, tiny_llama_dir, tmp_path):
    fake_hub.add("Qwen/Qwen2.5-0.5B-Instruct", tiny_llama_dir, mode="broken")
    with pytest.raises(ModelUnavailableOfflineError) as info:
        drain(resolve_base("qwen2.5-0.5b", hf_cache_dir=tmp_path))
    assert "Could not download Qwen/Qwen2.5-0.5B-Instruct" in info.value.message
    assert "smollm2-135m" in info.value.fix and "Connect to the internet" in info.value.fix


def test_offline_without_cache_explains_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("DLM_DESKTOP_OFFLINE", "1")
    events = []
    with pytest.raises(ModelUnavailableOfflineError, match="offline mode is on") as info:
        for event in resolve_base("llama-3.2-1b", hf_cache_dir=tmp_path):
            events.append(event)
    # offline mode never announces (or waits for) a network check
    assert [e for e in events if e.stage == "check-network"] == []
    assert "gated" in info.value.message and "smollm2-135m" in info.value.fix
    with pytest.raises(ModelUnavailableOfflineError):
        drain(resolve_base("hf:someone/some-model", offline=True, hf_cache_dir=tmp_path))


def test_vision_and_audio_bases_are_refused(tmp_path):
    for key in ("qwen2-vl-2b-instruct", "qwen2-audio-7b-instruct"):
        with pytest.raises(UnsupportedBaseModelError, match="text models only"):
            drain(resolve_base(key, hf_cache_dir=tmp_path))


def _fake_cached_snapshot(hf_cache: Path, hf_id: str, commit: str, source: Path, *, main: bool) -> Path:
    """Lay out a hub-cache snapshot like huggingface_hub does (files copied instead of symlinked to blobs)."""
    repo = repo_cache_dir(hf_id, hf_cache)
    snapshot = repo / "snapshots" / commit
    shutil.copytree(source, snapshot)
    if main:
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(commit)
    return snapshot


def test_pinned_revision_in_the_hub_cache_is_used_offline(tiny_llama_dir, tmp_path):
    pinned = "7ae557604adf67be50417f59c2c2f167def9a775"  # qwen2.5-0.5b's registry revision
    snapshot = _fake_cached_snapshot(tmp_path, "Qwen/Qwen2.5-0.5B-Instruct", pinned, tiny_llama_dir, main=False)
    events, resolved = drain(resolve_base("qwen2.5-0.5b", hf_cache_dir=tmp_path))
    assert events == [] and resolved.source == "hub" and resolved.local_dir == snapshot
    assert resolved.revision == pinned and resolved.note == ""
    assert resolved.spec.architecture == "Qwen2ForCausalLM"  # registry facts are kept


def test_another_cached_revision_is_used_offline_with_a_note(tiny_llama_dir, tmp_path):
    other = "f" * 40
    snapshot = _fake_cached_snapshot(tmp_path, "Qwen/Qwen2.5-0.5B-Instruct", other, tiny_llama_dir, main=True)
    _, resolved = drain(resolve_base("qwen2.5-0.5b", hf_cache_dir=tmp_path))
    assert resolved.local_dir == snapshot and resolved.revision == other
    assert "not the pinned" in resolved.note


def test_incomplete_snapshot_is_not_used(tiny_llama_dir, tmp_path):
    pinned = "7ae557604adf67be50417f59c2c2f167def9a775"
    snapshot = _fake_cached_snapshot(tmp_path, "Qwen/Qwen2.5-0.5B-Instruct", pinned, tiny_llama_dir, main=True)
    (snapshot / "model.safetensors").unlink()
    with pytest.raises(ModelUnavailableOfflineError):
        drain(resolve_base("qwen2.5-0.5b", hf_cache_dir=tmp_path))
