"""The curated registry of base models, and `lookup_base` which turns a document's `base_model` into a spec.

The facts (hub ids, pinned revisions, architectures, chat dialects, LoRA targets, context lengths, licences)
are the ones upstream `dlm` pins, so a document names the same weights in both tools. Besides registry keys,
`base_model` may be `hf:org/name` (any hub model; its spec is completed from its `config.json` once the
weights are on disk) or the path of a local transformers model folder.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dlm_desktop.core.models.errors import BaseModelFolderError, UnknownBaseModelError

Modality = Literal["text", "text-moe", "vision-language", "audio-language"]
SpecSource = Literal["registry", "hf", "local"]

ATTENTION_TARGETS: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
PHI_TARGETS: tuple[str, ...] = ("qkv_proj", "o_proj", "gate_up_proj", "down_proj")

DEFAULT_BASE_KEY = "smollm2-135m"
HF_PREFIX = "hf:"


@dataclass(frozen=True)
class BaseModelSpec:
    """Everything DLM Desktop needs to know about a base model before loading it.

    `revision` is a 40-hex commit for registry entries and None for `hf:` references until resolved (and for
    local folders). `dialect` is the chat-template family used for Ollama export (`chatml`, `llama3`, ...),
    `gguf_arch`/`tokenizer_pre` are llama.cpp's names. `params`, `context_length` and `architecture` are 0/""
    on an `hf:` spec that has not been resolved yet. `capability_warning` is a sentence to show the user
    when picking this base ("" when none). `source` tells where the spec came from.
    """

    key: str
    hf_id: str
    revision: str | None
    architecture: str
    params: int
    target_modules: tuple[str, ...]
    dialect: str
    gguf_arch: str
    tokenizer_pre: str
    license_spdx: str
    requires_acceptance: bool
    redistributable: bool
    context_length: int
    recommended_seq_len: int
    reasoning_tuned: bool = False
    modality: Modality = "text"
    capability_warning: str = ""
    license_url: str | None = None
    context_length_effective: int | None = None
    source: SpecSource = "registry"

    @property
    def is_text(self) -> bool:
        """True for the bases DLM Desktop trains (text and text mixture-of-experts)."""
        return self.modality in ("text", "text-moe")

    @property
    def usable_context_length(self) -> int:
        """The context length to plan with: the effective one when the model degrades beyond it."""
        return self.context_length_effective or self.context_length


def _text(
    key: str, hf_id: str, revision: str, architecture: str, params: int, dialect: str, gguf_arch: str,
    tokenizer_pre: str, license_spdx: str, context_length: int, recommended_seq_len: int, **extra: object,
) -> BaseModelSpec:
    """A registry entry with the common defaults (attention LoRA targets, open and redistributable)."""
    fields: dict[str, object] = {
        "target_modules": ATTENTION_TARGETS, "requires_acceptance": False, "redistributable": True,
        "license_url": f"https://huggingface.co/{hf_id}",
    }
    fields.update(extra)
    return BaseModelSpec(
        key=key, hf_id=hf_id, revision=revision, architecture=architecture, params=params, dialect=dialect,
        gguf_arch=gguf_arch, tokenizer_pre=tokenizer_pre, license_spdx=license_spdx,
        context_length=context_length, recommended_seq_len=recommended_seq_len, **fields,  # type: ignore[arg-type]
    )


_SMOLLM2_135M_WARNING = (
    "SmolLM2-135M is very small: it is fine for trying DLM Desktop out, but it learns new facts unreliably. "
    "Pick a larger base (360M or more) for documents you care about."
)
_LLAMA_LICENSE = "https://www.llama.com/llama3_2/license/"
_GEMMA_LICENSE = "https://ai.google.dev/gemma/terms"
_GATED = {"requires_acceptance": True, "redistributable": False}

_ENTRIES: tuple[BaseModelSpec, ...] = (
    # SmolLM2 (Apache-2.0)
    _text("smollm2-135m", "HuggingFaceTB/SmolLM2-135M-Instruct", "12fd25f77366fa6b3b4b768ec3050bf629380bac",
          "LlamaForCausalLM", 135_000_000, "chatml", "llama", "smollm", "Apache-2.0", 8192, 1024,
          capability_warning=_SMOLLM2_135M_WARNING),
    _text("smollm2-360m", "HuggingFaceTB/SmolLM2-360M-Instruct", "a10cc1512eabd3dde888204e902eca88bddb4951",
          "LlamaForCausalLM", 360_000_000, "chatml", "llama", "smollm", "Apache-2.0", 8192, 1024),
    _text("smollm2-1.7b", "HuggingFaceTB/SmolLM2-1.7B-Instruct", "31b70e2e869a7173562077fd711b654946d38674",
          "LlamaForCausalLM", 1_700_000_000, "chatml", "llama", "smollm", "Apache-2.0", 8192, 2048),
    # Qwen2.5 (the 3B is under the Qwen Research licence, still redistributable)
    _text("qwen2.5-0.5b", "Qwen/Qwen2.5-0.5B-Instruct", "7ae557604adf67be50417f59c2c2f167def9a775",
          "Qwen2ForCausalLM", 500_000_000, "chatml", "qwen2", "qwen2", "Apache-2.0", 32768, 2048),
    _text("qwen2.5-1.5b", "Qwen/Qwen2.5-1.5B-Instruct", "989aa7980e4cf806f80c7fef2b1adb7bc71aa306",
          "Qwen2ForCausalLM", 1_500_000_000, "chatml", "qwen2", "qwen2", "Apache-2.0", 32768, 2048),
    _text("qwen2.5-3b", "Qwen/Qwen2.5-3B-Instruct", "aa8e72537993ba99e69dfaafa59ed015b17504d1",
          "Qwen2ForCausalLM", 3_000_000_000, "chatml", "qwen2", "qwen2", "Other", 32768, 2048),
    _text("qwen2.5-coder-1.5b", "Qwen/Qwen2.5-Coder-1.5B-Instruct", "2e1fd397ee46e1388853d2af2c993145b0f1098a",
          "Qwen2ForCausalLM", 1_500_000_000, "chatml", "qwen2", "qwen2", "Apache-2.0", 32768, 2048),
    # Qwen3 (reasoning-tuned; the -thinking key keeps the thinking block in the export template)
    _text("qwen3-1.7b", "Qwen/Qwen3-1.7B", "70d244cc86ccca08cf5af4e1e306ecf908b1ad5e",
          "Qwen3ForCausalLM", 1_700_000_000, "chatml", "qwen3", "qwen2", "Apache-2.0", 32768, 2048,
          reasoning_tuned=True),
    _text("qwen3-1.7b-thinking", "Qwen/Qwen3-1.7B", "70d244cc86ccca08cf5af4e1e306ecf908b1ad5e",
          "Qwen3ForCausalLM", 1_700_000_000, "qwen3thinking", "qwen3", "qwen2", "Apache-2.0", 32768, 2048,
          reasoning_tuned=True),
    _text("qwen3-4b", "Qwen/Qwen3-4B", "1cfa9a7208912126459214e8b04321603b3df60c",
          "Qwen3ForCausalLM", 4_000_000_000, "chatml", "qwen3", "qwen2", "Apache-2.0", 32768, 2048,
          reasoning_tuned=True),
    _text("qwen3-8b", "Qwen/Qwen3-8B", "b968826d9c46dd6066d109eabc6255188de91218",
          "Qwen3ForCausalLM", 8_000_000_000, "chatml", "qwen3", "qwen2", "Apache-2.0", 32768, 2048,
          reasoning_tuned=True),
    # Llama 3.x (gated on the hub, not redistributable)
    _text("llama-3.2-1b", "meta-llama/Llama-3.2-1B-Instruct", "9213176726f574b556790deb65791e0c5aa438b6",
          "LlamaForCausalLM", 1_000_000_000, "llama3", "llama", "llama-bpe", "Other", 131072, 4096,
          license_url=_LLAMA_LICENSE, **_GATED),
    _text("llama-3.2-3b", "meta-llama/Llama-3.2-3B-Instruct", "0cb88a4f764b7a12671c53f0838cd831a0843b95",
          "LlamaForCausalLM", 3_000_000_000, "llama3", "llama", "llama-bpe", "Other", 131072, 4096,
          license_url=_LLAMA_LICENSE, **_GATED),
    _text("llama-3.3-8b-instruct", "allura-forge/Llama-3.3-8B-Instruct", "df95224cf87c32d9f4958dd284a07ded620aa4fc",
          "LlamaForCausalLM", 8_000_000_000, "llama3", "llama", "llama-bpe", "Other", 131072, 4096,
          license_url="https://llama.meta.com/llama3/license", context_length_effective=8192, **_GATED),
    # Other text bases
    _text("smollm3-3b", "HuggingFaceTB/SmolLM3-3B", "a07cc9a04f16550a088caea529712d1d335b0ac1",
          "SmolLM3ForCausalLM", 3_000_000_000, "smollm3", "llama", "smollm", "Apache-2.0", 65536, 4096,
          reasoning_tuned=True),
    _text("olmo-2-7b-instruct", "allenai/OLMo-2-1124-7B-Instruct", "470b1fba1ae01581f270116362ee4aa1b97f4c84",
          "Olmo2ForCausalLM", 7_000_000_000, "olmo2", "olmo2", "superbpe", "Apache-2.0", 4096, 2048),
    _text("gemma-2-2b-it", "google/gemma-2-2b-it", "299a8560bedf22ed1c72a8a11e7dce4a7f9f51f8",
          "Gemma2ForCausalLM", 2_600_000_000, "gemma2", "gemma2", "gemma", "Gemma", 8192, 2048,
          license_url=_GEMMA_LICENSE, **_GATED),
    _text("gemma-2-9b-it", "google/gemma-2-9b-it", "11c9b309abf73637e4b6f9a3fa1e92e615547819",
          "Gemma2ForCausalLM", 9_000_000_000, "gemma2", "gemma2", "gemma", "Gemma", 8192, 2048,
          license_url=_GEMMA_LICENSE, **_GATED),
    _text("phi-3.5-mini", "microsoft/Phi-3.5-mini-instruct", "2fe192450127e6a83f7441aef6e3ca586c338b77",
          "Phi3ForCausalLM", 3_800_000_000, "phi3", "phi3", "phi-2", "MIT", 131072, 2048,
          target_modules=PHI_TARGETS),
    _text("phi-4-mini-reasoning", "microsoft/Phi-4-mini-reasoning", "0e3b1e2d02ee478a3743abe3f629e9c0cb722e0a",
          "Phi3ForCausalLM", 3_800_000_000, "phi4mini", "phi3", "phi-2", "MIT", 131072, 2048,
          target_modules=PHI_TARGETS, reasoning_tuned=True),
    _text("mixtral-8x7b-instruct", "mistralai/Mixtral-8x7B-Instruct-v0.1", "eba92302a2861cdc0098cc54bc9f17cb2c47eb61",
          "MixtralForCausalLM", 46_700_000_000, "mistral", "llama", "llama-bpe", "Apache-2.0", 32768, 2048,
          modality="text-moe"),
    # Vision-language and audio bases: listed so documents naming them get a clear "unsupported" message.
    _text("mistral-small-3.1-24b-instruct", "mistralai/Mistral-Small-3.1-24B-Instruct-2503",
          "68faf511d618ef198fef186659617cfd2eb8e33a", "Mistral3ForConditionalGeneration", 24_000_000_000,
          "mistral", "mistral3", "tekken", "Apache-2.0", 131072, 4096, modality="vision-language"),
    _text("paligemma-3b-mix-224", "google/paligemma-3b-mix-224", "d1d8734c9c3ad0ccfeea4afc270faa356c2ba515",
          "PaliGemmaForConditionalGeneration", 2_900_000_000, "paligemma", "paligemma", "gemma", "Other",
          8192, 2048, modality="vision-language", license_url=_GEMMA_LICENSE, **_GATED),
    _text("qwen2-vl-2b-instruct", "Qwen/Qwen2-VL-2B-Instruct", "895c3a49bc3fa70a340399125c650a463535e71c",
          "Qwen2VLForConditionalGeneration", 2_200_000_000, "qwen2-vl", "qwen2-vl", "qwen2", "Apache-2.0",
          32768, 2048, modality="vision-language"),
    _text("internvl2-2b", "OpenGVLab/InternVL2-2B", "e4f6747bd20f139e637642c6a058c6bd00b36919",
          "InternVLChatModel", 2_200_000_000, "internvl2", "internvl2", "internvl2", "MIT", 8192, 2048,
          modality="vision-language"),
    _text("internvl3-2b", "OpenGVLab/InternVL3-2B", "899155015275a9b7338c7f4677e19c784e0e5a21",
          "InternVLChatModel", 2_000_000_000, "internvl2", "internvl3", "internvl3", "Apache-2.0", 32768, 2048,
          modality="vision-language"),
    _text("qwen2-audio-7b-instruct", "Qwen/Qwen2-Audio-7B-Instruct", "0a095220c30b7b31434169c3086508ef3ea5bf0a",
          "Qwen2AudioForConditionalGeneration", 8_400_000_000, "qwen2-audio", "qwen2-audio", "qwen2",
          "Apache-2.0", 8192, 2048, modality="audio-language"),
)

BASE_MODELS: dict[str, BaseModelSpec] = {entry.key: entry for entry in _ENTRIES}


def known_keys() -> tuple[str, ...]:
    """The registry keys in a stable order (families grouped), for listings and error messages."""
    return tuple(BASE_MODELS)


def lookup_base(key_or_ref: str) -> BaseModelSpec:
    """Return the spec for a registry key, an `hf:org/name` reference or a local model folder.

    Does no network access. An `hf:` spec has `revision=None` and an empty `architecture` until
    `resolve_base` completes it from the downloaded `config.json`; a local folder's spec is read from its
    `config.json` right away. Raises `UnknownBaseModelError` (with the closest keys) or
    `BaseModelFolderError`.
    """
    from dlm_desktop.core.models import synth

    ref = key_or_ref.strip()
    if not ref:
        raise UnknownBaseModelError(
            "No base model given.", fix=f"Set `base_model:` to a registry key such as `{DEFAULT_BASE_KEY}`."
        )
    if ref.startswith(HF_PREFIX):
        return synth.spec_for_hf_ref(ref[len(HF_PREFIX):])
    if ref in BASE_MODELS:
        return BASE_MODELS[ref]
    folder = Path(ref).expanduser()
    if folder.is_dir():
        return synth.spec_for_local_folder(folder)
    raise _not_found(ref)


def _not_found(ref: str) -> UnknownBaseModelError | BaseModelFolderError:
    """The most helpful error for a reference that matched nothing."""
    by_hf_id = [spec.key for spec in _ENTRIES if spec.hf_id.lower() == ref.lower()]
    if by_hf_id:
        return UnknownBaseModelError(
            f"`{ref}` is a hub id, not a registry key.",
            suggestions=(by_hf_id[0],),
            fix=f"Write `base_model: {by_hf_id[0]}` (or `hf:{ref}`).",
        )
    if ref.startswith(("/", "~", ".", "\\")) or (len(ref) > 1 and ref[1] == ":"):
        return BaseModelFolderError(
            f"No model folder at `{ref}`.", fix="Check the path, or use a registry key such as `smollm2-135m`."
        )
    if "/" in ref:
        return UnknownBaseModelError(
            f"`{ref}` is neither a registry key nor an existing folder.",
            fix=f"For a model on the Hugging Face hub write `hf:{ref}`; for a folder give its full path.",
        )
    suggestions = close_keys(ref)
    if suggestions:
        fix = f"Did you mean {', '.join(f'`{key}`' for key in suggestions)}?"
    else:
        text_keys = ", ".join(spec.key for spec in _ENTRIES if spec.is_text)
        fix = f"Use one of {text_keys}; or `hf:org/name` for a hub model, or the path of a model folder."
    return UnknownBaseModelError(f"Unknown base model `{ref}`.", suggestions=suggestions, fix=fix)


def close_keys(ref: str, limit: int = 3) -> tuple[str, ...]:
    """Registry keys that look like `ref` (typos, wrong case, missing size suffix), best first."""
    lowered = ref.lower()
    keys = known_keys()
    found = [key for key in keys if key == lowered]
    found += difflib.get_close_matches(lowered, keys, n=limit, cutoff=0.6)
    found += [key for key in keys if key.startswith(lowered) or lowered.startswith(key)]
    return tuple(dict.fromkeys(found))[:limit]
