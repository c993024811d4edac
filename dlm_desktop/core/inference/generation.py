"""Streaming generation on the `hf` backend: several rows in ONE batched decoding loop with a KV cache.

Each row carries its own adapter factors, applied per row by `lora_control` on every forward pass, so a
side-by-side answer is one batch of two rows: row 0 with every factor 0 (the base, exactly) and row 1 with
the routed mix. Rows are left-padded; positions count from each row's first real token, so a row produces
what it would alone. The loop (`decoding.decode_rows`, shared with `mlx_generation`) yields a `TokenEvent`
per new token per row, checks `should_stop` before every step, and returns a `GenerationResult`; this module
gives its torch steps. Temperature 0 is greedy; above 0 it samples, after top-p filtering.

The request, event and result types live in `decoding` and are importable from here too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from dlm_desktop.core.inference.decoding import (
    FinishReason,
    GenerationResult,
    GenerationSettings,
    RowRequest,
    RowResult,
    TokenEvent,
    batch_factors,
    decode_rows,
    stop_token_ids,
)
from dlm_desktop.core.inference.hf_scoring import pad_left

if TYPE_CHECKING:
    import torch

    from dlm_desktop.core.inference.hf_backend import HFDifferentialBackend

__all__ = [
    "FinishReason", "GenerationResult", "GenerationSettings", "RowRequest", "RowResult", "TokenEvent",
    "chat_prompt_ids", "generate_rows", "pick_tokens", "stop_token_ids",
]


def generate_rows(
    backend: "HFDifferentialBackend",
    rows: Sequence[RowRequest],
    settings: GenerationSettings,
    *,
    should_stop: Callable[[], bool] = lambda: False,
) -> Generator[TokenEvent, None, GenerationResult]:
    """Generate every row in one batched loop (see the module docstring). Holds the backend's view guard
    for the whole run, so no scoring view can change the shared model meanwhile."""
    return (yield from decode_rows(backend, rows, settings, should_stop, eos_source=backend.model,
                                   steps=lambda requests: _torch_steps(backend, requests, settings)))


def _torch_steps(backend: "HFDifferentialBackend", requests: Sequence[RowRequest],
                 settings: GenerationSettings) -> Iterator[list[int]]:
    """One forward pass with the KV cache per `next()`, giving each row's chosen token; the chosen tokens
    are the next step's input."""
    import torch

    factors = batch_factors(requests)
    input_ids, mask, positions = pad_left([request.token_ids for request in requests], backend.pad_id)
    generator = _generator(settings, backend.device)
    past = None
    for step in itertools.count():
        outputs = backend.run(input_ids, mask, positions, factors=factors, past=past, use_cache=True,
                              validate=step == 0)  # the guard keeps the weights fixed from then on
        past = outputs.past_key_values
        chosen = pick_tokens(outputs.logits[:, -1, :].float(), settings, generator)
        yield chosen.tolist()
        input_ids = chosen.reshape(-1, 1).cpu()
        mask = torch.cat([mask, torch.ones((mask.shape[0], 1), dtype=mask.dtype)], dim=1)
        positions = positions[:, -1:] + 1


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
