"""The inputs and the outcome of a training run (`train_document`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

ResultStatus = Literal["ok", "cancelled"]


@dataclass(frozen=True)
class TrainRequest:
    """What to train and how; everything else comes from the document's frontmatter.

    * `max_steps` caps each adapter's optimizer steps (the schedule is laid out over them), else epochs
      decide. On `resume` with a checkpoint and no `max_steps`, the interrupted run's cap is kept.
    * `resume`: continue an interrupted run exactly from its checkpoint; without one, start from the current
      adapter weights (upstream `dlm`'s meaning). A fresh run (`resume=False`) discards an old checkpoint.
    * `base`: a registry key, `hf:org/name` or model folder that replaces the document's `base_model`.
    * `mask_prompt_tokens`: instruction rows train on the answer only (False: on the whole transcript).
    * `checkpoint_interval_s`: wall time between resumable checkpoints (one is also written on cancel).
    * `home`: the DLM home (default `$DLM_HOME` or the platform's); `backend`: a backend override;
      `force`: train a base the CPU planner refuses as too large; `offline`: as for `resolve_base`.
    * `eval_every`: steps between validation passes (default: a quarter of the run, and always at the end).
    """

    document_path: Path
    max_steps: int | None = None
    resume: bool = False
    base: str | None = None
    mask_prompt_tokens: bool = True
    checkpoint_interval_s: float = 180.0
    home: Path | None = None
    backend: str | None = None
    force: bool = False
    offline: bool | None = None
    eval_every: int | None = None
    lock_timeout_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "document_path", Path(self.document_path))
        if self.max_steps is not None and self.max_steps < 1:
            from dlm_desktop.core.training.errors import TrainingError

            raise TrainingError(f"max_steps must be at least 1, got {self.max_steps}", fix="pass --max-steps 1 or more")


@dataclass(frozen=True)
class StageOutcome:
    """How one adapter's training went. `version_dir` is set once the version is committed."""

    adapter: str
    run_id: int
    steps: int
    total_steps: int
    first_loss: float | None
    final_train_loss: float | None
    final_val_loss: float | None
    tokens: int
    train_seconds: float
    version_dir: Path | None = None

    @property
    def tokens_per_second(self) -> float:
        """Real tokens trained per second of step time (0 before any step)."""
        return self.tokens / self.train_seconds if self.train_seconds > 0 else 0.0


@dataclass(frozen=True)
class GateSummary:
    """What the gate stage produced: `mode` is `trained`, `uniform` or `diverged`."""

    mode: str
    adapter_names: tuple[str, ...]


@dataclass(frozen=True)
class TrainResult:
    """The outcome of `train_document` (failures raise instead).

    `adapters` maps adapter name (`default` for a single-adapter document) to its committed version folder.
    A cancelled run has committed nothing (or, when it stopped in the gate stage, all its adapters); its
    resumable state is in `checkpoint`. Loss figures are those of the last adapter; `stages` has them per
    adapter. `steps` counts the optimizer steps of every adapter.
    """

    status: ResultStatus
    steps: int
    first_loss: float | None
    final_train_loss: float | None
    final_val_loss: float | None
    adapters: Mapping[str, Path]
    gate: GateSummary | None
    tokens_per_second: float
    duration_s: float
    stages: tuple[StageOutcome, ...] = ()
    checkpoint: Path | None = None
    notices: tuple[str, ...] = field(default=())

    def as_json_dict(self) -> dict[str, Any]:
        """The `train --json` object."""
        return {
            "status": self.status,
            "steps": self.steps,
            "first_loss": self.first_loss,
            "final_train_loss": self.final_train_loss,
            "final_val_loss": self.final_val_loss,
            "adapters": {name: str(path) for name, path in self.adapters.items()},
            "gate": None if self.gate is None
            else {"mode": self.gate.mode, "adapter_names": list(self.gate.adapter_names)},
            "tokens_per_second": round(self.tokens_per_second, 2),
            "duration_s": round(self.duration_s, 2),
        }
