"""Tokenizer bring-up: load a base model's tokenizer and make it safe for chat fine-tuning.

Two rules, as upstream `dlm` applies them:

* The padding token must differ from the end-of-sequence token. Otherwise masking the padding also masks
  the real end of each answer and the model never learns to stop. The unknown token is used when it exists
  and differs from EOS; else a new special token `<|pad|>` is added. The vocabulary then grew (`grew=True`),
  and training must also update the embeddings and the output head.
* A chat template is required: instruction rows are rendered through it, and chat uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlm_desktop.core.models.errors import TokenizerBringupError

PAD_TOKEN = "<|pad|>"


@dataclass(frozen=True)
class TokenizerBringup:
    """A tokenizer ready for training: `pad_token` != `eos_token`, a chat template present.

    `grew` is True when `<|pad|>` was added to the vocabulary (resize the model's embeddings to
    `len(tokenizer)` and train `embed_tokens`/`lm_head` too).
    """

    tokenizer: Any
    grew: bool
    pad_token: str
    eos_token: str


def bring_up_tokenizer(local_dir: Path | str) -> TokenizerBringup:
    """Load the tokenizer of the model folder `local_dir` and apply the two rules above.

    Raises `TokenizerBringupError` when no tokenizer loads, when it has no end-of-sequence token or when
    it has no chat template.
    """
    from transformers import AutoTokenizer

    folder = Path(local_dir)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except Exception as exc:  # transformers raises OSError, ValueError, KeyError... for broken folders
        raise TokenizerBringupError(
            f"No usable tokenizer in the model folder: {exc}", path=folder,
            fix="Use a model folder that includes its tokenizer files (tokenizer.json or tokenizer.model).",
        ) from exc
    return prepare_tokenizer(tokenizer, source=folder)


def prepare_tokenizer(tokenizer: Any, *, source: Path | str | None = None) -> TokenizerBringup:
    """Apply the bring-up rules to an already loaded tokenizer (changed in place) and describe the result."""
    template = getattr(tokenizer, "chat_template", None)
    if not isinstance(template, str) or not template.strip():
        raise TokenizerBringupError(
            "The base model's tokenizer has no chat template, so instruction rows cannot be rendered.",
            path=source,
            fix="Pick an instruction-tuned (chat) base, e.g. a registry key such as `smollm2-135m`.",
        )
    eos = getattr(tokenizer, "eos_token", None)
    if not eos:
        raise TokenizerBringupError(
            "The base model's tokenizer has no end-of-sequence token, so answers could never end.",
            path=source, fix="Pick an instruction-tuned (chat) base from the registry.",
        )
    grew = ensure_distinct_pad(tokenizer)
    return TokenizerBringup(tokenizer=tokenizer, grew=grew, pad_token=str(tokenizer.pad_token), eos_token=str(eos))


def ensure_distinct_pad(tokenizer: Any) -> bool:
    """Make the padding token differ from EOS (see the module docstring). True when the vocabulary grew."""
    eos = getattr(tokenizer, "eos_token", None)
    pad = getattr(tokenizer, "pad_token", None)
    if pad is not None and pad != eos:
        return False
    unk = getattr(tokenizer, "unk_token", None)
    if unk is not None and unk != eos:
        tokenizer.pad_token = unk
        return False
    added = tokenizer.add_special_tokens({"pad_token": PAD_TOKEN})
    return bool(added)
