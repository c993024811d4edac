"""The framework-agnostic half of streaming generation, shared by `generation` (torch) and `mlx_generation`:
the request, event and result types, the sampling settings, the tokens that end a turn, and the decoding
loop.

A runtime hands `decode_rows` a `steps(requests)` generator: each `next()` runs the model once and gives
one chosen token id per row; when resumed, it feeds those tokens back for the next step. The loop owns the
rest: the backend's view guard for the whole run, `should_stop` before every step, the `max_tokens` budget,
end-of-turn tokens, one `TokenEvent` per new token per row, and the `GenerationResult` at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from dlm_desktop.core.inference.errors import ScoringInputError

FinishReason = Literal["stop", "length", "cancelled"]
Steps = Callable[[Sequence["RowRequest"]], Iterator[Sequence[int]]]
_END_OF_TURN_MARKERS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>", "</s>")


@dataclass(frozen=True)
class GenerationSettings:
    """Sampling knobs: `temperature` 0 is greedy; `top_p` < 1 keeps the smallest set reaching that mass;
    `seed` makes sampling repeatable (None: a fresh seed); `stop_at_end_of_turn=False` always generates
    `max_tokens` (benchmarks, continuations)."""

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop_at_end_of_turn: bool = True

    def __post_init__(self) -> None:
        if self.max_tokens < 1 or self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ScoringInputError(
                f"bad generation settings (max_tokens={self.max_tokens}, temperature={self.temperature}, "
                f"top_p={self.top_p})", fix="use max_tokens ≥ 1, temperature ≥ 0 and 0 < top_p ≤ 1")


@dataclass(frozen=True)
class RowRequest:
    """One row to generate: its `side` label, prompt token ids and adapter factors (None: the plain base)."""

    side: str
    token_ids: tuple[int, ...]
    factors: Mapping[str, float] | None


@dataclass(frozen=True)
class TokenEvent:
    """One new token of one side: `text` is the text it adds (may be empty while a character is incomplete)."""

    side: str
    text: str
    token_id: int
    index: int


@dataclass(frozen=True)
class RowResult:
    """A side's whole answer: text, token ids (without the stop token) and why it ended."""

    side: str
    text: str
    token_ids: tuple[int, ...]
    finish_reason: FinishReason


@dataclass(frozen=True)
class GenerationResult:
    """Every row's answer, the seconds to the first token and in total."""

    rows: tuple[RowResult, ...]
    first_token_s: float | None
    total_s: float

    def side(self, name: str) -> RowResult:
        """The answer of side `name`."""
        return next(row for row in self.rows if row.side == name)


class _RowState:
    """Tokens and streamed text of one row."""

    def __init__(self, request: RowRequest) -> None:
        self.request = request
        self.ids: list[int] = []
        self.text = ""
        self.finish: FinishReason | None = None

    def add(self, tokenizer: Any, token_id: int) -> TokenEvent:
        self.ids.append(token_id)
        decoded = tokenizer.decode(self.ids, skip_special_tokens=True)
        delta = ""
        if not decoded.endswith("\ufffd"):  # hold back half of a multi-byte character
            delta = decoded[len(self.text):]
            self.text = decoded
        return TokenEvent(self.request.side, delta, token_id, len(self.ids) - 1)

    def result(self, tokenizer: Any) -> RowResult:
        text = tokenizer.decode(self.ids, skip_special_tokens=True)
        return RowResult(self.request.side, text, tuple(self.ids), self.finish or "length")


def decode_rows(backend: Any, rows: Sequence[RowRequest], settings: GenerationSettings,
                should_stop: Callable[[], bool], *, eos_source: Any,
                steps: Steps) -> Generator[TokenEvent, None, GenerationResult]:
    """Generate every row with the runtime's `steps` (see the module docstring), holding `backend.guard` for
    the whole run so no scoring view can change the shared model meanwhile. `eos_source` is the object whose
    `generation_config` may name more end-of-turn ids (the model, or a backend standing in for it)."""
    if not rows or any(not row.token_ids for row in rows):
        raise ScoringInputError("every generation row needs prompt tokens", fix="give a non-empty prompt")
    with backend.guard.lease("generation"):
        states = [_RowState(row) for row in rows]
        return (yield from _decode(backend.tokenizer, states, settings, should_stop, eos_source, steps(rows)))


def _decode(tokenizer: Any, states: list[_RowState], settings: GenerationSettings, should_stop: Callable[[], bool],
            eos_source: Any, chosen_tokens: Iterator[Sequence[int]]) -> Generator[TokenEvent, None, GenerationResult]:
    started = time.monotonic()
    first_token_s: float | None = None
    stops = stop_token_ids(tokenizer, eos_source) if settings.stop_at_end_of_turn else frozenset()
    for _ in range(settings.max_tokens):
        if should_stop():
            _finish_open(states, "cancelled")
            break
        for state, token_id in zip(states, next(chosen_tokens)):
            if state.finish is not None:
                continue
            if token_id in stops:
                state.finish = "stop"
                continue
            first_token_s = first_token_s if first_token_s is not None else time.monotonic() - started
            yield state.add(tokenizer, int(token_id))
        if all(state.finish is not None for state in states):
            break
    _finish_open(states, "length")
    rows = tuple(state.result(tokenizer) for state in states)
    return GenerationResult(rows, first_token_s, time.monotonic() - started)


def _finish_open(states: list[_RowState], reason: FinishReason) -> None:
    for state in states:
        if state.finish is None:
            state.finish = reason


def batch_factors(rows: Sequence[RowRequest]) -> list[Mapping[str, float]] | None:
    """None when every row is the plain base (adapters switched off), else one factor map per row."""
    if all(row.factors is None for row in rows):
        return None
    return [row.factors or {} for row in rows]


def stop_token_ids(tokenizer: Any, model: Any) -> frozenset[int]:
    """Token ids that end a turn: EOS (tokenizer and generation config) and known end-of-turn markers."""
    found: set[int] = set()
    config_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (tokenizer.eos_token_id, config_eos):
        found.update([value] if isinstance(value, int) else list(value or []))
    for marker in _END_OF_TURN_MARKERS:
        token_id = tokenizer.convert_tokens_to_ids(marker)
        if isinstance(token_id, int) and tokenizer.convert_ids_to_tokens(token_id) == marker:
            found.add(token_id)
    return frozenset(found)
