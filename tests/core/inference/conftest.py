"""Fixtures for the inference tests: a tiny real Llama with a chat tokenizer, real PEFT LoRA adapters with
random non-zero weights, and a real gate network. Everything is built once per session (read-only)."""

from __future__ import annotations

from pathlib import Path

import pytest

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
WORDS = (
    "hello world user assistant system the capital of france is paris what a an cat dog sat on mat "
    "red blue green sky sea tree river moon sun star light dark fast slow big small one two three"
).split()


def make_tiny_model(folder: Path, *, seed: int = 0) -> Path:
    """A tiny random Llama (2 layers, 32 wide) with a word-level chat tokenizer, saved to `folder`."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<unk>", "<|im_start|>", "<|im_end|>", "<pad>"]
    vocab = {word: index for index, word in enumerate(specials + WORDS)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.add_special_tokens(specials)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<pad>",
                                        unk_token="<unk>")
    tokenizer.chat_template = CHATML
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(folder))
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         tie_word_embeddings=True, eos_token_id=vocab["<|im_end|>"], pad_token_id=vocab["<pad>"],
                         bos_token_id=None)
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(str(folder))
    return folder


def make_random_adapter(model_dir: Path, out_dir: Path, *, seed: int, r: int = 4, alpha: int = 8,
                        targets: tuple[str, ...] = ("q_proj", "v_proj"), std: float = 0.3) -> Path:
    """A PEFT LoRA adapter for `model_dir` whose A and B are random and non-zero (a "trained" stand-in)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, target_modules=list(targets),
                                                  lora_dropout=0.0))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)
    peft_model.save_pretrained(str(out_dir))
    return out_dir


ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")


def make_two_adapters(model_dir: Path, root: Path, *, beta_targets: tuple[str, ...] = ATTENTION) -> dict[str, Path]:
    """`alpha` (r=4, alpha=8 on q/v, seed 1) and `beta` (r=2, alpha=4 on `beta_targets`, seed 2) under `root`."""
    return {
        "alpha": make_random_adapter(model_dir, root / "alpha", seed=1),
        "beta": make_random_adapter(model_dir, root / "beta", seed=2, r=2, alpha=4, targets=beta_targets),
    }


def make_gate(input_dim: int, names: tuple[str, ...], *, seed: int = 3, sharpen: float = 2.0):
    """A real (untrained, seeded) gate network as a `LoadedGate` in trained mode."""
    from dlm_desktop.core.store.gate_files import GateConfig
    from dlm_desktop.core.training.gate import GateNetwork, LoadedGate

    network = GateNetwork.build(input_dim, 16, len(names), seed=seed)
    with __import__("torch").no_grad():
        for parameter in network.sequential.parameters():
            parameter.mul_(sharpen)  # sharper than the default init, so prompts get clearly different weights
    config = GateConfig(input_dim=input_dim, hidden_proj_dim=16, adapter_names=names, mode="trained")
    return LoadedGate(config, network)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("inference-tiny-model"))


@pytest.fixture(scope="session")
def tiny_adapters(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two adapters of different ranks and targets: `alpha` (r=4, q/v) and `beta` (r=2, q/k/v/o)."""
    return make_two_adapters(tiny_model_dir, tmp_path_factory.mktemp("inference-tiny-adapters"))


@pytest.fixture
def tiny_backend(tiny_model_dir: Path, tiny_adapters: dict[str, Path]):
    """A fresh two-adapter hf backend with a real gate (function scope: tests may break it)."""
    from dlm_desktop.core.inference.hf_backend import HFDifferentialBackend

    gate = make_gate(32, ("alpha", "beta"))
    return HFDifferentialBackend.load(tiny_model_dir, tiny_adapters, gate=gate)


@pytest.fixture
def gate_maker():
    """The `make_gate(input_dim, names, seed=..., sharpen=...)` factory."""
    return make_gate
