"""The tokenizer part of a GGUF file, read from a transformers folder's `tokenizer.json`.

Only byte-level BPE tokenizers (llama.cpp's `gpt2` tokenizer model: SmolLM2, Llama 3, Qwen2.5, Qwen3) are
written. llama.cpp also needs the name of the pre-tokenizer (how text is split before BPE); it comes from the
base-model registry, because llama.cpp only knows a fixed list of names. `check_tokenizer_parity` compares
llama.cpp's tokenization of a GGUF with transformers' on sample texts, which catches a wrong name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlm_desktop.core.export.errors import UnsupportedModelError
from dlm_desktop.core.export.hf_checkpoint import read_json

if TYPE_CHECKING:
    from gguf import GGUFWriter

# llama.cpp token types (tokenizer.ggml.token_type)
NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5

PARITY_SAMPLES = (
    "Hello world! The capital of France is Paris.",
    "  leading spaces,\ttabs and\nnew lines\n\n",
    "numbers 1234567 and 3.14159; code: def f(x): return x**2",
    "Ünïcödé — «quotes» 日本語 🙂",
    "<|im_start|>user\nHi<|im_end|>\n",
)


@dataclass(frozen=True)
class GgufVocab:
    """The token strings and types, padded to the model's embedding rows."""

    tokens: tuple[str, ...]
    token_types: tuple[int, ...]


def read_bpe_vocab(folder: Path, vocab_size: int) -> GgufVocab:
    """Tokens by id from `tokenizer.json` (model vocab plus added tokens), padded with unused `[PADn]`
    entries up to `vocab_size` (the embedding rows). Added special tokens are control tokens, other added
    tokens user-defined."""
    data = read_json(folder / "tokenizer.json", what="the tokenizer's tokenizer.json")
    model = data.get("model") or {}
    if model.get("type") != "BPE":
        raise UnsupportedModelError(
            f"the tokenizer is of type {model.get('type')!r}; the GGUF export writes byte-level BPE tokenizers only",
            fix="pick a SmolLM2, Llama 3.x, Qwen2.5 or Qwen3 base model to export",
            path=folder / "tokenizer.json",
        )
    by_id: dict[int, tuple[str, int]] = {int(i): (text, NORMAL) for text, i in model["vocab"].items()}
    for added in data.get("added_tokens") or []:
        by_id[int(added["id"])] = (added["content"], CONTROL if added.get("special") else USER_DEFINED)
    if by_id and max(by_id) >= vocab_size:
        raise UnsupportedModelError(
            f"the tokenizer has token id {max(by_id)} but the model only has {vocab_size} embedding rows",
            fix="export the tokenizer that belongs to this model",
            path=folder,
        )
    tokens, types = [], []
    for index in range(vocab_size):
        text, kind = by_id.get(index, (f"[PAD{index}]", UNUSED))
        tokens.append(text)
        types.append(kind)
    return GgufVocab(tuple(tokens), tuple(types))


def write_tokenizer(writer: "GGUFWriter", folder: Path, vocab_size: int, pre_tokenizer: str) -> None:
    """Tokens, types, merges, special token ids, add-bos/eos flags and the chat template."""
    from gguf import SpecialVocab

    vocab = read_bpe_vocab(folder, vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre_tokenizer)
    writer.add_token_list(list(vocab.tokens))
    writer.add_token_types(list(vocab.token_types))
    special = SpecialVocab(folder, load_merges=True, n_vocab=vocab_size)
    if not special.merges:
        raise UnsupportedModelError(
            "the tokenizer has no BPE merges", fix="export a model folder with a complete tokenizer.json", path=folder
        )
    # Say explicitly whether BOS/EOS are added: llama.cpp's default for a BPE vocabulary may differ from
    # what transformers does, and the Ollama TEMPLATE relies on this being right.
    special.add_special_token.setdefault("bos", False)
    special.add_special_token.setdefault("eos", False)
    special.add_to_gguf(writer, quiet=True)


def tokenizer_pre_for(spec_pre: str | None, config: dict[str, Any]) -> str:
    """The pre-tokenizer name to write: the registry's, else a guess from the model family."""
    if spec_pre:
        return spec_pre
    family = str(config.get("model_type", ""))
    return {"qwen2": "qwen2", "qwen3": "qwen2", "llama": "llama-bpe"}.get(family, "default")


def check_tokenizer_parity(gguf_path: Path, tokenizer_folder: Path, samples: tuple[str, ...] = PARITY_SAMPLES) -> list[str]:
    """Tokenize `samples` with llama.cpp (vocabulary only, fast) and with transformers; return one line per
    sample whose token ids differ (empty: the GGUF tokenizes like the original)."""
    from transformers import AutoTokenizer

    from dlm_desktop.core.export.llama_runtime import load_llama

    hf = AutoTokenizer.from_pretrained(str(tokenizer_folder))
    llama = load_llama(gguf_path, vocab_only=True)
    problems = []
    try:
        for text in samples:
            theirs = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            ours = hf(text, add_special_tokens=False)["input_ids"]
            if list(theirs) != list(ours):
                problems.append(f"{text!r}: llama.cpp {list(theirs)[:12]} vs transformers {list(ours)[:12]}")
    finally:
        llama.close()
    return problems
