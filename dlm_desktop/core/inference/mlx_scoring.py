"""The scoring protocol over MLX logits, in numpy: the same token arithmetic as `hf_scoring`.

Every function takes `forward(rows, texts, last_only)` returning float32 numpy logits `[batch, length,
vocab]` (only the last position when `last_only`). Tokenization is `hf_scoring`'s (prompts with the
tokenizer's special tokens, completions without), so both runtimes score the same token ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dlm_desktop.core.inference.errors import ScoringInputError
from dlm_desktop.core.inference.hf_scoring import BATCH_ROWS, MAX_WINDOW, encode, prompt_ids
from dlm_desktop.core.inference.protocols import RollingLogprob, TokenDist

Forward = Callable[[list[list[int]], list[str], bool], Any]


def log_softmax(logits: Any) -> Any:
    """Log-probabilities along the last axis, computed in float64."""
    import numpy as np

    values = np.asarray(logits, dtype=np.float64)
    shifted = values - values.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def logprob_of(forward: Forward, tokenizer: Any, prompt: str, completion: str) -> float:
    """Sum of the completion tokens' log-probabilities after the prompt (nats; 0.0 for an empty completion)."""
    import numpy as np

    context = prompt_ids(tokenizer, prompt)
    target = encode(tokenizer, completion, specials=False)
    if not target:
        return 0.0
    logits = forward([context + target], [prompt], False)[0]
    logprobs = log_softmax(logits[len(context) - 1 : -1])
    return float(logprobs[np.arange(len(target)), target].sum())


def rolling_logprob(forward: Forward, tokenizer: Any, text: str, *, window: int = MAX_WINDOW) -> RollingLogprob:
    """Per-token log-probabilities of `text`, in half-overlapping windows of `window` (as `hf_scoring`)."""
    ids = encode(tokenizer, text, specials=True)
    if len(ids) < 2:
        return RollingLogprob(())
    window = max(2, window)
    scores: list[float] = []
    scored_until, start = 1, 0
    while scored_until < len(ids):
        chunk = ids[start : start + window]
        scores += _chunk_logprobs(forward, chunk, text, first=scored_until - start)
        scored_until = start + len(chunk)
        start = max(start + 1, scored_until - window // 2)
    return RollingLogprob(tuple(scores))


def _chunk_logprobs(forward: Forward, chunk: list[int], text: str, *, first: int) -> list[float]:
    import numpy as np

    logits = forward([chunk], [text], False)[0]
    logprobs = log_softmax(logits[first - 1 : -1])
    picked = logprobs[np.arange(len(chunk) - first), chunk[first:]]
    return [float(value) for value in picked]


def next_token_dists(forward: Forward, tokenizer: Any, prompts: Sequence[str], top_k: int) -> list[TokenDist]:
    """The top-k next-token distribution after each prompt, in left-padded batches."""
    if top_k < 1:
        raise ScoringInputError(f"top_k must be at least 1, got {top_k}", fix="ask for one or more tokens")
    rows = [prompt_ids(tokenizer, prompt) for prompt in prompts]
    dists: list[TokenDist] = []
    for start in range(0, len(rows), BATCH_ROWS):
        logits = forward(rows[start : start + BATCH_ROWS], list(prompts[start : start + BATCH_ROWS]), True)
        dists += [dist_from_logits(logits[row, -1], top_k) for row in range(logits.shape[0])]
    return dists


def dist_from_logits(logits: Any, top_k: int) -> TokenDist:
    """The top-k of one logits vector, with the vocabulary size and the log of the tail mass."""
    import numpy as np

    logprobs = log_softmax(logits)
    vocab = int(logprobs.shape[-1])
    k = min(top_k, vocab)
    order = np.argsort(-logprobs, kind="stable")[:k]
    log_tail: float | None = None
    if k < vocab:
        rest = np.delete(logprobs, order)
        peak = rest.max()
        value = float(peak + np.log(np.exp(rest - peak).sum())) if np.isfinite(peak) else float("-inf")
        log_tail = value if value < 0.0 and value != float("-inf") else 0.0
    return TokenDist(
        token_ids=tuple(int(i) for i in order),
        logprobs=tuple(float(logprobs[i]) for i in order),
        vocab_size=vocab,
        log_tail_mass=log_tail,
    )


def pad_left(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[list[list[int]], list[int]]:
    """Rows padded on the left to the longest, and each row's padding length (for mlx-lm's batch cache)."""
    width = max(len(row) for row in rows)
    padding = [width - len(row) for row in rows]
    return [[pad_id] * pad + list(row) for row, pad in zip(rows, padding)], padding
