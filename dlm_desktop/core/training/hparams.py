"""Hyperparameters of a run, read from the frontmatter (SPEC-upstream §1.4, §3.2, §3.3).

Per adapter: the adapter kind (LoRA, DoRA, QLoRA), rank, alpha, dropout, target modules and learning rate,
from `training.adapters[name]` for named adapters and from the flat fields otherwise. `target_modules` is
honoured when it is a list (upstream ignores it); `auto` means the base model's registry list. Shared by all
adapters: seed, epochs, sequence length, optimizer, schedule and warmup.

The CPT rule is upstream's: when the schedule is `dapt`, or `auto` and more than 70% of an adapter's
training rows are prose, the schedule becomes cosine decaying to 10% of the peak with 20% warmup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

from dlm_desktop.core.document.router import DEFAULT_ADAPTER

ScheduleKind = Literal["cosine", "linear", "constant"]
CPT_AUTO_THRESHOLD = 0.7
CPT_WARMUP_RATIO = 0.2
CPT_MIN_LR_RATIO = 0.1
MAX_GRAD_NORM = 1.0
# Optimizers that need bitsandbytes or GaLore; the engine uses torch's AdamW instead and says so.
_NON_TORCH_OPTIMIZERS = ("adamw_bnb_8bit", "paged_adamw_8bit", "galore_adamw", "galore_adamw_8bit")


@dataclass(frozen=True)
class AdapterHparams:
    """One adapter to train. `name` is its PEFT and routing name (`default` for a single-adapter document);
    `store_name` is None for the flat store layout (`adapter/versions/`) and the name otherwise."""

    name: str
    store_name: str | None
    kind: Literal["lora", "qlora", "dora"]
    r: int
    alpha: int
    dropout: float
    target_modules: tuple[str, ...]
    learning_rate: float

    @property
    def use_dora(self) -> bool:
        return self.kind == "dora"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "r": self.r, "alpha": self.alpha, "dropout": self.dropout,
            "target_modules": list(self.target_modules), "learning_rate": self.learning_rate,
        }


@dataclass(frozen=True)
class ScheduleSpec:
    """The learning-rate schedule of one adapter stage."""

    kind: ScheduleKind
    warmup_ratio: float
    min_lr_ratio: float = 0.0


@dataclass(frozen=True)
class RunHparams:
    """Settings shared by every adapter of the run."""

    seed: int
    num_epochs: int
    sequence_len: int
    optimizer: str
    schedule: ScheduleSpec
    cpt_mode: str
    max_grad_norm: float = MAX_GRAD_NORM
    weight_decay: float = 0.0

    @property
    def optimizer_fallback(self) -> bool:
        """True when the document asks for an optimizer this engine replaces by torch's AdamW."""
        return self.optimizer in _NON_TORCH_OPTIMIZERS


def adapter_hparams(training: Any, default_targets: Sequence[str]) -> list[AdapterHparams]:
    """The adapters to train, in declaration order (one `default` adapter without `training.adapters`)."""
    if not training.adapters:
        return [_one(DEFAULT_ADAPTER, None, training, default_targets)]
    return [_one(name, name, config, default_targets) for name, config in training.adapters.items()]


def _one(name: str, store_name: str | None, config: Any, default_targets: Sequence[str]) -> AdapterHparams:
    targets = config.target_modules
    chosen = tuple(default_targets) if targets == "auto" else tuple(targets)
    return AdapterHparams(
        name=name,
        store_name=store_name,
        kind=config.adapter,
        r=int(config.lora_r),
        alpha=int(config.lora_alpha),
        dropout=float(config.lora_dropout),
        target_modules=chosen,
        learning_rate=float(config.learning_rate),
    )


def run_hparams(training: Any, sequence_len: int) -> RunHparams:
    """The shared settings; `sequence_len` is the document's, already capped by the base's context."""
    return RunHparams(
        seed=int(training.seed),
        num_epochs=int(training.num_epochs),
        sequence_len=int(sequence_len),
        optimizer=str(training.optimizer),
        schedule=ScheduleSpec(training.lr_scheduler, float(training.warmup_ratio)),
        cpt_mode=str(training.cpt.schedule),
    )


def schedule_for(run: RunHparams, prose_rows: int, instruction_rows: int) -> ScheduleSpec:
    """The schedule of one adapter stage, switched to the CPT schedule when its rows call for it."""
    total = prose_rows + instruction_rows
    fraction = prose_rows / total if total else 0.0
    if run.cpt_mode == "dapt" or (run.cpt_mode == "auto" and fraction > CPT_AUTO_THRESHOLD):
        return ScheduleSpec("cosine", CPT_WARMUP_RATIO, CPT_MIN_LR_RATIO)
    return run.schedule
