"""Typed errors of chat, scoring and the "did it learn?" probes. Each one says how to fix the problem."""

from __future__ import annotations

from dlm_desktop.core.errors import DlmDesktopError


class InferenceError(DlmDesktopError):
    """Base class of the inference engine's errors."""


class BackendSpecError(InferenceError):
    """A backend spec cannot be built: unknown kind, missing or malformed field, no adapter."""


class BackendUnavailableError(InferenceError):
    """The backend kind exists but cannot run here (MLX without `mlx` and `mlx_lm` installed)."""


class CustomBackendError(InferenceError):
    """A `custom` entry point cannot be imported, constructed, or does not satisfy the scoring protocols."""


class ViewStateError(InferenceError):
    """A second view was opened while one is open, or a view was used after its `with` block closed."""


class NonFiniteLogitsError(InferenceError):
    """A forward pass produced NaN or infinite logits; no verdict can be trusted."""


class AdapterLoadError(InferenceError):
    """An adapter is missing from the store, cannot be loaded, or cannot be mixed exactly."""


class ScoringInputError(InferenceError):
    """A scoring call was given something it cannot score (empty prompt, top_k < 1, unknown adapter...)."""


class ApiBackendError(InferenceError):
    """The OpenAI-compatible server failed, is unreachable, or answered without usable log-probabilities."""


class ChatRequestError(InferenceError):
    """A chat or probe request is invalid for this document (undeclared adapter, bad gate mode, no prompts)."""

    bad_input = True
