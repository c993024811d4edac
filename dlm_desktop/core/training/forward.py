"""The training forward pass: hidden states of the decoder, then the output head on target positions only.

A causal language model's output head (hidden size × vocabulary, 576 × 49,152 for SmolLM2-135M) is a large
share of the compute. Only positions that have a target need it: with instruction rows masked to their
answers that is a fraction of the tokens. So the decoder body runs on the whole batch, the positions with a
target are gathered, and the head and the loss run on those alone.

Batches are right-padded and run without an attention mask: in a causal model a real token only attends to
earlier positions, which are all real, so padding cannot leak into any position that has a target, and the
attention can take its fast causal path. Padded positions have no target and are never read. A row that
packs several examples gives each its own position ids starting at 0; transformers reads the restarts as
sequence boundaries (when no attention mask and no cache are passed) and masks attention across them.
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
    position t must predict (-100: none); `position_ids` [B, T] when a row packs several examples (else None);
    `tokens` counts the real (unpadded) tokens."""

    input_ids: "torch.Tensor"
    targets: "torch.Tensor"
    tokens: int
    target_count: int
    position_ids: "torch.Tensor | None" = None


def collate(examples: Sequence[Example], pad_id: int, device: Any) -> Batch:
    """Right-pad `examples` into one batch, one example per row."""
    return collate_packed([[example] for example in examples], pad_id, device)


def collate_packed(rows: Sequence[Sequence[Example]], pad_id: int, device: Any) -> Batch:
    """One batch row per entry of `rows`, its examples one after the other, right-padded to the longest row.
    Labels are shifted so that position t holds the token to predict next."""
    import torch

    width = max(sum(example.length for example in row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    targets = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        at = 0
        for example in row:
            end = at + example.length
            ids[index, at:end] = torch.tensor(example.input_ids, dtype=torch.long)
            targets[index, at:end - 1] = torch.tensor(example.labels[1:], dtype=torch.long)
            positions[index, at:end] = torch.arange(example.length)
            at = end
        positions[index, at:] = torch.arange(width - at)  # the padding tail is a segment of its own
    packed = any(len(row) > 1 for row in rows)
    tokens = sum(example.length for row in rows for example in row)
    count = int((targets != IGNORE_INDEX).sum())
    return Batch(ids.to(device), targets.to(device), tokens, count, positions.to(device) if packed else None)


def loss_sum(parts: ModelParts, batch: Batch) -> "torch.Tensor":
    """The summed cross-entropy over the batch's targets (computed in float32 whatever the model dtype)."""
    import torch.nn.functional as F

    extra = {} if batch.position_ids is None else {"position_ids": batch.position_ids}
    hidden = parts.body(input_ids=batch.input_ids, use_cache=False, **extra).last_hidden_state
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
