"""Typed errors of the learned adapter gate (training, persistence, routing).

Problems with `gate_config.json` itself (missing, malformed, trained without weights) are the store's
`GateConfigError`; a weights file that does not fit its config is reported with the same class, so a caller
that loads a gate catches one error for "the gate on disk cannot be used".
"""

from __future__ import annotations

from dlm_desktop.core.errors import DlmDesktopError


class GateError(DlmDesktopError):
    """Base class of the gate's own errors."""


class GateInputError(GateError):
    """The gate was given something it cannot use: fewer than two or duplicate adapter names, a non-positive
    dimension, an embedding of the wrong size, labels that do not match the embeddings, or no embeddings."""


class GateTrainingError(GateError):
    """Gate training diverged (the loss became NaN or infinite). Nothing was saved; the adapters are kept."""

    def __init__(self, message: str, *, step: int, **kwargs) -> None:
        self.step = step
        kwargs.setdefault(
            "fix",
            "lower training.gate.lr, or check that the base model gives finite outputs on this document",
        )
        super().__init__(message, **kwargs)


class GateCancelled(GateError):
    """The gate stage stopped because `should_stop()` returned True; no gate file was written."""
