"""The GGUF writer and the LoRA adapter writer, checked by loading every file in llama.cpp and comparing its
logits with torch: SmolLM2 (llama), tiny Qwen2, Qwen3 and Llama-3-rope models; quantization through llama.cpp."""

from __future__ import annotations

import copy
import shutil
import time

import numpy as np
import pytest

from dlm_desktop.core.export import UnsupportedModelError, quantize_gguf, read_peft_adapter, write_adapter_gguf
from dlm_desktop.core.export.gguf_base import write_base_gguf
from dlm_desktop.core.export.gguf_vocab import check_tokenizer_parity
from dlm_desktop.core.export.hf_checkpoint import read_json
from dlm_desktop.core.export.llama_runtime import load_llama, logits_for
from tests.core.export.export_helpers import chat_ids, drain, make_peft_adapter

pytestmark = pytest.mark.slow
QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def smollm2_ggufs(offline_smollm2_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gguf")
    made = {}
    for outtype in ("F32", "F16"):
        started = time.monotonic()
        _, made[outtype] = drain(write_base_gguf(offline_smollm2_dir, folder / f"base.{outtype}.gguf",
                                                 outtype=outtype, tokenizer_pre="smollm"))
        print(f"\n{outtype}: {time.monotonic() - started:.1f} s, {made[outtype].path.stat().st_size} bytes")
    return made


@pytest.fixture(scope="module")
def torch_smollm2(offline_smollm2_dir):
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(offline_smollm2_dir), dtype=torch.float32)


def torch_logits(model, ids):
    import torch

    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].numpy()


def test_smollm2_f32_gguf_is_exact_and_f16_is_close(smollm2_ggufs, torch_smollm2, offline_smollm2_dir):
    import torch

    ids = chat_ids(offline_smollm2_dir, QUESTION)
    reference = torch_logits(torch_smollm2, ids)
    exact = logits_for(load_llama(smollm2_ggufs["F32"].path), ids)
    assert np.abs(exact - reference).max() < 1e-3
    half = logits_for(load_llama(smollm2_ggufs["F16"].path), ids)
    diff = np.abs(half - reference)
    # The floor any F16 file has: torch's own logits once every matrix is rounded to F16 (llama.cpp's CPU F16
    # product also rounds activations to F16, so its gap is larger; see benchmarks/export_f16_parity.py).
    rounded = copy.deepcopy(torch_smollm2)
    with torch.no_grad():
        for parameter in rounded.parameters():
            if parameter.dim() >= 2:
                parameter.copy_(parameter.half().float())
    floor = np.abs(torch_logits(rounded, ids) - reference).max()
    probabilities = np.abs(softmax(half) - softmax(reference)).max()
    print(f"\nF16 vs torch: max {diff.max():.4f}, mean {diff.mean():.4f}, probabilities {probabilities:.4f}; "
          f"torch with F16 weights: max {floor:.4f}")
    assert diff.mean() < 0.02 and probabilities < 0.02
    assert diff.max() < 3 * floor
    assert (half.argmax(-1) == reference.argmax(-1)).all()


def softmax(logits):
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def test_gguf_tokenizes_like_transformers(smollm2_ggufs, offline_smollm2_dir):
    assert check_tokenizer_parity(smollm2_ggufs["F16"].path, offline_smollm2_dir) == []


def test_lora_adapter_gguf_matches_peft(smollm2_ggufs, torch_smollm2, offline_smollm2_dir, tmp_path):
    from peft import PeftModel

    folder = make_peft_adapter(offline_smollm2_dir, tmp_path / "lora", r=8, alpha=16,
                               targets=["q_proj", "k_proj", "v_proj", "o_proj"], seed=5)
    adapter = write_adapter_gguf(read_peft_adapter(folder), read_json(offline_smollm2_dir / "config.json", what="c"),
                                 tmp_path / "adapter.gguf")
    peft_model = PeftModel.from_pretrained(torch_smollm2, str(folder))
    try:
        ids = chat_ids(offline_smollm2_dir, QUESTION)
        reference = torch_logits(peft_model, ids)
        with peft_model.disable_adapter():
            assert np.abs(torch_logits(peft_model, ids) - reference).max() > 0.5  # the adapter matters
        exact = logits_for(load_llama(smollm2_ggufs["F32"].path, lora_path=adapter.path), ids)
        assert np.abs(exact - reference).max() < 1e-3  # q/k rotary reordering of B is right
        half = logits_for(load_llama(smollm2_ggufs["F16"].path, lora_path=adapter.path), ids)
        assert np.abs(half - reference).mean() < 0.02
    finally:
        peft_model.unload()


@pytest.mark.parametrize("kind", ["qwen2", "qwen3", "llama3-rope"])
def test_tiny_models_of_other_architectures_convert_exactly(kind, offline_smollm2_dir, tmp_path):
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
    from transformers import Qwen3Config, Qwen3ForCausalLM

    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(offline_smollm2_dir / name, tmp_path / name)  # a tokenizer llama.cpp knows ("smollm")
    torch.manual_seed(0)
    common = dict(vocab_size=49152, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6)
    if kind == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(tie_word_embeddings=True, **common))
    elif kind == "qwen3":
        model = Qwen3ForCausalLM(Qwen3Config(head_dim=32, tie_word_embeddings=True, **common))
    else:
        rope = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                "original_max_position_embeddings": 64}
        model = LlamaForCausalLM(LlamaConfig(rope_scaling=rope, rope_theta=500000.0, tie_word_embeddings=False, **common))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            parameter.normal_(0.5, 0.3) if ("bias" in name or "norm" in name) else parameter.normal_(0.0, 0.15)
    model.save_pretrained(str(tmp_path))
    _, result = drain(write_base_gguf(tmp_path, tmp_path / "m.gguf", outtype="F32", tokenizer_pre="smollm"))
    ids = AutoTokenizer.from_pretrained(str(tmp_path))(QUESTION * 4, add_special_tokens=False)["input_ids"]
    reference = torch_logits(model, ids)
    got = logits_for(load_llama(result.path), ids)
    assert np.abs(reference).max() > 1.0 and np.abs(got - reference).max() < 1e-4


def test_unsupported_architecture_is_a_typed_error(tmp_path):
    (tmp_path / "config.json").write_text('{"architectures": ["GPT2LMHeadModel"]}')
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(UnsupportedModelError) as caught:
        drain(write_base_gguf(tmp_path, tmp_path / "x.gguf"))
    assert caught.value.fix


@pytest.mark.parametrize("quant", ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M"])
def test_quantization_through_llama_cpp(quant, smollm2_ggufs, offline_smollm2_dir, tmp_path, capfd):
    source = smollm2_ggufs["F16"].path
    result = quantize_gguf(source, tmp_path / f"base.{quant}.gguf", quant)
    assert capfd.readouterr().err == ""  # llama.cpp's per-tensor lines are collected, not printed
    assert result.log and result.size_bytes < source.stat().st_size
    print(f"\n{quant}: {result.size_bytes} bytes in {result.seconds:.1f} s")
    ids = chat_ids(offline_smollm2_dir, QUESTION)
    full = logits_for(load_llama(source), ids)
    quantized = logits_for(load_llama(result.path), ids)
    assert (full.argmax(-1) == quantized.argmax(-1)).mean() >= (0.9 if quant in ("Q8_0", "Q6_K") else 0.7)
