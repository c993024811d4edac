"""Typed errors of the training engine.

The engine raises them out of `train_document`; the CLI and the GUI map any `DlmDesktopError` to a failed run
and show the message with its fix. Errors of the layers below (document, models, runtime, store) pass through
unchanged.
"""

from __future__ import annotations

from pathlib import Path

from dlm_desktop.core.errors import DlmDesktopError


class TrainingError(DlmDesktopError):
    """Base class of the training engine's own errors."""


class NothingToTrainError(TrainingError):
    """The document (or one of its adapters) has no prose or instruction rows to train on."""


class AdapterSetupError(TrainingError):
    """The LoRA/DoRA adapters cannot be attached as configured (e.g. `target_modules` names no layer)."""


class ResumeMismatchError(TrainingError):
    """`resume` was asked for, but the saved adapter does not fit the document's adapter settings any more."""


class CheckpointError(TrainingError):
    """The run checkpoint on disk is damaged (bad checksum, unreadable files)."""


class TrainingDivergedError(TrainingError):
    """The loss, the gradients or the weights became NaN or infinite; the run stopped.

    The weights reached so far are kept for inspection in `rejected_dir` (`vNNNN-rejected`), and the
    previous adapter version stays current. `adapter` and `step` say where it happened.
    """

    def __init__(
        self, message: str, *, adapter: str, step: int, rejected_dir: Path | None = None, **kwargs
    ) -> None:
        self.adapter = adapter
        self.step = step
        self.rejected_dir = rejected_dir
        kwargs.setdefault(
            "fix",
            "lower the learning rate (training.learning_rate, or the adapter's learning_rate) and train again",
        )
        super().__init__(message, **kwargs)


class TrainingOutOfMemoryError(TrainingError):
    """A training step needed more memory than the device has."""
