"""Write a LoRA adapter as a GGUF file llama.cpp applies at load time (`lora_path=`, Ollama's ADAPTER).

The file names each pair after the base tensor it changes (`blk.0.attn_q.weight.lora_a` / `.lora_b`) and
holds `A` as `[r, in]` and `B` as `[out, r]` (numpy order), with `adapter.lora.alpha` giving llama.cpp's
scale `alpha / r`. The base conversion's q/k row reordering (llama architecture) is applied to B's rows, so
`B · A` changes the reordered weight exactly as the original product changed the original weight.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dlm_desktop.core.export.errors import AdapterFormatError
from dlm_desktop.core.export.gguf_arch import arch_support, gguf_tensor_name, interleave_rotary_rows, rotary_heads
from dlm_desktop.core.export.lora_weights import LoraWeights
from dlm_desktop.core.export.mix import normalized_for_gguf

AdapterOutType = Literal["F32", "F16"]


@dataclass(frozen=True)
class AdapterConversion:
    """A written adapter GGUF."""

    path: Path
    rank: int
    alpha: float
    tensor_count: int
    seconds: float


def write_adapter_gguf(
    weights: LoraWeights,
    base_config: dict[str, Any],
    out_path: Path,
    *,
    outtype: AdapterOutType = "F32",
    name: str = "adapter",
) -> AdapterConversion:
    """Write `weights` (an adapter of the model whose `config.json` is `base_config`) to `out_path`.

    Modules with different ranks or scalings are first re-expressed with one rank and scaling 1.
    Raises `AdapterFormatError` when an adapted weight has no llama.cpp counterpart.
    """
    import numpy as np
    from gguf import GGUFWriter

    started = time.monotonic()
    support = arch_support(str((base_config.get("architectures") or [""])[0]))
    weights = normalized_for_gguf(weights)
    rank, scaling = weights.uniform_rank_and_scaling() or (0, 1.0)
    dtype = np.float32 if outtype == "F32" else np.float16
    writer = GGUFWriter(path=str(out_path), arch=support.gguf_arch)
    writer.add_type("adapter")
    writer.add_name(name)
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(scaling * rank))
    for weight_name, module in weights.modules.items():
        target = gguf_tensor_name(weight_name)
        if target is None:
            raise AdapterFormatError(f"the adapter changes {weight_name}, which llama.cpp's model has no slot for",
                                     fix="export with --merged instead")
        b = module.b
        heads = rotary_heads(support, base_config, weight_name)
        if heads:
            b = interleave_rotary_rows(b, heads)
        writer.add_tensor(f"{target}.lora_a", np.ascontiguousarray(module.a, dtype=dtype))
        writer.add_tensor(f"{target}.lora_b", np.ascontiguousarray(b, dtype=dtype))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return AdapterConversion(out_path, rank, float(scaling * rank), 2 * len(weights.modules),
                             time.monotonic() - started)
