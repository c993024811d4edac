"""Specs for bases outside the registry: `hf:org/name` references and local model folders.

What the registry pins by hand is derived here from the model's own files: the architecture, context length
and parameter count from `config.json` (and the safetensors headers), the chat dialect from the hub id, the
architecture and the chat template's markers. Only plain files are read; no transformers import.
"""

from __future__ import annotations

import dataclasses
import json
import re
import struct
from pathlib import Path

from dlm_desktop.core.models.errors import BaseModelFolderError, UnknownBaseModelError
from dlm_desktop.core.models.registry import ATTENTION_TARGETS, HF_PREFIX, PHI_TARGETS, BaseModelSpec

_HF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_FALLBACK_CONTEXT = 2048

# transformers architecture -> llama.cpp architecture name (the ones DLM's export knows).
_GGUF_ARCH = {
    "LlamaForCausalLM": "llama", "SmolLM3ForCausalLM": "llama", "MistralForCausalLM": "llama",
    "MixtralForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3",
    "Olmo2ForCausalLM": "olmo2", "Phi3ForCausalLM": "phi3", "GemmaForCausalLM": "gemma",
    "Gemma2ForCausalLM": "gemma2",
}

# Markers that identify a chat template family, checked in this order.
_TEMPLATE_MARKERS = (
    ("<|start_header_id|>", "llama3"),
    ("<start_of_turn>", "gemma2"),
    ("[INST]", "mistral"),
    ("<|end|>", "phi3"),
    ("<|im_start|>", "chatml"),
    ("<|user|>", "olmo2"),
)


def parse_hf_id(text: str) -> str:
    """Validate the `org/name` part of an `hf:` reference and return it."""
    hf_id = text.strip()
    if not _HF_ID.match(hf_id):
        raise UnknownBaseModelError(
            f"`{HF_PREFIX}{text}` is not a hub reference.",
            fix="Write it as `hf:organisation/model-name`, e.g. `hf:HuggingFaceTB/SmolLM2-360M-Instruct`.",
        )
    return hf_id


def spec_for_hf_ref(text: str) -> BaseModelSpec:
    """A provisional spec for `hf:org/name`: guesses from the name, completed later by `complete_spec`."""
    hf_id = parse_hf_id(text)
    dialect = guess_dialect(hf_id, "", "")
    return BaseModelSpec(
        key=f"{HF_PREFIX}{hf_id}", hf_id=hf_id, revision=None, architecture="", params=0,
        target_modules=PHI_TARGETS if "phi-" in hf_id.lower() else ATTENTION_TARGETS,
        dialect=dialect, gguf_arch="", tokenizer_pre="default", license_spdx="Unknown",
        requires_acceptance=False, redistributable=False, context_length=0, recommended_seq_len=0,
        license_url=f"https://huggingface.co/{hf_id}", source="hf",
    )


def spec_for_local_folder(folder: Path) -> BaseModelSpec:
    """The spec of a local transformers model folder, read from its `config.json` and tokenizer files."""
    folder = folder.expanduser().resolve()
    provisional = BaseModelSpec(
        key=str(folder), hf_id="", revision=None, architecture="", params=0, target_modules=ATTENTION_TARGETS,
        dialect="chatml", gguf_arch="", tokenizer_pre="default", license_spdx="Unknown",
        requires_acceptance=False, redistributable=False, context_length=0, recommended_seq_len=0,
        source="local",
    )
    return complete_spec(provisional, folder)


def complete_spec(spec: BaseModelSpec, folder: Path) -> BaseModelSpec:
    """Fill what a non-registry spec could not know before its files were on disk. Registry specs pass as is."""
    if spec.source == "registry":
        return spec
    config = read_config(folder)
    architectures = config.get("architectures") or []
    if not architectures:
        raise BaseModelFolderError(
            "The model's config.json names no architecture.", path=folder / "config.json",
            fix="Use a folder written by transformers' `save_pretrained` (it records `architectures`).",
        )
    architecture = str(architectures[0])
    context = _context_length(config)
    return dataclasses.replace(
        spec,
        architecture=architecture,
        params=count_parameters(folder, config),
        target_modules=PHI_TARGETS if architecture.startswith("Phi3") else ATTENTION_TARGETS,
        dialect=guess_dialect(spec.hf_id or folder.name, architecture, read_chat_template(folder)),
        gguf_arch=_GGUF_ARCH.get(architecture, architecture.lower().replace("forcausallm", "")),
        context_length=context,
        recommended_seq_len=min(context, 2048),
    )


def read_config(folder: Path) -> dict:
    """`config.json` of a model folder as a dict; `BaseModelFolderError` when missing or unreadable."""
    path = folder / "config.json"
    if not path.is_file():
        raise BaseModelFolderError(
            f"`{folder}` is not a model folder: it has no config.json.", path=folder,
            fix="Pick the folder that holds config.json and the .safetensors weights (a transformers model).",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BaseModelFolderError(
            f"config.json cannot be read: {exc}", path=path, fix="Restore the file or download the model again."
        ) from exc
    if not isinstance(data, dict):
        raise BaseModelFolderError("config.json is not a JSON object.", path=path, fix="Restore the file.")
    return data


def read_chat_template(folder: Path) -> str:
    """The chat template stored in a model folder ("" when there is none), in any of transformers' layouts."""
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    for name in ("chat_template.json", "tokenizer_config.json"):
        path = folder / name
        if not path.is_file():
            continue
        try:
            template = json.loads(path.read_text(encoding="utf-8")).get("chat_template")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(template, list):  # named templates: [{"name": "default", "template": ...}, ...]
            template = next((t.get("template") for t in template if t.get("name") == "default"), None)
        if isinstance(template, str) and template.strip():
            return template
    return ""


def guess_dialect(name: str, architecture: str, chat_template: str) -> str:
    """The chat dialect of a non-registry base: by family name first, then by the template's markers."""
    lowered = name.lower()
    by_name = (
        ("gemma-2" in lowered or architecture.startswith("Gemma2"), "gemma2"),
        ("smollm3" in lowered or architecture.startswith("SmolLM3"), "smollm3"),
        ("olmo-2" in lowered or architecture.startswith("Olmo2"), "olmo2"),
        ("llama-3" in lowered or "llama3" in lowered, "llama3"),
        ("phi-4-mini" in lowered, "phi4mini"),
        (architecture.startswith("Phi3"), "phi3"),
        (architecture.startswith(("Mistral", "Mixtral")), "mistral"),
    )
    for matched, dialect in by_name:
        if matched:
            return dialect
    for marker, dialect in _TEMPLATE_MARKERS:
        if marker in chat_template:
            return dialect
    return "chatml"


def _context_length(config: dict) -> int:
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = config.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return _FALLBACK_CONTEXT


def count_parameters(folder: Path, config: dict) -> int:
    """Exact parameter count from the safetensors headers; an estimate from `config` when there are none."""
    total = 0
    for path in sorted(folder.glob("*.safetensors")):
        total += _safetensors_numel(path)
    return total or _estimate_parameters(config)


def _safetensors_numel(path: Path) -> int:
    """Sum of tensor sizes in one safetensors file, from its JSON header (the weights are not read)."""
    try:
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length))
    except (OSError, ValueError, struct.error):
        return 0
    total = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        count = 1
        for dim in entry.get("shape", []):
            count *= int(dim)
        total += count
    return total


def _estimate_parameters(config: dict) -> int:
    """Embeddings plus, per layer, the attention and gated-MLP projections of a decoder-only transformer."""
    hidden = int(config.get("hidden_size") or config.get("n_embd") or 0)
    layers = int(config.get("num_hidden_layers") or config.get("n_layer") or 0)
    vocab = int(config.get("vocab_size") or 0)
    heads = int(config.get("num_attention_heads") or 1)
    head_dim = int(config.get("head_dim") or (hidden // heads if heads else 0))
    kv_heads = int(config.get("num_key_value_heads") or heads)
    intermediate = int(config.get("intermediate_size") or 4 * hidden)
    attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
    mlp = 3 * hidden * intermediate
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings", True) else 2)
    return embeddings + layers * (attention + mlp)
