"""Direct access to a PEFT LoRA model's adapters: which layers carry them, whether they can be mixed
exactly, and temporary random (null) weights.

PEFT's LoRA `Linear` adds `scaling[name] · B_name A_name x` per adapter (`scaling` = alpha/r, or alpha/√r
with rsLoRA), so a weighted mix `W x + Σ f_i · s_i · B_i A_i x` is exact for plain LoRA on linear layers
(`stacked_lora` computes it with per-row weights). DoRA, LoRA biases, embedding/convolution LoRA and
`modules_to_save` are not linear in that way and are refused with `AdapterLoadError` when the backend loads.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dlm_desktop.core.inference.errors import AdapterLoadError

_MIX_FIX = "train plain LoRA adapters (no DoRA, no LoRA bias, no modules_to_save) to compare and mix them"


def lora_layers(model: Any) -> list[Any]:
    """Every LoRA-carrying module of `model`, in module order."""
    return [module for module in model.modules() if hasattr(module, "lora_A") and hasattr(module, "scaling")]


def check_mixable(model: Any, adapter_names: Sequence[str]) -> None:
    """Refuse adapters whose contribution is not the linear term `s · B A x` (see the module docstring)."""
    configs = getattr(model, "peft_config", {})
    for name in adapter_names:
        config = configs.get(name)
        if config is None:
            raise AdapterLoadError(f"adapter {name!r} is not loaded", fix="load every adapter before mixing")
        problems = [flag for flag in ("use_dora", "modules_to_save", "lora_bias") if getattr(config, flag, None)]
        if problems:
            raise AdapterLoadError(f"adapter {name!r} uses {', '.join(problems)}, which cannot be mixed exactly",
                                   fix=_MIX_FIX)
    for layer in lora_layers(model):
        used = [name for name in adapter_names if name in layer.lora_A]
        if used and type(layer).__name__ != "Linear":
            raise AdapterLoadError(
                f"adapter {used[0]!r} puts LoRA on a {type(layer).__name__} layer; only linear layers can be mixed",
                fix=_MIX_FIX,
            )


@contextmanager
def null_lora_weights(
    model: Any, adapter_names: Sequence[str], *, seed: int, init_scale: float | None, rank_scale: float
) -> Iterator[None]:
    """Replace every LoRA A and B matrix by Gaussian noise inside the block, then restore the real weights.

    The noise of a matrix has standard deviation `init_scale` (or, when None, that matrix's own standard
    deviation, so the null adapter is as large as the trained one) times √rank_scale. Draws come from a
    generator seeded with `seed`, in module order, so a seed always gives the same null adapter.
    """
    import torch

    if rank_scale <= 0 or (init_scale is not None and init_scale < 0):
        raise AdapterLoadError("a null adapter needs rank_scale > 0 and init_scale ≥ 0",
                               fix="pass a positive rank_scale and a non-negative init_scale")
    generator = torch.Generator().manual_seed(int(seed))
    saved: list[tuple[Any, Any]] = []
    try:
        with torch.no_grad():
            for weight in _lora_matrices(model, adapter_names):
                saved.append((weight, weight.detach().clone()))
                std = (float(weight.float().std()) if init_scale is None else init_scale) * math.sqrt(rank_scale)
                noise = torch.randn(weight.shape, generator=generator, dtype=torch.float32) * std
                weight.copy_(noise.to(weight.dtype))
        yield
    finally:
        with torch.no_grad():
            for weight, original in reversed(saved):
                weight.copy_(original)


def _lora_matrices(model: Any, adapter_names: Sequence[str]) -> Iterator[Any]:
    for layer in lora_layers(model):
        for name in adapter_names:
            if name in layer.lora_A:
                yield layer.lora_A[name].weight
                yield layer.lora_B[name].weight
