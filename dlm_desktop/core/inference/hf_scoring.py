"""The torch half of the scoring protocol on a transformers causal LM; the token arithmetic (what to score,
windows, batches) is `token_scoring`'s, the same for every runtime.

Logits are torch tensors as the backend's forward returns them; they are scored in float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dlm_desktop.core.inference import token_scoring
from dlm_desktop.core.inference.protocols import TokenDist

if TYPE_CHECKING:
    import torch


def target_logprobs(logits: "torch.Tensor", targets: list[int]) -> "torch.Tensor":
    """The log-probability of `targets[i]` under the softmax of `logits[i]`, one per target (1-D)."""
    import torch

    logprobs = torch.log_softmax(logits.float(), dim=-1)
    return logprobs.gather(1, torch.tensor(targets, device=logprobs.device).unsqueeze(1)).squeeze(1)


def dist_from_logits(logits: "torch.Tensor", top_k: int) -> TokenDist:
    """The top-k of one logits vector, with the vocabulary size and the log of the tail mass."""
    import torch

    logprobs = torch.log_softmax(logits.float(), dim=-1)
    vocab = int(logprobs.shape[-1])
    top = torch.topk(logprobs, min(top_k, vocab))
    log_tail: float | None = None
    if len(top.indices) < vocab:
        rest = logprobs.clone()
        rest[top.indices] = float("-inf")
        log_tail = float(torch.logsumexp(rest, dim=-1))
    return token_scoring.top_k_dist(top.indices, top.values, vocab, log_tail)


def pad_left(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any, Any]:
    """`(input_ids, attention_mask, position_ids)` for rows padded on the left (positions start at 0 at
    each row's first real token, so a padded row computes what it computes alone)."""
    import torch

    padded, padding = token_scoring.pad_left(rows, pad_id)
    width = len(padded[0])
    input_ids = torch.tensor(padded, dtype=torch.long)
    mask = torch.tensor([[0] * pad + [1] * (width - pad) for pad in padding], dtype=torch.long)
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    return input_ids, mask, positions
