"""Prompt embeddings for the gate (SPEC-upstream §4.2) on a small random Llama with SmolLM2's real tokenizer."""

from __future__ import annotations

import pytest
import torch

from dlm_desktop.core.training.gate import GateInputError, embed_prompts, hidden_size_of, iter_prompt_embeddings

PROMPTS = [
    "What is the brightest star in the night sky?",
    "Why does bread dough need to rest?",
    "hi",
    "How do I know a cake is done when I bake it at home on a weekday evening?",
    "What is a nebula?",
]


@pytest.fixture(scope="module")
def tokenizer(offline_smollm2_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(offline_smollm2_dir))


def tiny_llama(tokenizer, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LlamaForCausalLM(config).eval()


def reference_embedding(model, tokenizer, prompt: str) -> torch.Tensor:
    """The definition, written out: one prompt, no padding, mean of the last hidden state."""
    ids = tokenizer(prompt, return_tensors="pt", truncation=True, max_length=512)["input_ids"]
    with torch.no_grad():
        hidden = model(input_ids=ids, output_hidden_states=True).hidden_states[-1]
    return hidden[0].mean(dim=0).float()


def test_embeddings_are_the_mean_last_hidden_state(tokenizer):
    model = tiny_llama(tokenizer)
    embeddings = embed_prompts(model, tokenizer, PROMPTS)
    assert embeddings.shape == (5, 32) and embeddings.dtype == torch.float32 and embeddings.device.type == "cpu"
    expected = torch.stack([reference_embedding(model, tokenizer, prompt) for prompt in PROMPTS])
    torch.testing.assert_close(embeddings, expected, rtol=0, atol=1e-5)


def test_batches_with_padding_equal_one_prompt_at_a_time(tokenizer):
    model = tiny_llama(tokenizer)
    batched = embed_prompts(model, tokenizer, PROMPTS, batch_size=8)
    single = torch.cat([embed_prompts(model, tokenizer, [prompt]) for prompt in PROMPTS])
    assert (batched - single).abs().max().item() <= 1e-5
    pieces = list(iter_prompt_embeddings(model, tokenizer, PROMPTS, batch_size=2))
    assert [len(piece) for piece in pieces] == [2, 2, 1]
    torch.testing.assert_close(torch.cat(pieces), batched, rtol=0, atol=1e-5)


def test_prompts_are_cut_to_512_tokens(tokenizer):
    model = tiny_llama(tokenizer)
    long_text = " ".join(["word"] * 2000)
    cut = tokenizer.decode(tokenizer(long_text)["input_ids"][:512])
    torch.testing.assert_close(
        embed_prompts(model, tokenizer, [long_text]), embed_prompts(model, tokenizer, [cut]), rtol=0, atol=1e-5
    )
    assert not torch.allclose(
        embed_prompts(model, tokenizer, [long_text], max_tokens=8), embed_prompts(model, tokenizer, [cut])
    )


def test_a_peft_model_is_embedded_with_its_adapters_switched_off(tokenizer):
    from peft import LoraConfig, get_peft_model

    base = tiny_llama(tokenizer, seed=1)
    expected = embed_prompts(base, tokenizer, PROMPTS)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    peft_model = get_peft_model(base, config)
    peft_model.train()
    ids = tokenizer(PROMPTS[0], return_tensors="pt")["input_ids"]
    peft_model.eval()
    with torch.no_grad():
        adapted = peft_model(input_ids=ids, output_hidden_states=True).hidden_states[-1][0].mean(dim=0)
    assert not torch.allclose(adapted, expected[0], atol=1e-3)  # the adapter does change the model
    peft_model.train()
    embedded = embed_prompts(peft_model, tokenizer, PROMPTS)
    torch.testing.assert_close(embedded, expected, rtol=0, atol=1e-5)
    assert peft_model.training  # the caller's mode is restored
    with torch.no_grad():  # and so are the adapters
        peft_model.eval()
        again = peft_model(input_ids=ids, output_hidden_states=True).hidden_states[-1][0].mean(dim=0)
    torch.testing.assert_close(again, adapted)


def test_no_prompts_give_an_empty_matrix_and_an_empty_prompt_is_refused(tokenizer):
    model = tiny_llama(tokenizer)
    assert embed_prompts(model, tokenizer, []).shape == (0, 32)
    assert hidden_size_of(model) == 32
    with pytest.raises(GateInputError, match="prompt 2 gives no tokens"):
        embed_prompts(model, tokenizer, ["fine", ""])
    with pytest.raises(GateInputError, match="hidden_size"):
        hidden_size_of(object())
