"""The "before you start" figures of the Train pane: base model, adapters, rows, steps, batch, precision, memory.

`summarize_plan` asks the same core functions the trainer uses (`lookup_base`, `plan_training`, `plan_run`)
without loading a model, so the numbers match the run: the batch is sized for the longest training row (as
the trainer does), capped at the document's `sequence_len` and the base's context. Token counts are
estimates (characters ÷ 4). Runs on the Train pane's background thread; Qt-free; never raises: a problem
(an unknown base, a plan this machine refuses) becomes `problem`, and what could be computed is still shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dlm_desktop.core.errors import DlmDesktopError
from dlm_desktop.core.models import lookup_base
from dlm_desktop.core.runtime import Capabilities, ModelShape, TrainingKnobs, TrainingPlan, plan_training
from dlm_desktop.core.training import plan_run
from dlm_desktop.core.training.datasets import adapter_rows
from dlm_desktop.core.training.estimate import CHARS_PER_TOKEN, DEFAULT_ROWS_PER_STEP, row_tokens


@dataclass(frozen=True)
class AdapterLine:
    """One adapter's share: rows it trains and validates on, and its optimizer steps."""

    name: str
    train_rows: int
    val_rows: int
    steps: int


@dataclass(frozen=True)
class PlanSummary:
    """What the Train pane shows before a run. `plan` is None until the hardware is known (or when refused)."""

    base: str
    base_params: int
    adapters: tuple[AdapterLine, ...]
    epochs: int
    max_steps: int | None
    total_steps: int
    total_tokens: int
    seq_len: int
    gate_steps: int | None
    plan: TrainingPlan | None
    est_seconds: float | None
    speed_source: str = ""
    problem: str | None = None

    @property
    def rows_per_step(self) -> int | None:
        return None if self.plan is None else self.plan.effective_batch_size


def _estimated_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def summarize_plan(
    report: Any,
    caps: Capabilities | None,
    *,
    base_override: str | None = None,
    max_steps: int | None = None,
    tokens_per_second: float | None = None,
) -> PlanSummary:
    """The plan for training `report` (a `DocumentReport`) on `caps` (None: hardware not known yet).

    `tokens_per_second`, when known from an earlier run of this document, gives the duration estimate;
    otherwise the planner's step-time estimate does.
    """
    front = report.frontmatter
    training = front.training
    base_ref = (base_override or "").strip() or front.base_model
    problem: str | None = None
    spec = None
    try:
        spec = lookup_base(base_ref)
    except DlmDesktopError as exc:
        problem = _sentence(exc)
    seq_len = _seq_len(training, spec)
    plan, refused = _hardware_plan(report, caps, spec, seq_len)
    problem = refused or problem
    rows_per_step = plan.effective_batch_size if plan is not None else _fixed_batch(training)
    estimate = plan_run(report, rows_per_step=rows_per_step, max_steps=max_steps, tokens_per_second=tokens_per_second)
    seconds, source = _duration(estimate, plan, tokens_per_second)
    adapters = tuple(AdapterLine(a.adapter, a.train_rows, a.val_rows, a.total_steps) for a in estimate.adapters)
    gate = int(training.gate.steps) if training.gate.enabled and len(training.adapters or {}) >= 2 else None
    return PlanSummary(
        base=spec.key if spec is not None else base_ref, base_params=spec.params if spec is not None else 0,
        adapters=adapters, epochs=training.num_epochs, max_steps=max_steps, total_steps=estimate.total_steps,
        total_tokens=estimate.total_tokens, seq_len=seq_len, gate_steps=gate, plan=plan, est_seconds=seconds,
        speed_source=source, problem=problem,
    )


def _hardware_plan(
    report: Any, caps: Capabilities | None, spec: Any, seq_len: int
) -> tuple[TrainingPlan | None, str | None]:
    """The planner's settings for this base on this hardware, or why there are none (None, None: not known yet)."""
    if caps is None or spec is None or not spec.params:
        return None, None
    try:
        selected = adapter_rows(report)
        return plan_training(caps, _knobs(report.frontmatter.training), spec.params,
                             _longest_row(selected, report.frontmatter.system_prompt, seq_len),
                             shape=ModelShape.guess(spec.params), rows=_most_rows(selected)), None
    except DlmDesktopError as exc:
        return None, _sentence(exc)


def _sentence(exc: DlmDesktopError) -> str:
    return f"{exc.message} {exc.fix}".strip() if exc.fix else exc.message


def _seq_len(training: Any, spec: Any) -> int:
    context = spec.usable_context_length if spec is not None else 0
    return min(training.sequence_len, context or training.sequence_len)


def _knobs(training: Any) -> TrainingKnobs:
    """The knobs the trainer plans with: the largest rank and QLoRA if any adapter asks for it."""
    adapters = list((training.adapters or {}).values())
    kinds = {adapter.adapter for adapter in adapters} or {training.adapter}
    return TrainingKnobs(
        adapter="qlora" if "qlora" in kinds else sorted(kinds)[0],
        lora_r=max([adapter.lora_r for adapter in adapters] or [training.lora_r]),
        micro_batch_size=training.micro_batch_size,
        grad_accum=training.grad_accum,
        precision=training.precision,
        sequence_len=training.sequence_len,
    )


def _longest_row(selected: Any, system: str | None, seq_len: int) -> int:
    """The longest training row in (estimated) tokens, capped at `seq_len`: the length the batch is sized for."""
    lengths = [row_tokens(row, system, _estimated_tokens)[0] for rows in selected for row in rows.train]
    return max(1, min(seq_len, max(lengths, default=seq_len)))


def _most_rows(selected: Any) -> int | None:
    """The largest adapter's number of training rows (None when there are none): the most one batch holds."""
    counts = [len(rows.train) for rows in selected]
    return max(counts) if counts and max(counts) > 0 else None


def _fixed_batch(training: Any) -> int:
    micro, accum = training.micro_batch_size, training.grad_accum
    if isinstance(micro, int) and isinstance(accum, int):
        return micro * accum
    return DEFAULT_ROWS_PER_STEP


def _duration(estimate: Any, plan: TrainingPlan | None, tokens_per_second: float | None) -> tuple[float | None, str]:
    if estimate.est_seconds is not None:
        return estimate.est_seconds, "the speed of your last run"
    if plan is not None and estimate.total_steps:
        return plan.est_step_seconds * estimate.total_steps, "the planner's estimate for this computer"
    return None, ""


def format_duration(seconds: float | None) -> str:
    """`45 s`, `3 min 05 s`, `2 h 10 min`; `under 1 s`; an em dash when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if seconds < 1:
        return "under 1 s"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def format_params(params: int) -> str:
    """`135M parameters`, `1.7B parameters`, or empty when unknown."""
    if params <= 0:
        return ""
    if params >= 1e9:
        return f"{params / 1e9:.1f}B parameters"
    if params < 1e6:
        return f"{params / 1e3:.0f}K parameters"
    return f"{params / 1e6:.0f}M parameters"
