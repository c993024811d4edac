"""Test-wide setup: offscreen Qt, and every store, setting and cache pointed at a temporary folder."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("DLM_DESKTOP_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402

pytest_plugins = ["tests.models_fixtures", "tests.upstream_fixtures"]


@pytest.fixture(autouse=True)
def _isolated_homes(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's real store or settings."""
    home = tmp_path_factory.mktemp("dlm-home")
    monkeypatch.setenv("DLM_HOME", str(home))
    monkeypatch.setenv("DLM_DESKTOP_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("DLM_DESKTOP_DOCUMENTS_DIR", str(home / "Documents"))
    monkeypatch.setenv("DLM_DESKTOP_MODEL_CACHE", str(home / "model-cache"))
    monkeypatch.setenv("DLM_DESKTOP_HF_CACHE", str(home / "hf-cache"))
    yield
