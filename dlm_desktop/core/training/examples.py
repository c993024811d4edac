"""Rows → token sequences with labels: what the model sees and what it is trained to predict.

* Prose rows are continued pretraining: the text is tokenized as plain text (with the tokenizer's own
  special tokens, e.g. a BOS), the end-of-sequence token is appended, and every token is a target. A text
  longer than the sequence length is cut into consecutive windows, so no text is thrown away.
* Instruction rows go through the base model's chat template, with the document's `system_prompt` as the
  system turn when it has one. With `mask_prompt` (the default), only the assistant's answer and the token
  that closes its turn are targets, so the model learns to answer rather than to write questions. Without
  it, the whole transcript is a target (upstream's behaviour).
* A row cut at the sequence length keeps its beginning; a row left with no target is dropped.

Labels use -100 for "not a target", the value torch's cross-entropy ignores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

IGNORE_INDEX = -100
ExampleKind = Literal["prose", "instruction"]


@dataclass(frozen=True)
class Example:
    """One training sequence. `labels[i]` is the target at position i (-100: none); the model predicts
    token i from the tokens before it, so `labels[0]` is never used."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    kind: ExampleKind

    @property
    def length(self) -> int:
        return len(self.input_ids)

    @property
    def targets(self) -> int:
        """How many tokens this example trains on."""
        return sum(1 for label in self.labels[1:] if label != IGNORE_INDEX)


@dataclass(frozen=True)
class ExampleSet:
    """The examples of a row set and what had to be changed: rows cut at the sequence length (`truncated`),
    prose rows split into several windows (`split`), rows dropped for having no target left (`dropped`)."""

    examples: tuple[Example, ...]
    truncated: int = 0
    split: int = 0
    dropped: int = 0

    @property
    def tokens(self) -> int:
        return sum(example.length for example in self.examples)


def build_examples(
    rows: Sequence[dict[str, Any]],
    tokenizer: Any,
    *,
    max_len: int,
    system_prompt: str | None = None,
    mask_prompt: bool = True,
) -> ExampleSet:
    """Tokenize prose and instruction rows (rules in the module docstring), in row order."""
    examples: list[Example] = []
    truncated = split = dropped = 0
    system = system_prompt.strip() if system_prompt and system_prompt.strip() else None
    for row in rows:
        if "messages" in row:
            example, was_cut = instruction_example(row["messages"], tokenizer, max_len, system, mask_prompt)
            truncated += was_cut
            if example is None:
                dropped += 1
            else:
                examples.append(example)
        else:
            windows = prose_examples(row["text"], tokenizer, max_len)
            split += len(windows) > 1
            dropped += not windows
            examples.extend(windows)
    return ExampleSet(tuple(examples), truncated, split, dropped)


def prose_examples(text: str, tokenizer: Any, max_len: int) -> list[Example]:
    """A prose text as one or more windows of at most `max_len` tokens, every token a target."""
    ids = list(tokenizer(text, add_special_tokens=True)["input_ids"])
    eos = tokenizer.eos_token_id
    if eos is not None and (not ids or ids[-1] != eos):
        ids.append(eos)
    windows = [ids[start:start + max_len] for start in range(0, len(ids), max_len)]
    # A one-token window has nothing to predict (its only token is the first): leave it out.
    return [Example(tuple(w), tuple(w), "prose") for w in windows if len(w) > 1]


def instruction_example(
    messages: Sequence[dict[str, str]], tokenizer: Any, max_len: int, system: str | None, mask_prompt: bool
) -> tuple[Example | None, bool]:
    """One conversation as an example, and whether it had to be cut at `max_len`."""
    turns = ([{"role": "system", "content": system}] if system else []) + [dict(m) for m in messages]
    text, start, end = answer_span(turns, tokenizer)
    if mask_prompt:
        ids, labels = _masked_tokens(text, start, end, tokenizer)
    else:
        ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        labels = list(ids)
    was_cut = len(ids) > max_len
    example = Example(tuple(ids[:max_len]), tuple(labels[:max_len]), "instruction")
    return (example if example.targets else None), was_cut


def answer_span(turns: list[dict[str, str]], tokenizer: Any) -> tuple[str, int, int]:
    """The rendered conversation and the character span of the last turn's answer, through the marker
    that closes the turn (the EOS token when the template writes it right after the answer)."""
    text = tokenizer.apply_chat_template(turns, tokenize=False)
    prompt = tokenizer.apply_chat_template(turns[:-1], tokenize=False, add_generation_prompt=True)
    answer = turns[-1]["content"]
    if text.startswith(prompt):
        start = len(prompt)
    else:  # a template that rewrites earlier turns once an answer follows: find the answer itself
        start = max(text.rfind(answer), 0)
    answer_at = text.find(answer, start)
    answer_end = answer_at + len(answer) if answer_at >= 0 else start
    eos = getattr(tokenizer, "eos_token", None)
    closing = text.find(eos, answer_end) if eos else -1
    end = closing + len(eos) if closing >= 0 else len(text)
    return text, start, end


def _masked_tokens(text: str, start: int, end: int, tokenizer: Any) -> tuple[list[int], list[int]]:
    """Token ids of `text`, with labels only on tokens overlapping the characters [start, end)."""
    if getattr(tokenizer, "is_fast", False):
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(encoded["input_ids"])
        labels = [
            token if (tok_end > start and tok_start < end) else IGNORE_INDEX
            for token, (tok_start, tok_end) in zip(ids, encoded["offset_mapping"])
        ]
        return ids, labels
    # Slow tokenizers have no offsets: count the tokens of the text before and through the answer.
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    first = len(tokenizer(text[:start], add_special_tokens=False)["input_ids"])
    last = len(tokenizer(text[:end], add_special_tokens=False)["input_ids"])
    labels = [token if first <= index < last else IGNORE_INDEX for index, token in enumerate(ids)]
    return ids, labels
