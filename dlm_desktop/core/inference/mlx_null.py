"""Null adapters for the `mlx` backend: Gaussian LoRA weights of the real shapes, restored afterwards.

As `lora_control.null_lora_weights` does for PEFT: every A and B matrix of every adapter becomes noise of
standard deviation `init_scale` (None: the matrix's own standard deviation) times √rank_scale, drawn from a
generator seeded with `seed` in layer order, so a seed always gives the same null adapter.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dlm_desktop.core.inference.errors import AdapterLoadError


@contextmanager
def null_weights(mixer: Any, *, seed: int, init_scale: float | None, rank_scale: float) -> Iterator[None]:
    """Inside the block, every mixed layer of `mixer` carries random adapters (module docstring)."""
    import mlx.core as mx
    import numpy as np

    if rank_scale <= 0 or (init_scale is not None and init_scale < 0):
        raise AdapterLoadError("a null adapter needs rank_scale > 0 and init_scale ≥ 0",
                               fix="pass a positive rank_scale and a non-negative init_scale")
    generator = np.random.default_rng(int(seed))
    saved: list[tuple[Any, Any, Any]] = []

    def noise_like(matrix: Any) -> Any:
        own = float(np.asarray(matrix, dtype=np.float32).std())
        std = (own if init_scale is None else init_scale) * math.sqrt(rank_scale)
        return mx.array((generator.standard_normal(matrix.shape) * std).astype(np.float32)).astype(matrix.dtype)

    try:
        for layer in mixer.layers:
            for slot in layer.slots.values():
                saved.append((layer, slot, (slot.a, slot.b)))
                slot.a, slot.b = noise_like(slot.a), noise_like(slot.b)
            layer.restack()
        yield
    finally:
        for layer, slot, (a, b) in reversed(saved):
            slot.a, slot.b = a, b
        for layer in mixer.layers:
            layer.restack()
