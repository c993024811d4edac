"""Where model files live on disk.

* The app's own model cache (the offline SmolLM2 conversion): platformdirs' user cache dir
  `dlm-desktop/models`, or `$DLM_DESKTOP_MODEL_CACHE` (tests point it at a temporary folder).
* Hub downloads go to the standard Hugging Face cache, shared with other tools: `$DLM_DESKTOP_HF_CACHE` when
  set, else huggingface_hub's own choice (`HF_HUB_CACHE`, `HF_HOME/hub`, `~/.cache/huggingface/hub`).
"""

from __future__ import annotations

import os
from pathlib import Path

MODEL_CACHE_ENV = "DLM_DESKTOP_MODEL_CACHE"
HF_CACHE_ENV = "DLM_DESKTOP_HF_CACHE"


def model_cache_dir() -> Path:
    """The app's model cache folder (not created here)."""
    override = os.environ.get(MODEL_CACHE_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path("dlm-desktop", appauthor=False) / "models"


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache folder used for downloads and for finding earlier downloads."""
    override = os.environ.get(HF_CACHE_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE).expanduser()
