"""The "plan before start" figures: rows, tokens and optimizer steps per adapter, without loading a model.

Pure and cheap, for the GUI to show before the user presses Train. Token counts are estimated from the text
(about four characters per token, plus the chat template's markers and the system prompt for instruction
rows) unless a `count_tokens` function (e.g. a loaded tokenizer's) is given. The step counts follow the
engine's rules exactly (`batching.make_data_plan`), given the rows per optimizer step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from dlm_desktop.core.training.batching import make_data_plan
from dlm_desktop.core.training.datasets import AdapterRows, adapter_rows

CHARS_PER_TOKEN = 4.0
TEMPLATE_TOKENS_PER_TURN = 5  # role markers and separators a chat template adds around each turn
DEFAULT_ROWS_PER_STEP = 8

TokenCounter = Callable[[str], int]


def _estimated_count(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


@dataclass(frozen=True)
class AdapterEstimate:
    """One adapter's share of the run. Tokens are per epoch (training split)."""

    adapter: str
    train_rows: int
    val_rows: int
    prose_rows: int
    instruction_rows: int
    preference_rows_left_out: int
    tokens_per_epoch: int
    target_tokens_per_epoch: int
    steps_per_epoch: int
    total_steps: int


@dataclass(frozen=True)
class TrainingEstimate:
    """The whole run: per-adapter figures, total steps and tokens, and (given a speed) seconds."""

    adapters: tuple[AdapterEstimate, ...]
    total_steps: int
    total_tokens: int
    est_seconds: float | None

    def as_json_dict(self) -> dict[str, Any]:
        return {
            "adapters": [vars(adapter) for adapter in self.adapters],
            "total_steps": self.total_steps,
            "total_tokens": self.total_tokens,
            "est_seconds": self.est_seconds,
        }


def row_tokens(row: dict[str, Any], system_prompt: str | None, count: TokenCounter) -> tuple[int, int]:
    """(tokens, target tokens) of one row: prose trains on all its tokens, instruction rows on the answer."""
    if "messages" not in row:
        tokens = count(row["text"]) + 1
        return tokens, tokens - 1
    turns = list(row["messages"])
    tokens = sum(count(turn["content"]) + TEMPLATE_TOKENS_PER_TURN for turn in turns)
    if system_prompt:
        tokens += count(system_prompt) + TEMPLATE_TOKENS_PER_TURN
    answer = count(turns[-1]["content"]) + 1
    return tokens, answer


def estimate_tokens(report: Any, *, count_tokens: TokenCounter | None = None) -> int:
    """Tokens in one epoch of every adapter's training rows (the unit the run's cost grows with)."""
    return sum(adapter.tokens_per_epoch for adapter in plan_run(report, count_tokens=count_tokens).adapters)


def plan_run(
    report: Any,
    *,
    rows_per_step: int = DEFAULT_ROWS_PER_STEP,
    max_steps: int | None = None,
    count_tokens: TokenCounter | None = None,
    tokens_per_second: float | None = None,
) -> TrainingEstimate:
    """Per-adapter rows, tokens and steps for `report` (a `DocumentReport`), as the engine would train it.

    `rows_per_step` is the effective batch (micro-batch × accumulation, 8 by default as the planner aims
    for); `tokens_per_second`, when known (e.g. from the last run), gives an estimated duration.
    """
    count = count_tokens or _estimated_count
    training = report.frontmatter.training
    system = report.frontmatter.system_prompt
    adapters = tuple(
        _adapter_estimate(rows, system, count, rows_per_step, training.num_epochs, max_steps)
        for rows in adapter_rows(report)
    )
    total_steps = sum(adapter.total_steps for adapter in adapters)
    total_tokens = sum(
        round(adapter.tokens_per_epoch * adapter.total_steps / adapter.steps_per_epoch) for adapter in adapters
    )
    seconds = total_tokens / tokens_per_second if tokens_per_second else None
    return TrainingEstimate(adapters, total_steps, total_tokens, seconds)


def _adapter_estimate(
    rows: AdapterRows, system: str | None, count: TokenCounter, rows_per_step: int, epochs: int, max_steps: int | None
) -> AdapterEstimate:
    sizes = [row_tokens(row, system, count) for row in rows.train]
    data = make_data_plan(len(rows.train), rows_per_step, epochs, max_steps)
    return AdapterEstimate(
        adapter=rows.name,
        train_rows=len(rows.train),
        val_rows=len(rows.val),
        prose_rows=rows.prose_rows,
        instruction_rows=rows.instruction_rows,
        preference_rows_left_out=rows.preference_rows,
        tokens_per_epoch=sum(tokens for tokens, _ in sizes),
        target_tokens_per_epoch=sum(targets for _, targets in sizes),
        steps_per_epoch=data.steps_per_epoch,
        total_steps=data.total_steps if rows.train else 0,
    )
