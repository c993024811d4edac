"""Streaming generation on the `hf` backend: several rows in ONE batched decoding loop with a KV cache.

Each row carries its own adapter factors, applied per row by `lora_control` on every forward pass, so a
side-by-side answer is one batch of two rows: row 0 with every factor 0 (the base, exactly) and row 1 with
the routed mix. Rows are left-padded; positions count from each row's first real token, so a row produces
what it would alone. The loop yields a `TokenEvent` per new token per row, checks `should_stop` before every
step, and returns a `GenerationResult`. Temperature 0 is greedy; above 0 it samples, after top-p filtering.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from dlm_desktop.core.inference.errors import ScoringInputError
from dlm_desktop.core.inference.hf_scoring import pad_left

if TYPE_CHECKING:
    import torch

    from dlm_desktop.core.inference.hf_backend import HFDifferentialBackend

FinishReason = Literal["stop", "length", "cancelled"]
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


def generate_rows(
    backend: "HFDifferentialBackend",
    rows: Sequence[RowRequest],
    settings: GenerationSettings,
    *,
    should_stop: Callable[[], bool] = lambda: False,
) -> Generator[TokenEvent, None, GenerationResult]:
    """Generate every row in one batched loop (see the module docstring). Holds the backend's view guard
    for the whole run, so no scoring view can change the shared model meanwhile."""
    if not rows or any(not row.token_ids for row in rows):
        raise ScoringInputError("every generation row needs prompt tokens", fix="give a non-empty prompt")
    with backend.guard.lease("generation"):
        return (yield from _decode(backend, [_RowState(row) for row in rows], settings, should_stop))


def _decode(backend: "HFDifferentialBackend", states: list[_RowState], settings: GenerationSettings,
            should_stop: Callable[[], bool]) -> Generator[TokenEvent, None, GenerationResult]:
    import torch

    started = time.monotonic()
    first_token_s: float | None = None
    stops = stop_token_ids(backend.tokenizer, backend.model) if settings.stop_at_end_of_turn else frozenset()
    factors = _batch_factors([state.request for state in states])
    input_ids, mask, positions = pad_left([state.request.token_ids for state in states], backend.pad_id)
    generator = _generator(settings, backend.device)
    past = None
    for step in range(settings.max_tokens):
        if should_stop():
            _finish_open(states, "cancelled")
            break
        outputs = backend.run(input_ids, mask, positions, factors=factors, past=past, use_cache=True,
                              validate=step == 0)  # the guard keeps the weights fixed from then on
        past = outputs.past_key_values
        chosen = pick_tokens(outputs.logits[:, -1, :].float(), settings, generator)
        for state, token_id in zip(states, chosen.tolist()):
            if state.finish is not None:
                continue
            if token_id in stops:
                state.finish = "stop"
                continue
            first_token_s = first_token_s if first_token_s is not None else time.monotonic() - started
            yield state.add(backend.tokenizer, int(token_id))
        if all(state.finish is not None for state in states):
            break
        input_ids = chosen.reshape(-1, 1).cpu()
        mask = torch.cat([mask, torch.ones((mask.shape[0], 1), dtype=mask.dtype)], dim=1)
        positions = positions[:, -1:] + 1
    _finish_open(states, "length")
    rows = tuple(state.result(backend.tokenizer) for state in states)
    return GenerationResult(rows, first_token_s, time.monotonic() - started)


def _finish_open(states: list[_RowState], reason: FinishReason) -> None:
    for state in states:
        if state.finish is None:
            state.finish = reason


def _batch_factors(rows: Sequence[RowRequest]) -> list[Mapping[str, float]] | None:
    """None when every row is the plain base (adapters switched off), else one factor map per row."""
    if all(row.factors is None for row in rows):
        return None
    return [row.factors or {} for row in rows]


def _generator(settings: GenerationSettings, device: Any) -> "torch.Generator | None":
    import torch

    if settings.temperature <= 0:
        return None
    generator = torch.Generator(device=device)
    if settings.seed is None:
        generator.seed()
    else:
        generator.manual_seed(settings.seed)
    return generator


def pick_tokens(logits: "torch.Tensor", settings: GenerationSettings, generator: Any) -> "torch.Tensor":
    """The next token of every row: argmax when greedy, else a top-p sample at `temperature`."""
    import torch

    if settings.temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits / settings.temperature, dim=-1)
    if settings.top_p < 1.0:
        ordered, order = probs.sort(dim=-1, descending=True)
        outside = (ordered.cumsum(dim=-1) - ordered) >= settings.top_p  # the top token always stays
        ordered = ordered.masked_fill(outside, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, ordered)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


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


def chat_prompt_ids(tokenizer: Any, text: str, system_prompt: str | None = None) -> tuple[int, ...]:
    """The token ids of `text` as one user turn through the chat template, with the system prompt.

    Templates that refuse a system role get the system prompt as the user turn's first paragraph.
    """
    user = {"role": "user", "content": text}
    messages = [{"role": "system", "content": system_prompt}, user] if system_prompt else [user]
    try:
        rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception:  # a template that rejects the system role raises from inside jinja
        if not system_prompt:
            raise
        merged = {"role": "user", "content": f"{system_prompt}\n\n{text}"}
        rendered = tokenizer.apply_chat_template([merged], tokenize=False, add_generation_prompt=True)
    return tuple(tokenizer(rendered, add_special_tokens=False)["input_ids"])
