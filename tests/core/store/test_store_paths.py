"""Home resolution and the store layout (SPEC-upstream §8.1, §11 item 27)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from dlm_desktop.core.store import paths as paths_module
from dlm_desktop.core.store.errors import StorePathError
from dlm_desktop.core.store.paths import StorePaths, dlm_home, ollama_lock_path


def test_home_override_beats_env_and_env_beats_platform(tmp_path, monkeypatch):
    monkeypatch.setenv("DLM_HOME", str(tmp_path / "from-env"))
    assert dlm_home(tmp_path / "override") == (tmp_path / "override").resolve()
    assert dlm_home() == (tmp_path / "from-env").resolve()


def test_home_platform_default_is_dot_dlm(tmp_path, monkeypatch):
    monkeypatch.delenv("DLM_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(paths_module, "_is_windows", lambda: False)
    assert dlm_home() == tmp_path / ".dlm"


def test_home_empty_env_var_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("DLM_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(paths_module, "_is_windows", lambda: False)
    assert dlm_home() == tmp_path / ".dlm"


def test_home_on_windows_is_appdata_dlm(tmp_path, monkeypatch):
    monkeypatch.delenv("DLM_HOME", raising=False)
    monkeypatch.setattr(paths_module, "_is_windows", lambda: True)
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    assert dlm_home() == (tmp_path / "Roaming").resolve() / "dlm"
    monkeypatch.delenv("APPDATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert dlm_home() == tmp_path / ".dlm"


def test_ensure_layout_creates_only_adapter_versions_and_logs(store):
    store.ensure_layout()
    store.ensure_layout()  # idempotent
    created = sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob("*"))
    assert created == ["adapter", "adapter/versions", "logs"]


def test_version_zero_and_negative_are_rejected(store):
    for bad in (0, -1, True):
        with pytest.raises(StorePathError):
            store.version_dir(bad)
    with pytest.raises(StorePathError):
        store.version_dir(0, "tone")


def test_every_layout_path_has_upstreams_name(store, home):
    rel = lambda p: p.relative_to(store.root).as_posix()  # noqa: E731
    assert store.root == home.resolve() / "store" / "01KPQ8GATEMTEG000000000000"
    expected = {
        store.manifest: "manifest.json",
        store.repro_lock: "dlm.lock",
        store.exclusive_lock: ".lock",
        store.metrics_db: "metrics.sqlite",
        store.current_pointer(): "adapter/current.txt",
        store.versions_dir(): "adapter/versions",
        store.version_dir(2): "adapter/versions/v0002",
        store.version_dir(12345): "adapter/versions/v12345",
        store.current_pointer("tone"): "adapter/tone/current.txt",
        store.version_dir(1, "tone"): "adapter/tone/versions/v0001",
        store.gate_config: "adapter/_gate/gate_config.json",
        store.gate_weights: "adapter/_gate/gate.safetensors",
        store.replay_corpus: "replay/corpus.zst",
        store.replay_index: "replay/index.json",
        store.export_base_gguf("Q4_K_M"): "exports/Q4_K_M/base.Q4_K_M.gguf",
        store.export_adapter_gguf("Q4_K_M"): "exports/Q4_K_M/adapter.gguf",
        store.export_modelfile("Q8_0"): "exports/Q8_0/Modelfile",
        store.export_manifest("Q8_0"): "exports/Q8_0/export_manifest.json",
        store.cache_dir("smollm2-135m"): "cache/smollm2-135m",
        store.tokenized_cache: "tokenized-cache",
        store.blobs: "blobs",
        store.controls: "controls",
        store.train_log(7, datetime(2026, 4, 24, 10, 18, 42)): "logs/train-000007-20260424T101842.jsonl",
        store.train_summary(7, datetime(2026, 4, 24, 10, 18, 42)): "logs/train-000007-20260424T101842.summary.json",
    }
    assert {rel(path): name for path, name in expected.items()} == {name: name for name in expected.values()}
    assert ollama_lock_path(home) == home.resolve() / "ollama.lock"
    assert not store.root.exists()  # path arithmetic only


@pytest.mark.parametrize("name", ["Tone", "1tone", "tone-name", "_tone", "_gate", "", "a" * 33, "../x"])
def test_invalid_adapter_names_are_refused(store, name):
    with pytest.raises(StorePathError):
        store.versions_dir(name)


@pytest.mark.parametrize("dlm_id", ["", "../evil", "a/b", "a\\b", ".hidden"])
def test_dlm_id_must_be_one_safe_folder_name(home, dlm_id):
    with pytest.raises(StorePathError):
        StorePaths.for_dlm(dlm_id, home=home)


def test_relative_refuses_paths_outside_the_store(store, tmp_path):
    assert store.relative(store.version_dir(3)) == "adapter/versions/v0003"
    with pytest.raises(StorePathError):
        store.relative(tmp_path / "elsewhere")


def test_home_resolves_user_tilde(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert dlm_home("~/custom") == (Path(tmp_path) / "custom").resolve()


def test_adapter_name_grammar_is_the_documents():
    from dlm_desktop.core.document.schema import ADAPTER_NAME_PATTERN as DOCUMENT_PATTERN

    assert paths_module.ADAPTER_NAME_PATTERN.pattern == DOCUMENT_PATTERN.pattern
