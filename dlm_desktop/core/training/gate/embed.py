"""Prompt embeddings for the gate: the base model's mean last hidden state (SPEC-upstream §4.2).

The raw prompt text is tokenized with no chat template and cut to 512 tokens, the base model runs with every
adapter switched off and `output_hidden_states=True`, and the last hidden state is averaged over the real
(unpadded) tokens. The result is float32 on CPU, one row per prompt.

Prompts are embedded in batches, padded on the right with an attention mask. In a causal model the real
tokens never see the padding, so a batched embedding equals the one-prompt-at-a-time embedding up to float
rounding. The tokenizer is never modified (no pad token is added to it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from dlm_desktop.core.training.gate.errors import GateInputError

if TYPE_CHECKING:
    import torch

MAX_PROMPT_TOKENS = 512
DEFAULT_BATCH_SIZE = 8


def embed_prompts(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_tokens: int = MAX_PROMPT_TOKENS,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> "torch.Tensor":
    """Embeddings `[len(prompts), hidden_size]` (float32, CPU) of `prompts` under the bare base model.

    `model` is a transformers causal LM or a PEFT model around one (its adapters are disabled for the
    forward passes). An empty list gives a `[0, hidden_size]` tensor. A prompt with no tokens is refused.
    """
    import torch

    batches = list(iter_prompt_embeddings(model, tokenizer, prompts, max_tokens=max_tokens, batch_size=batch_size))
    if not batches:
        return torch.zeros((0, hidden_size_of(model)), dtype=torch.float32)
    return torch.cat(batches, dim=0)


def iter_prompt_embeddings(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_tokens: int = MAX_PROMPT_TOKENS,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator["torch.Tensor"]:
    """The embeddings of `prompts`, one `[batch, hidden_size]` tensor per batch, in order.

    Lets a long job report progress and stop between batches; concatenated, the batches equal `embed_prompts`.
    """
    if batch_size < 1 or max_tokens < 1:
        raise GateInputError(
            f"batch_size and max_tokens must be positive (got {batch_size} and {max_tokens})",
            fix="this is a bug in the caller",
        )
    token_ids = [_token_ids(tokenizer, prompt, max_tokens, index) for index, prompt in enumerate(prompts)]
    for start in range(0, len(token_ids), batch_size):
        yield _embed_batch(model, token_ids[start : start + batch_size], _pad_id(tokenizer))


def hidden_size_of(model: Any) -> int:
    """The base model's hidden size (`config.hidden_size`), i.e. the gate's `input_dim`."""
    config = getattr(model, "config", None)
    size = getattr(config, "hidden_size", None)
    if not isinstance(size, int) or size < 1:
        raise GateInputError(
            "the base model's config has no usable hidden_size, so the gate's input size is unknown",
            fix="use a transformers causal language model as the base",
        )
    return size


def _token_ids(tokenizer: Any, prompt: str, max_tokens: int, index: int) -> list[int]:
    encoded = tokenizer(prompt, truncation=True, max_length=max_tokens)
    ids = list(encoded["input_ids"])
    if not ids:
        raise GateInputError(
            f"prompt {index + 1} gives no tokens, so it has no embedding ({prompt[:40]!r})",
            fix="give every gate prompt some text",
        )
    return ids


def _pad_id(tokenizer: Any) -> int:
    # The padded positions are masked out, so any valid id will do.
    for candidate in (getattr(tokenizer, "pad_token_id", None), getattr(tokenizer, "eos_token_id", None)):
        if isinstance(candidate, int):
            return candidate
    return 0


def _embed_batch(model: Any, batch: list[list[int]], pad_id: int) -> "torch.Tensor":
    import torch

    width = max(len(ids) for ids in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, ids in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        mask[row, : len(ids)] = 1
    device = _device_of(model)
    with _bare_base(model), torch.no_grad():
        outputs = model(
            input_ids=input_ids.to(device),
            attention_mask=mask.to(device),
            output_hidden_states=True,
            use_cache=False,
            return_dict=True,
        )
    hidden = outputs.hidden_states[-1].to("cpu", torch.float32)
    weights = mask.unsqueeze(-1).to(torch.float32)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def _device_of(model: Any) -> "torch.device":
    import torch

    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError, TypeError):
        return torch.device("cpu")


@contextlib.contextmanager
def _bare_base(model: Any) -> Iterator[None]:
    """Run `model` as the plain base: adapters off (PEFT models) and eval mode (no dropout), then restore."""
    was_training = bool(getattr(model, "training", False))
    if was_training:
        model.eval()
    try:
        with _adapters_disabled(model):
            yield
    finally:
        if was_training:
            model.train()


def _adapters_disabled(model: Any) -> contextlib.AbstractContextManager:
    is_peft = type(model).__module__.split(".")[0] == "peft"
    disable = getattr(model, "disable_adapter", None)
    if is_peft and callable(disable):
        return disable()
    return contextlib.nullcontext()
