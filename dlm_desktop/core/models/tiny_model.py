"""A tiny but complete chat model: what the self-test (the frozen app's too) and the fast tests train on.

`make_tiny_chat_model(folder)` writes a transformers model folder in about a second: a 2-layer Llama with
random weights (seeded, so every build is the same model) and a real SentencePiece BPE tokenizer trained on a
few KB of text, with byte fallback (any text tokenizes), `<|im_start|>`/`<|im_end|>` as single tokens,
`<|im_end|>` as end of sequence and a ChatML chat template that uses a system turn when one is given. It needs
nothing but torch, transformers and sentencepiece: no network, no model download.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CHATML_WITH_SYSTEM = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_CORPUS_LINES = (
    "The Marrowgate Lighthouse stands on Kettle Point, a granite spit at the mouth of the river Ondle.",
    "It was lit for the first time on 14 March 1871 and guided ships until 1989.",
    "Question and answer: the user asks, the assistant answers briefly and precisely.",
    "Bread dough needs to rest so the gluten relaxes; bake sourdough at 230 degrees with steam.",
    "Sirius is the brightest star; light from the Sun takes about 8 minutes to reach Earth.",
    "The capital of France is Paris. The museum keeps the Hesketh lens and the keeper's logbooks.",
)


def _train_tokenizer(work: Path) -> Path:
    """Train a small SentencePiece BPE model and return the `.model` file (deterministic, single thread)."""
    import sentencepiece as spm

    corpus = work / "corpus.txt"
    corpus.write_text("\n".join(_CORPUS_LINES * 20) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(work / "tok"), vocab_size=400, model_type="bpe",
        user_defined_symbols=["<|im_start|>", "<|im_end|>"], byte_fallback=True, character_coverage=1.0,
        num_threads=1, minloglevel=2, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
    )
    return work / "tok.model"


def make_tiny_chat_model(folder: Path, *, hidden_size: int = 32, layers: int = 2, seed: int = 0) -> Path:
    """Write the tiny chat model into `folder` (created) and return it."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    work = folder / ".tokenizer-work"
    work.mkdir(exist_ok=True)
    shutil.copy(_train_tokenizer(work), folder / "tokenizer.model")
    shutil.rmtree(work)
    tokenizer = LlamaTokenizer.from_pretrained(str(folder))
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.chat_template = CHATML_WITH_SYSTEM
    tokenizer.save_pretrained(str(folder))
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(str(folder))
    return folder
