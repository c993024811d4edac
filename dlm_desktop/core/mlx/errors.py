"""Typed errors of the MLX runtime; each message says how to fix the problem."""

from __future__ import annotations

from dlm_desktop.core.errors import DlmDesktopError


class MlxError(DlmDesktopError):
    """Base class of the MLX runtime's errors."""


class MlxUnavailableError(MlxError):
    """`mlx` or `mlx_lm` cannot be imported, or the base model's architecture is unknown to mlx-lm."""


class AdapterConversionError(MlxError):
    """An adapter cannot be converted between PEFT and mlx-lm exactly (DoRA, per-module ranks, embeddings...)."""
