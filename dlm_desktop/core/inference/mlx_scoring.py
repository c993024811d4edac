"""The numpy half of the scoring protocol over MLX logits (the backend hands numpy float32 arrays); the token
arithmetic (what to score, windows, batches, padding) is `token_scoring`'s, the same as for `hf_scoring`, so
both runtimes score the same token ids.
"""

from __future__ import annotations

from typing import Any

from dlm_desktop.core.inference import token_scoring
from dlm_desktop.core.inference.protocols import TokenDist

def log_softmax(logits: Any) -> Any:
    """Log-probabilities along the last axis, computed in float64."""
    import numpy as np

    values = np.asarray(logits, dtype=np.float64)
    shifted = values - values.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def target_logprobs(logits: Any, targets: list[int]) -> Any:
    """The log-probability of `targets[i]` under the softmax of `logits[i]`, one per target (1-D)."""
    import numpy as np

    return log_softmax(logits)[np.arange(len(targets)), targets]


def dist_from_logits(logits: Any, top_k: int) -> TokenDist:
    """The top-k of one logits vector, with the vocabulary size and the log of the tail mass."""
    import numpy as np

    logprobs = log_softmax(logits)
    vocab = int(logprobs.shape[-1])
    order = np.argsort(-logprobs, kind="stable")[: min(top_k, vocab)]
    log_tail: float | None = None
    if len(order) < vocab:
        rest = np.delete(logprobs, order)
        peak = rest.max()
        log_tail = float(peak + np.log(np.exp(rest - peak).sum())) if np.isfinite(peak) else float("-inf")
    return token_scoring.top_k_dist(order, logprobs[order], vocab, log_tail)
