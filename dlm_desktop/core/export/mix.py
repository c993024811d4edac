"""The exact frozen mix (SPEC A2.5): several LoRA adapters and one weight each become ONE LoRA whose change
to every weight is exactly `Σ_i w_i · s_i · B_i · A_i` (`s_i` the adapter's alpha/r scaling).

For each adapted weight the scaled A matrices are stacked (rows) and the B matrices placed side by side
(columns): `[B_1 … B_n] · [w_1 s_1 A_1; …; w_n s_n A_n] = Σ w_i s_i B_i A_i`. The result has scaling 1
(alpha = rank). A weight that some adapter does not touch simply gets no block from it, and every module
is then padded with zero rows/columns to one common rank, which adds nothing to the product but lets
llama.cpp's single `adapter.lora.alpha` give every module scaling 1. Ranks and alphas may differ between
adapters, unlike PEFT's "linear" combination, which is not this sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from dlm_desktop.core.export.errors import AdapterSelectionError
from dlm_desktop.core.export.lora_weights import LoraModule, LoraWeights


@dataclass(frozen=True, eq=False)
class WeightedAdapter:
    """One term of a mix: an adapter's weights and its mix weight."""

    name: str
    weights: LoraWeights
    weight: float


def exact_mix(terms: Sequence[WeightedAdapter]) -> LoraWeights:
    """The single LoRA equal to the weighted sum of `terms` (float64 arrays, scaling 1, one shared rank).

    Terms whose weight is 0 are left out. Raises `AdapterSelectionError` for an empty mix, a non-finite
    weight, or adapters whose matrices for the same weight have different shapes.
    """
    for term in terms:
        if not math.isfinite(term.weight):
            raise AdapterSelectionError(f"the mix weight of {term.name!r} is not a number",
                                        fix="give every adapter a finite weight")
    active = [term for term in terms if term.weight != 0.0]
    if not active:
        raise AdapterSelectionError("the mix gives every adapter weight 0: there is nothing to export",
                                    fix="give at least one adapter a weight above 0")
    names: list[str] = []
    for term in active:
        names += [name for name in term.weights.modules if name not in names]
    stacked = {name: _stack(name, active) for name in names}
    rank = max(a.shape[0] for a, _ in stacked.values())
    modules = {name: _padded(a, b, rank) for name, (a, b) in stacked.items()}
    return LoraWeights(modules=modules, base_model=active[0].weights.base_model)


def _stack(name: str, terms: Sequence[WeightedAdapter]):
    import numpy as np

    a_blocks, b_blocks = [], []
    for term in terms:
        module = term.weights.modules.get(name)
        if module is None:
            continue
        if a_blocks and (module.a.shape[1] != a_blocks[0].shape[1] or module.b.shape[0] != b_blocks[0].shape[0]):
            raise AdapterSelectionError(
                f"the adapters disagree on the shape of {name}: they were trained on different base models",
                fix="mix only adapters of this document's base model",
            )
        a_blocks.append(np.asarray(module.a, dtype=np.float64) * (term.weight * module.scaling))
        b_blocks.append(np.asarray(module.b, dtype=np.float64))
    return np.concatenate(a_blocks, axis=0), np.concatenate(b_blocks, axis=1)


def _padded(a, b, rank: int) -> LoraModule:
    import numpy as np

    missing = rank - a.shape[0]
    if missing:
        a = np.concatenate([a, np.zeros((missing, a.shape[1]), dtype=a.dtype)], axis=0)
        b = np.concatenate([b, np.zeros((b.shape[0], missing), dtype=b.dtype)], axis=1)
    return LoraModule(a=a, b=b, scaling=1.0)


def normalized_for_gguf(weights: LoraWeights) -> LoraWeights:
    """`weights` itself when all modules share rank and scaling (llama.cpp's one alpha fits), else the
    same change re-expressed with scaling 1 and a common rank (a mix of one term with weight 1)."""
    if weights.uniform_rank_and_scaling() is not None:
        return weights
    return exact_mix([WeightedAdapter("adapter", weights, 1.0)])
