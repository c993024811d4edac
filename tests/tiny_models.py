"""The tiny chat model for fast training tests (CPU, a fraction of a second per step); built by
`dlm_desktop.core.models.tiny_model.make_tiny_chat_model`, which the app's self-test uses too.

The session fixture `tiny_chat_model_dir` builds it once (read-only for tests). Import the fixture into a test
module to use it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dlm_desktop.core.models.tiny_model import CHATML_WITH_SYSTEM, make_tiny_chat_model

__all__ = ["CHATML_WITH_SYSTEM", "make_tiny_chat_model", "tiny_chat_model_dir"]


@pytest.fixture(scope="session")
def tiny_chat_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny chat model folder, built once per session (read-only: copy it before changing anything)."""
    return make_tiny_chat_model(tmp_path_factory.mktemp("tiny-chat-model") / "model")
