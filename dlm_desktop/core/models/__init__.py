"""Base models: the registry, resolution to weights on disk (local folder, hub, embedded offline SmolLM2) and
tokenizer bring-up. Importing this package is cheap: torch, transformers and huggingface_hub load lazily.
"""

from __future__ import annotations

from dlm_desktop.core.models.cache import hub_cache_dir, model_cache_dir
from dlm_desktop.core.models.errors import (
    BaseModelError,
    BaseModelFolderError,
    HubDownloadError,
    HubUnreachableError,
    ModelJobCancelled,
    ModelUnavailableOfflineError,
    OfflineModelError,
    TokenizerBringupError,
    UnknownBaseModelError,
    UnsupportedBaseModelError,
)
from dlm_desktop.core.models.events import ModelProgress, never_stop
from dlm_desktop.core.models.network import is_online
from dlm_desktop.core.models.offline import ensure_offline_smollm2, find_converted_smollm2, locate_embedded_gguf
from dlm_desktop.core.models.registry import BASE_MODELS, DEFAULT_BASE_KEY, BaseModelSpec, known_keys, lookup_base
from dlm_desktop.core.models.resolve import ResolvedBase, resolve_base
from dlm_desktop.core.models.tokenizer import TokenizerBringup, bring_up_tokenizer, prepare_tokenizer

__all__ = [
    "BASE_MODELS",
    "DEFAULT_BASE_KEY",
    "BaseModelError",
    "BaseModelFolderError",
    "BaseModelSpec",
    "HubDownloadError",
    "HubUnreachableError",
    "ModelJobCancelled",
    "ModelProgress",
    "ModelUnavailableOfflineError",
    "OfflineModelError",
    "ResolvedBase",
    "TokenizerBringup",
    "TokenizerBringupError",
    "UnknownBaseModelError",
    "UnsupportedBaseModelError",
    "bring_up_tokenizer",
    "ensure_offline_smollm2",
    "find_converted_smollm2",
    "hub_cache_dir",
    "is_online",
    "known_keys",
    "locate_embedded_gguf",
    "lookup_base",
    "model_cache_dir",
    "never_stop",
    "prepare_tokenizer",
    "resolve_base",
]
