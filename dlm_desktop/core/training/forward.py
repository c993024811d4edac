"""The training forward pass: hidden states of the decoder, then the output head on target positions only.

A causal language model's output head (hidden size × vocabulary, 576 × 49,152 for SmolLM2-135M) is a large
share of the compute. Only positions that have a target need it: with instruction rows masked to their
answers that is a fraction of the tokens. So the decoder body runs on the whole batch, the positions with a
target are gathered, and the head and the loss run on those alone.

Batches are right-padded and run without an attention mask: in a causal model a real token only attends to
earlier positions, which are all real, so padding cannot leak into any position that has a target, and the
attention can take its fast causal path. Padded positions have no target and are never read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from dlm_desktop.core.training.examples import IGNORE_INDEX, Example

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class ModelParts:
    """The pieces of a causal LM the loss needs: the decoder `body` (returns `last_hidden_state`), the output
    `head`, and the logit soft-cap some architectures apply after the head (Gemma 2), else None."""

    body: Any
    head: Any
    softcap: float | None = None


def model_parts(causal_lm: Any) -> ModelParts:
    """Find the decoder body and output head of a transformers causal LM (PEFT layers stay in place)."""
    prefix = getattr(causal_lm, "base_model_prefix", "model")
    body = getattr(causal_lm, prefix, None)
    head = causal_lm.get_output_embeddings()
    if body is None or head is None:
        raise TypeError(f"{type(causal_lm).__name__} has no decoder body or output head")
    softcap = getattr(causal_lm.config, "final_logit_softcapping", None)
    return ModelParts(body=body, head=head, softcap=float(softcap) if softcap else None)


@dataclass(frozen=True)
class Batch:
    """A padded micro-batch: `input_ids` [B, T]; `targets` [B, T] where `targets[b, t]` is the token that
    position t must predict (-100: none); `tokens` counts the real (unpadded) tokens."""

    input_ids: "torch.Tensor"
    targets: "torch.Tensor"
    tokens: int
    target_count: int


def collate(examples: Sequence[Example], pad_id: int, device: Any) -> Batch:
    """Right-pad `examples` into one batch, shifting labels so that position t holds the next token."""
    import torch

    width = max(example.length for example in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    targets = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    for row, example in enumerate(examples):
        ids[row, : example.length] = torch.tensor(example.input_ids, dtype=torch.long)
        targets[row, : example.length - 1] = torch.tensor(example.labels[1:], dtype=torch.long)
    tokens = sum(example.length for example in examples)
    count = int((targets != IGNORE_INDEX).sum())
    return Batch(ids.to(device), targets.to(device), tokens, count)


def loss_sum(parts: ModelParts, batch: Batch) -> "torch.Tensor":
    """The summed cross-entropy over the batch's targets (computed in float32 whatever the model dtype)."""
    import torch.nn.functional as F

    hidden = parts.body(input_ids=batch.input_ids, use_cache=False).last_hidden_state
    where = batch.targets != IGNORE_INDEX
    logits = parts.head(hidden[where])
    if parts.softcap is not None:
        logits = (logits / parts.softcap).tanh() * parts.softcap
    return F.cross_entropy(logits.float(), batch.targets[where], reduction="sum")


def mean_loss(parts: ModelParts, batches: Iterable[Batch]) -> float | None:
    """The mean loss per target over `batches`, without gradients (None when there is no target)."""
    import torch

    total = 0.0
    count = 0
    with torch.no_grad():
        for batch in batches:
            if batch.target_count:
                total += float(loss_sum(parts, batch))
                count += batch.target_count
    return total / count if count else None


def perplexity(loss: float) -> float:
    """exp(loss), saturating at infinity instead of overflowing."""
    return math.exp(loss) if loss < 700 else math.inf
