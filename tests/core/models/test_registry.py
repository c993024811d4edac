"""The base-model registry carries upstream's facts, and `lookup_base` understands keys, `hf:` refs and folders."""

from __future__ import annotations

import json
import re
import pytest

from dlm_desktop.core.models import (
    BASE_MODELS,
    BaseModelFolderError,
    UnknownBaseModelError,
    known_keys,
    lookup_base,
)
from dlm_desktop.core.models.synth import complete_spec, guess_dialect

ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")

# key: (hf id, architecture, dialect, gguf_arch, context length), as upstream pins them (SPEC-upstream §10).
TEXT_BASES = {
    "smollm2-135m": ("HuggingFaceTB/SmolLM2-135M-Instruct", "LlamaForCausalLM", "chatml", "llama", 8192),
    "smollm2-360m": ("HuggingFaceTB/SmolLM2-360M-Instruct", "LlamaForCausalLM", "chatml", "llama", 8192),
    "smollm2-1.7b": ("HuggingFaceTB/SmolLM2-1.7B-Instruct", "LlamaForCausalLM", "chatml", "llama", 8192),
    "qwen2.5-0.5b": ("Qwen/Qwen2.5-0.5B-Instruct", "Qwen2ForCausalLM", "chatml", "qwen2", 32768),
    "qwen2.5-1.5b": ("Qwen/Qwen2.5-1.5B-Instruct", "Qwen2ForCausalLM", "chatml", "qwen2", 32768),
    "qwen2.5-3b": ("Qwen/Qwen2.5-3B-Instruct", "Qwen2ForCausalLM", "chatml", "qwen2", 32768),
    "qwen2.5-coder-1.5b": ("Qwen/Qwen2.5-Coder-1.5B-Instruct", "Qwen2ForCausalLM", "chatml", "qwen2", 32768),
    "qwen3-1.7b": ("Qwen/Qwen3-1.7B", "Qwen3ForCausalLM", "chatml", "qwen3", 32768),
    "qwen3-1.7b-thinking": ("Qwen/Qwen3-1.7B", "Qwen3ForCausalLM", "qwen3thinking", "qwen3", 32768),
    "qwen3-4b": ("Qwen/Qwen3-4B", "Qwen3ForCausalLM", "chatml", "qwen3", 32768),
    "qwen3-8b": ("Qwen/Qwen3-8B", "Qwen3ForCausalLM", "chatml", "qwen3", 32768),
    "llama-3.2-1b": ("meta-llama/Llama-3.2-1B-Instruct", "LlamaForCausalLM", "llama3", "llama", 131072),
    "llama-3.2-3b": ("meta-llama/Llama-3.2-3B-Instruct", "LlamaForCausalLM", "llama3", "llama", 131072),
    "llama-3.3-8b-instruct": ("allura-forge/Llama-3.3-8B-Instruct", "LlamaForCausalLM", "llama3", "llama", 131072),
    "smollm3-3b": ("HuggingFaceTB/SmolLM3-3B", "SmolLM3ForCausalLM", "smollm3", "llama", 65536),
    "olmo-2-7b-instruct": ("allenai/OLMo-2-1124-7B-Instruct", "Olmo2ForCausalLM", "olmo2", "olmo2", 4096),
    "gemma-2-2b-it": ("google/gemma-2-2b-it", "Gemma2ForCausalLM", "gemma2", "gemma2", 8192),
    "gemma-2-9b-it": ("google/gemma-2-9b-it", "Gemma2ForCausalLM", "gemma2", "gemma2", 8192),
    "phi-3.5-mini": ("microsoft/Phi-3.5-mini-instruct", "Phi3ForCausalLM", "phi3", "phi3", 131072),
    "phi-4-mini-reasoning": ("microsoft/Phi-4-mini-reasoning", "Phi3ForCausalLM", "phi4mini", "phi3", 131072),
    "mixtral-8x7b-instruct": ("mistralai/Mixtral-8x7B-Instruct-v0.1", "MixtralForCausalLM", "mistral", "llama", 32768),
}
NON_TEXT = {"mistral-small-3.1-24b-instruct", "paligemma-3b-mix-224", "qwen2-vl-2b-instruct", "internvl2-2b",
            "internvl3-2b", "qwen2-audio-7b-instruct"}


@pytest.mark.parametrize("key", sorted(TEXT_BASES))
def test_text_bases_carry_upstream_facts(key):
    hf_id, architecture, dialect, gguf_arch, context = TEXT_BASES[key]
    spec = lookup_base(key)
    assert (spec.key, spec.hf_id, spec.architecture) == (key, hf_id, architecture)
    assert (spec.dialect, spec.gguf_arch, spec.context_length) == (dialect, gguf_arch, context)
    assert spec.target_modules == (("qkv_proj", "o_proj", "gate_up_proj", "down_proj") if "phi" in key else ATTN)
    assert re.fullmatch(r"[0-9a-f]{40}", spec.revision)
    assert spec.is_text and spec.source == "registry"
    assert 0 < spec.recommended_seq_len <= spec.context_length


def test_registry_is_exactly_the_upstream_key_set():
    assert set(known_keys()) == set(TEXT_BASES) | NON_TEXT
    assert {key for key, spec in BASE_MODELS.items() if not spec.is_text} == NON_TEXT


def test_smollm2_135m_is_pinned_and_warns():
    spec = lookup_base("smollm2-135m")
    assert spec.revision == "12fd25f77366fa6b3b4b768ec3050bf629380bac"
    assert spec.tokenizer_pre == "smollm" and spec.recommended_seq_len == 1024
    assert spec.capability_warning and spec.redistributable and not spec.requires_acceptance


def test_licensing_and_reasoning_flags():
    assert all(lookup_base(k).requires_acceptance and not lookup_base(k).redistributable
               for k in ("llama-3.2-1b", "llama-3.2-3b", "llama-3.3-8b-instruct", "gemma-2-2b-it"))
    assert lookup_base("qwen2.5-3b").license_spdx == "Other" and lookup_base("qwen2.5-3b").redistributable
    assert all(lookup_base(k).reasoning_tuned for k in ("qwen3-1.7b", "qwen3-8b", "smollm3-3b"))
    assert not lookup_base("qwen2.5-1.5b").reasoning_tuned
    assert lookup_base("llama-3.3-8b-instruct").usable_context_length == 8192
    assert lookup_base("mixtral-8x7b-instruct").modality == "text-moe"


def test_hf_reference_gives_a_provisional_spec():
    spec = lookup_base("hf:Qwen/Qwen3-0.6B")
    assert (spec.key, spec.hf_id, spec.source, spec.revision) == ("hf:Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B", "hf", None)
    assert spec.architecture == "" and spec.target_modules == ATTN and not spec.redistributable
    assert lookup_base("hf:meta-llama/Llama-3.1-8B-Instruct").dialect == "llama3"
    assert lookup_base("hf:google/gemma-2-27b-it").dialect == "gemma2"


@pytest.mark.parametrize("bad", ["hf:", "hf:no-slash", "hf:/x", "hf:a/b/c", "hf:org/na me"])
def test_malformed_hf_reference_is_rejected(bad):
    with pytest.raises(UnknownBaseModelError, match="not a hub reference") as info:
        lookup_base(bad)
    assert "hf:organisation/model-name" in info.value.fix


@pytest.mark.parametrize(
    ("typo", "expected"),
    [("smolm2-135m", "smollm2-135m"), ("SmolLM2-135M", "smollm2-135m"), ("qwen3-1.7", "qwen3-1.7b"),
     ("llama-3.2-1B", "llama-3.2-1b")],
)
def test_unknown_key_lists_close_matches(typo, expected):
    with pytest.raises(UnknownBaseModelError) as info:
        lookup_base(typo)
    assert info.value.suggestions[0] == expected
    assert f"`{expected}`" in info.value.fix


def test_unknown_key_without_neighbours_lists_the_text_keys():
    with pytest.raises(UnknownBaseModelError) as info:
        lookup_base("gpt-17")
    assert info.value.suggestions == ()
    assert "qwen2.5-0.5b" in info.value.fix and "hf:org/name" in info.value.fix
    assert "paligemma" not in info.value.fix


def test_hub_id_without_prefix_points_to_the_key():
    with pytest.raises(UnknownBaseModelError) as info:
        lookup_base("Qwen/Qwen2.5-0.5B-Instruct")
    assert info.value.suggestions == ("qwen2.5-0.5b",)
    with pytest.raises(UnknownBaseModelError, match="neither a registry key") as info:
        lookup_base("some-org/some-model")
    assert "hf:some-org/some-model" in info.value.fix


def test_missing_folder_and_empty_reference(tmp_path):
    with pytest.raises(BaseModelFolderError, match="No model folder"):
        lookup_base(str(tmp_path / "nope"))
    with pytest.raises(UnknownBaseModelError, match="No base model given"):
        lookup_base("  ")


def test_folder_without_config_is_rejected(tmp_path):
    with pytest.raises(BaseModelFolderError, match="no config.json") as info:
        lookup_base(str(tmp_path))
    assert info.value.path == tmp_path.resolve()


def test_local_folder_spec_is_read_from_its_files(tiny_llama_dir):
    spec = lookup_base(str(tiny_llama_dir))
    assert spec.source == "local" and spec.key == str(tiny_llama_dir.resolve())
    assert spec.architecture == "LlamaForCausalLM" and spec.gguf_arch == "llama"
    assert spec.context_length == 512 and spec.recommended_seq_len == 512
    assert spec.dialect == "chatml"  # from the chat template's <|im_start|> markers
    from safetensors.torch import load_file

    tensors = load_file(str(tiny_llama_dir / "model.safetensors"))
    assert spec.params == sum(t.numel() for t in tensors.values()) > 0


def test_param_estimate_without_weights_matches_smollm2_shape(tmp_path):
    config = {"architectures": ["LlamaForCausalLM"], "hidden_size": 576, "num_hidden_layers": 30,
              "vocab_size": 49152, "num_attention_heads": 9, "num_key_value_heads": 3, "head_dim": 64,
              "intermediate_size": 1536, "tie_word_embeddings": True, "max_position_embeddings": 8192}
    (tmp_path / "config.json").write_text(json.dumps(config))
    spec = lookup_base(str(tmp_path))
    # SmolLM2-135M has 134,515,008 parameters; the estimate leaves out only the norm weights.
    assert abs(spec.params - 134_515_008) < 50_000
    assert spec.context_length == 8192


@pytest.mark.parametrize(
    ("name", "architecture", "template", "dialect"),
    [
        ("my/model", "LlamaForCausalLM", "<|start_header_id|>{{ role }}<|end_header_id|>", "llama3"),
        ("my/model", "Qwen2ForCausalLM", "<|im_start|>user", "chatml"),
        ("my/model", "Gemma2ForCausalLM", "", "gemma2"),
        ("my/model", "Phi3ForCausalLM", "<|user|>", "phi3"),
        ("microsoft/phi-4-mini-instruct", "Phi3ForCausalLM", "", "phi4mini"),
        ("my/model", "MistralForCausalLM", "[INST]", "mistral"),
        ("my/model", "LlamaForCausalLM", "<start_of_turn>user", "gemma2"),
        ("my/model", "LlamaForCausalLM", "", "chatml"),
    ],
)
def test_dialect_guess(name, architecture, template, dialect):
    assert guess_dialect(name, architecture, template) == dialect


def test_complete_spec_leaves_registry_entries_alone(tiny_llama_dir):
    spec = lookup_base("qwen2.5-0.5b")
    assert complete_spec(spec, tiny_llama_dir) is spec


def test_config_without_architecture_is_rejected(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(BaseModelFolderError, match="names no architecture"):
        lookup_base(str(tmp_path))
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(BaseModelFolderError, match="not a JSON object"):
        lookup_base(str(tmp_path))
