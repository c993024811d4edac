"""The scoring protocol on a transformers causal LM: token-level arithmetic over logits.

Every function takes `forward(rows, texts, last_only)`, which runs the view's model on left-padded token
rows (`texts` are the raw texts the rows came from, so a gate can route each row) and returns float logits
`[batch, length, vocab]` (only the last position when `last_only`). Prompts are tokenized with the
tokenizer's special tokens (a BOS when it adds one), completions without, as chat training does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from dlm_desktop.core.inference.errors import ScoringInputError
from dlm_desktop.core.inference.protocols import RollingLogprob, TokenDist

if TYPE_CHECKING:
    import torch

Forward = Callable[[list[list[int]], list[str], bool], "torch.Tensor"]
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


def logprob_of(forward: Forward, tokenizer: Any, prompt: str, completion: str) -> float:
    """Sum of the completion tokens' log-probabilities after the prompt (nats; 0.0 for an empty completion)."""
    import torch

    context = prompt_ids(tokenizer, prompt)
    target = encode(tokenizer, completion, specials=False)
    if not target:
        return 0.0
    logits = forward([context + target], [prompt], False)[0]
    logprobs = torch.log_softmax(logits[len(context) - 1 : -1].float(), dim=-1)
    picked = logprobs.gather(1, torch.tensor(target, device=logprobs.device).unsqueeze(1))
    return float(picked.sum())


def rolling_logprob(forward: Forward, tokenizer: Any, text: str, *, window: int = MAX_WINDOW) -> RollingLogprob:
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
        scores += _chunk_logprobs(forward, chunk, text, first=scored_until - start)
        scored_until = start + len(chunk)
        start = max(start + 1, scored_until - window // 2)
    return RollingLogprob(tuple(scores))


def _chunk_logprobs(forward: Forward, chunk: list[int], text: str, *, first: int) -> list[float]:
    """Log-probabilities of `chunk[first:]` given the tokens before them in the chunk."""
    import torch

    logits = forward([chunk], [text], False)[0]
    logprobs = torch.log_softmax(logits[first - 1 : -1].float(), dim=-1)
    picked = logprobs.gather(1, torch.tensor(chunk[first:], device=logprobs.device).unsqueeze(1))
    return [float(value) for value in picked.squeeze(1)]


def next_token_dists(forward: Forward, tokenizer: Any, prompts: Sequence[str], top_k: int) -> list[TokenDist]:
    """The top-k next-token distribution after each prompt, computed in left-padded batches."""
    if top_k < 1:
        raise ScoringInputError(f"top_k must be at least 1, got {top_k}", fix="ask for one or more tokens")
    rows = [prompt_ids(tokenizer, prompt) for prompt in prompts]
    dists: list[TokenDist] = []
    for start in range(0, len(rows), BATCH_ROWS):
        logits = forward(rows[start : start + BATCH_ROWS], list(prompts[start : start + BATCH_ROWS]), True)
        dists += [dist_from_logits(logits[row, -1], top_k) for row in range(logits.shape[0])]
    return dists


def dist_from_logits(logits: "torch.Tensor", top_k: int) -> TokenDist:
    """The top-k of one logits vector, with the vocabulary size and the log of the tail mass."""
    import torch

    logprobs = torch.log_softmax(logits.float(), dim=-1)
    vocab = int(logprobs.shape[-1])
    k = min(top_k, vocab)
    top = torch.topk(logprobs, k)
    log_tail: float | None = None
    if k < vocab:
        rest = logprobs.clone()
        rest[top.indices] = float("-inf")
        value = float(torch.logsumexp(rest, dim=-1))
        log_tail = value if value < 0.0 and value != float("-inf") else 0.0
    return TokenDist(
        token_ids=tuple(int(i) for i in top.indices),
        logprobs=tuple(float(v) for v in top.values),
        vocab_size=vocab,
        log_tail_mass=log_tail,
    )


def pad_left(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any, Any]:
    """`(input_ids, attention_mask, position_ids)` for rows padded on the left (positions start at 0 at
    each row's first real token, so a padded row computes what it computes alone)."""
    import torch

    width = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        if row:
            input_ids[index, width - len(row) :] = torch.tensor(list(row), dtype=torch.long)
            mask[index, width - len(row) :] = 1
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    return input_ids, mask, positions
