"""Training: the training loop as an event generator, checkpoints and exact resume, multi-adapter, the gate.

Entry points (importing this package does not import torch):

* `train_document(TrainRequest(...), should_stop=...)`: a generator of `TrainingEvent`s returning a
  `TrainResult`; the CLI and the GUI drain it.
* `plan_run(report)` / `estimate_tokens(report)`: rows, tokens and steps per adapter before training.
* `read_checkpoint_meta(StorePaths)`: whether an interrupted run can be resumed (no torch).
"""

from __future__ import annotations

from dlm_desktop.core.training.checkpoint import CheckpointMeta, checkpoint_dir, read_checkpoint_meta
from dlm_desktop.core.training.engine import train_document
from dlm_desktop.core.training.errors import (
    AdapterSetupError,
    CheckpointError,
    NothingToTrainError,
    ResumeMismatchError,
    TrainingDivergedError,
    TrainingError,
    TrainingOutOfMemoryError,
)
from dlm_desktop.core.training.estimate import AdapterEstimate, TrainingEstimate, estimate_tokens, plan_run
from dlm_desktop.core.training.events import (
    CheckpointSaved,
    EvalCompleted,
    ModelLoading,
    Notice,
    OverfitWarning,
    RunFinished,
    StageStarted,
    StepCompleted,
    TrainingEvent,
    VersionCommitted,
    describe,
)
from dlm_desktop.core.training.request import GateSummary, StageOutcome, TrainRequest, TrainResult

__all__ = [
    "AdapterEstimate",
    "AdapterSetupError",
    "CheckpointError",
    "CheckpointMeta",
    "CheckpointSaved",
    "EvalCompleted",
    "GateSummary",
    "ModelLoading",
    "Notice",
    "NothingToTrainError",
    "OverfitWarning",
    "ResumeMismatchError",
    "RunFinished",
    "StageOutcome",
    "StageStarted",
    "StepCompleted",
    "TrainRequest",
    "TrainResult",
    "TrainingDivergedError",
    "TrainingError",
    "TrainingEstimate",
    "TrainingEvent",
    "TrainingOutOfMemoryError",
    "VersionCommitted",
    "checkpoint_dir",
    "describe",
    "estimate_tokens",
    "plan_run",
    "read_checkpoint_meta",
    "train_document",
]
