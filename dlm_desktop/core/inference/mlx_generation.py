"""Streaming generation on the `mlx` backend: several rows in ONE batched decoding loop over mlx-lm's
left-padded batch cache.

Same contract as `generation.generate_rows` (the torch loop) and the same loop (`decoding.decode_rows`):
each row carries its own adapter factors (None: the plain base), so a side-by-side answer is one batch of
two rows on one loaded model; a `TokenEvent` per new token per row; `should_stop` checked before every step;
a `GenerationResult` at the end. This module gives the MLX steps. Temperature 0 is greedy; above 0 it
samples (numpy, seeded by `settings.seed`) after top-p filtering.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from dlm_desktop.core.inference.decoding import (
    GenerationResult,
    GenerationSettings,
    RowRequest,
    TokenEvent,
    batch_factors,
    decode_rows,
)
from dlm_desktop.core.inference.token_scoring import pad_left

if TYPE_CHECKING:
    from dlm_desktop.core.inference.mlx_backend import MlxDifferentialBackend


def generate_rows_mlx(
    backend: "MlxDifferentialBackend",
    rows: Sequence[RowRequest],
    settings: GenerationSettings,
    *,
    should_stop: Callable[[], bool] = lambda: False,
) -> Generator[TokenEvent, None, GenerationResult]:
    """Generate every row in one batched loop; holds the backend's view guard for the whole run."""
    return (yield from decode_rows(backend, rows, settings, should_stop, eos_source=backend,
                                   steps=lambda requests: _mlx_steps(backend, requests, settings)))


def _mlx_steps(backend: "MlxDifferentialBackend", requests: Sequence[RowRequest],
               settings: GenerationSettings) -> Iterator[list[int]]:
    """One forward pass over the batch cache per `next()`, giving each row's chosen token; the chosen tokens
    are the next step's input."""
    import mlx.core as mx
    import numpy as np

    factors = batch_factors(requests)
    padded, padding = pad_left([request.token_ids for request in requests], backend.pad_id)
    cache = backend.batch_cache(padding)
    inputs = mx.array(padded)
    rng = np.random.default_rng(settings.seed) if settings.temperature > 0 else None
    while True:
        logits = backend.run(inputs, cache, factors)[:, -1, :]
        chosen = pick_tokens(np.array(logits.astype(mx.float32)), settings, rng)
        yield chosen
        inputs = mx.array([[int(token)] for token in chosen])


def pick_tokens(logits: Any, settings: GenerationSettings, rng: Any) -> list[int]:
    """The next token of every row: argmax when greedy, else a top-p sample at `temperature`."""
    import numpy as np

    if settings.temperature <= 0 or rng is None:
        return [int(i) for i in logits.argmax(axis=-1)]
    chosen = []
    for row in np.asarray(logits, dtype=np.float64):
        scaled = (row - row.max()) / settings.temperature
        probs = np.exp(scaled)
        probs /= probs.sum()
        if settings.top_p < 1.0:
            order = np.argsort(-probs, kind="stable")
            ordered = probs[order]
            outside = (np.cumsum(ordered) - ordered) >= settings.top_p  # the top token always stays
            probs = np.zeros_like(probs)
            probs[order[~outside]] = ordered[~outside]
            probs /= probs.sum()
        chosen.append(int(rng.choice(len(probs), p=probs)))
    return chosen
