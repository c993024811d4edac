"""Streaming generation on the `mlx` backend: several rows in ONE batched decoding loop over mlx-lm's
left-padded batch cache.

Same contract as `generation.generate_rows` (the torch loop): each row carries its own adapter factors
(None: the plain base), so a side-by-side answer is one batch of two rows on one loaded model; a
`TokenEvent` per new token per row; `should_stop` checked before every step; a `GenerationResult` at the
end. Temperature 0 is greedy; above 0 it samples (numpy, seeded by `settings.seed`) after top-p filtering.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any

from dlm_desktop.core.inference.errors import ScoringInputError
from dlm_desktop.core.inference.generation import (
    GenerationResult,
    GenerationSettings,
    RowRequest,
    TokenEvent,
    _batch_factors,
    _finish_open,
    _RowState,
    stop_token_ids,
)
from dlm_desktop.core.inference.mlx_scoring import pad_left

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
    if not rows or any(not row.token_ids for row in rows):
        raise ScoringInputError("every generation row needs prompt tokens", fix="give a non-empty prompt")
    with backend.guard.lease("generation"):
        return (yield from _decode(backend, [_RowState(row) for row in rows], settings, should_stop))


def _decode(backend: "MlxDifferentialBackend", states: list[_RowState], settings: GenerationSettings,
            should_stop: Callable[[], bool]) -> Generator[TokenEvent, None, GenerationResult]:
    import mlx.core as mx
    import numpy as np

    started = time.monotonic()
    first_token_s: float | None = None
    stops = stop_token_ids(backend.tokenizer, backend) if settings.stop_at_end_of_turn else frozenset()
    factors = _batch_factors([state.request for state in states])
    padded, padding = pad_left([state.request.token_ids for state in states], backend.pad_id)
    cache = backend.batch_cache(padding)
    inputs = mx.array(padded)
    rng = np.random.default_rng(settings.seed) if settings.temperature > 0 else None
    for _ in range(settings.max_tokens):
        if should_stop():
            _finish_open(states, "cancelled")
            break
        logits = backend.run(inputs, cache, factors)[:, -1, :]
        chosen = pick_tokens(np.array(logits.astype(mx.float32)), settings, rng)
        for state, token_id in zip(states, chosen):
            if state.finish is not None:
                continue
            if token_id in stops:
                state.finish = "stop"
                continue
            first_token_s = first_token_s if first_token_s is not None else time.monotonic() - started
            yield state.add(backend.tokenizer, int(token_id))
        if all(state.finish is not None for state in states):
            break
        inputs = mx.array([[int(token)] for token in chosen])
    _finish_open(states, "length")
    rows = tuple(state.result(backend.tokenizer) for state in states)
    return GenerationResult(rows, first_token_s, time.monotonic() - started)


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
