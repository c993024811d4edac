"""What differs between the architectures the GGUF writer supports: llama.cpp's architecture name, the
hyper-parameter keys, the tensor names, and which projections need llama.cpp's rotary row order.

llama.cpp's plain `llama` graph applies rotary embeddings to adjacent pairs of a head's dimensions, while
transformers' Llama rotates the first half of a head against the second half. The `llama` architecture
therefore needs the rows of q_proj and k_proj (and of their LoRA B matrices) reordered per head; `qwen2` and
`qwen3` use llama.cpp's "neox" rotary layout, which is transformers' own order, and need nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dlm_desktop.core.export.errors import UnsupportedModelError
from dlm_desktop.core.export.hf_checkpoint import rope_settings

if TYPE_CHECKING:
    import numpy as np
    from gguf import GGUFWriter


@dataclass(frozen=True)
class ArchSupport:
    """One supported transformers architecture: its llama.cpp name and its rotary row order."""

    hf_class: str
    gguf_arch: str
    interleave_qk: bool  # True: q/k rows must be reordered for llama.cpp's rotary layout
    has_qk_norm: bool = False


SUPPORTED: dict[str, ArchSupport] = {
    "LlamaForCausalLM": ArchSupport("LlamaForCausalLM", "llama", interleave_qk=True),
    "Qwen2ForCausalLM": ArchSupport("Qwen2ForCausalLM", "qwen2", interleave_qk=False),
    "Qwen3ForCausalLM": ArchSupport("Qwen3ForCausalLM", "qwen3", interleave_qk=False, has_qk_norm=True),
}

_GLOBAL_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
_LAYER_NAMES = {
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm",
    "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_LAYER_PATTERN = re.compile(r"^model\.layers\.(\d+)\.(.+)\.(weight|bias)$")


def arch_support(hf_class: str) -> ArchSupport:
    """The support entry for a transformers class name; `UnsupportedModelError` for any other."""
    try:
        return SUPPORTED[hf_class]
    except KeyError:
        known = ", ".join(sorted(SUPPORTED))
        raise UnsupportedModelError(
            f"exporting {hf_class or 'this model'} to GGUF is not supported yet (supported: {known})",
            fix="pick a SmolLM2, Llama 3.x, Qwen2.5 or Qwen3 base model to export",
        ) from None


def gguf_tensor_name(hf_name: str) -> str | None:
    """The llama.cpp name of a transformers weight (`model.layers.3.self_attn.q_proj.weight` →
    `blk.3.attn_q.weight`), or None for a weight llama.cpp has no slot for."""
    if hf_name in _GLOBAL_NAMES:
        return _GLOBAL_NAMES[hf_name]
    match = _LAYER_PATTERN.match(hf_name)
    if match is None:
        return None
    layer, module, kind = match.groups()
    short = _LAYER_NAMES.get(module)
    return f"blk.{layer}.{short}.{kind}" if short else None


def rotary_heads(support: ArchSupport, config: dict[str, Any], hf_name: str) -> int:
    """How many heads to reorder for `hf_name` (0: leave the rows alone)."""
    if not support.interleave_qk:
        return 0
    if ".self_attn.q_proj." in hf_name:
        return int(config["num_attention_heads"])
    if ".self_attn.k_proj." in hf_name:
        return int(config.get("num_key_value_heads") or config["num_attention_heads"])
    return 0


def interleave_rotary_rows(rows: "np.ndarray", heads: int) -> "np.ndarray":
    """Reorder the output rows of a q/k projection (a weight, a bias or a LoRA B matrix) from
    "half against half" to "adjacent pairs" within each head, as llama.cpp's `llama` graph expects."""
    shape = rows.shape
    head_dim = shape[0] // heads
    split = rows.reshape(heads, 2, head_dim // 2, *shape[1:])
    return split.swapaxes(1, 2).reshape(shape)


def head_dim(config: dict[str, Any]) -> int:
    """The per-head size: `head_dim` when given, else hidden / heads."""
    explicit = config.get("head_dim")
    return int(explicit) if explicit else int(config["hidden_size"]) // int(config["num_attention_heads"])


def write_hparams(writer: "GGUFWriter", config: dict[str, Any], context_length: int | None = None) -> None:
    """The `<arch>.*` hyper-parameter keys llama.cpp reads for the llama/qwen2/qwen3 graphs."""
    writer.add_context_length(int(context_length or config.get("max_position_embeddings", 2048)))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_block_count(int(config["num_hidden_layers"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_head_count_kv(int(config.get("num_key_value_heads") or config["num_attention_heads"]))
    writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-6)))
    writer.add_vocab_size(int(config["vocab_size"]))
    size = head_dim(config)
    writer.add_key_length(size)
    writer.add_value_length(size)
    writer.add_rope_dimension_count(size)
    rope = rope_settings(config)
    writer.add_rope_freq_base(float(rope["rope_theta"]))
    _write_rope_scaling(writer, rope)


def _write_rope_scaling(writer: "GGUFWriter", rope: dict[str, Any]) -> None:
    """Linear scaling is a key; llama3 scaling is a tensor (see `rope_freq_factors`); others are refused."""
    kind = rope["rope_type"]
    if kind in ("default", "llama3"):
        return
    if kind == "linear":
        from gguf import RopeScalingType

        writer.add_rope_scaling_type(RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(rope["factor"]))
        return
    raise UnsupportedModelError(
        f"rope scaling {kind!r} is not supported by the GGUF export yet",
        fix="export a model without long-context rope scaling",
    )


def rope_freq_factors(config: dict[str, Any]) -> "np.ndarray | None":
    """Llama 3.x "llama3" rope scaling as llama.cpp takes it: one divisor per rotary frequency, stored as
    the tensor `rope_freqs.weight`. None for models without that scaling."""
    import numpy as np

    rope = rope_settings(config)
    if rope["rope_type"] != "llama3":
        return None
    dim = head_dim(config)
    inv_freq = 1.0 / (float(rope["rope_theta"]) ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    factor = float(rope["factor"])
    low, high = float(rope["low_freq_factor"]), float(rope["high_freq_factor"])
    original = float(rope["original_max_position_embeddings"])
    factors = []
    for freq in inv_freq:
        wavelength = 2 * math.pi / freq
        if wavelength < original / high:  # high frequencies: unscaled
            factors.append(1.0)
        elif wavelength > original / low:  # low frequencies: fully scaled
            factors.append(factor)
        else:  # in between: blend smoothly
            smooth = (original / wavelength - low) / (high - low)
            factors.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.asarray(factors, dtype=np.float32)
