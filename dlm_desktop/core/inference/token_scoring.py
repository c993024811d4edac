"""The scoring protocol's token arithmetic, written once for every runtime (`hf_scoring` over torch,
`mlx_scoring` over numpy): which tokens to score, in which windows and batches, and the left-padding plan.

Every function takes `forward(rows, texts, last_only)`, which runs a view's model on left-padded token rows
(`texts` are the raw texts the rows came from, so a gate can route each row) and returns float logits
`[batch, length, vocab]` (only the last position when `last_only`), in the runtime's own array type. The
array work is the runtime's, passed in as a function:

* `target_logprobs(logits, targets)`: the log-probability of `targets[i]` under the softmax of `logits[i]`,
  one per target, as a 1-D array;
* `dist_from_logits(logits, top_k)`: the `TokenDist` of one logits vector.

Prompts are tokenized with the tokenizer's special tokens (a BOS when it adds one), completions without, as
chat training does, so both runtimes score the same token ids. Nothing here imports torch, numpy or MLX.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dlm_desktop.core.inference.errors import ScoringInputError
from dlm_desktop.core.inference.protocols import RollingLogprob, TokenDist

Forward = Callable[[list[list[int]], list[str], bool], Any]
TargetLogprobs = Callable[[Any, list[int]], Any]
DistFromLogits = Callable[[Any, int], TokenDist]
BATCH_ROWS = 16
MAX_WINDOW = 2048


def encode(tokenizer: Any, text: str, *, specials: bool) -> list[int]:
    """Token ids of `text` (with the tokenizer's own special tokens when `specials`)."""
    return list(tokenizer(text, add_special_tokens=specials)["input_ids"])


def prompt_ids(tokenizer: Any, prompt: str) -> list[int]:
    """A prompt's ids; an empty prompt gives no context to score from and is refused."""
    ids = encode(tokenizer, prompt, specials=True)
    if not ids:
        raise ScoringInputError("the prompt gives no tokens, so there is nothing to condition on",
                                fix="pass a non-empty prompt")
    return ids


def logprob_of(forward: Forward, tokenizer: Any, prompt: str, completion: str, *,
               target_logprobs: TargetLogprobs) -> float:
    """Sum of the completion tokens' log-probabilities after the prompt (nats; 0.0 for an empty completion)."""
    context = prompt_ids(tokenizer, prompt)
    target = encode(tokenizer, completion, specials=False)
    if not target:
        return 0.0
    logits = forward([context + target], [prompt], False)[0]
    return float(target_logprobs(logits[len(context) - 1 : -1], target).sum())


def rolling_logprob(forward: Forward, tokenizer: Any, text: str, *, window: int = MAX_WINDOW,
                    target_logprobs: TargetLogprobs) -> RollingLogprob:
    """Per-token log-probabilities of `text`; long texts are read in half-overlapping windows of `window`."""
    ids = encode(tokenizer, text, specials=True)
    if len(ids) < 2:
        return RollingLogprob(())
    window = max(2, window)
    scores: list[float] = []
    scored_until = 1  # tokens before this index are scored (or are the unscorable first token)
    start = 0
    while scored_until < len(ids):
        chunk = ids[start : start + window]
        first = scored_until - start  # score `chunk[first:]` given the tokens before them in the chunk
        logits = forward([chunk], [text], False)[0]
        scores += [float(value) for value in target_logprobs(logits[first - 1 : -1], chunk[first:])]
        scored_until = start + len(chunk)
        start = max(start + 1, scored_until - window // 2)
    return RollingLogprob(tuple(scores))


def next_token_dists(forward: Forward, tokenizer: Any, prompts: Sequence[str], top_k: int, *,
                     dist_from_logits: DistFromLogits) -> list[TokenDist]:
    """The top-k next-token distribution after each prompt, computed in left-padded batches."""
    if top_k < 1:
        raise ScoringInputError(f"top_k must be at least 1, got {top_k}", fix="ask for one or more tokens")
    rows = [prompt_ids(tokenizer, prompt) for prompt in prompts]
    dists: list[TokenDist] = []
    for start in range(0, len(rows), BATCH_ROWS):
        logits = forward(rows[start : start + BATCH_ROWS], list(prompts[start : start + BATCH_ROWS]), True)
        dists += [dist_from_logits(logits[row, -1], top_k) for row in range(logits.shape[0])]
    return dists


def top_k_dist(token_ids: Sequence[Any], logprobs: Sequence[Any], vocab: int, log_tail: float | None) -> TokenDist:
    """A `TokenDist` of the top-k ids and log-probabilities; `log_tail` is the log of the mass outside them
    (None when the top-k is the whole vocabulary), stored as 0.0 when it is not a finite negative number."""
    if log_tail is not None:
        log_tail = log_tail if log_tail < 0.0 and log_tail != float("-inf") else 0.0
    return TokenDist(
        token_ids=tuple(int(i) for i in token_ids),
        logprobs=tuple(float(v) for v in logprobs),
        vocab_size=vocab,
        log_tail_mass=log_tail,
    )


def pad_left(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[list[list[int]], list[int]]:
    """Rows padded on the left to the longest, and each row's padding length."""
    width = max(len(row) for row in rows)
    padding = [width - len(row) for row in rows]
    return [[pad_id] * pad + list(row) for row, pad in zip(rows, padding)], padding
