"""Lean forwards for the LoRA layers: the plain base, or every adapter stacked into ONE low-rank product.

For a layer with adapters i (ranks r_i), stack `A = [A_1; A_2; …]` (Σr_i × in) and `B = [B_1, B_2, …]`
(out × Σr_i). With a per-row gain vector `g` that repeats `f_row,i · s_i` over adapter i's r_i slots,

    base(x) + B · (g ⊙ (A · x)) = W x + Σ_i f_row,i · s_i · B_i A_i x

exactly (up to float summation order). That is two small matmuls per layer whatever the number of adapters,
instead of PEFT's per-adapter loop, which keeps a side-by-side batch close to the cost of a plain batch. The
base forward calls the wrapped `base_layer` directly: the same computation as PEFT with adapters disabled,
without the cost of PEFT's `disable_adapter()` switch (which walks the whole model on every call).

The forwards are installed on the LoRA layers (as instance attributes) only inside `stacked_forward(...)` or
`base_forward(...)`, and removed in `finally`. Stacks are cached per layer and rebuilt when a LoRA weight was
written in place since (torch counts in-place writes in `Tensor._version`); a decoding loop may skip that
check after its first step, since nothing can change the weights while it holds the backend's view guard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dlm_desktop.core.inference.lora_control import lora_layers

Stack = tuple[Any, Any, Any, tuple[str, ...], tuple[int, ...]]  # layer, A, B, adapter names, ranks
_MAX_CACHED_MIXES = 64


class LoraStacks:
    """Per-layer stacked `(layer, A, B, adapter names, ranks)`, kept in step with the live weights, and the
    per-row forwards built from them (cached by the rows' factors)."""

    def __init__(self, model: Any, adapter_names: Sequence[str]) -> None:
        self.model = model
        self.adapter_names = tuple(adapter_names)
        self._cache: list[tuple[tuple, Stack]] | None = None
        self._forwards: dict[tuple, list[tuple[Any, Callable]]] = {}
        self._all_layers: list[Any] | None = None

    def clear(self) -> None:
        """Drop every stack and the model reference (the backend closed)."""
        self.model, self._cache, self._all_layers = None, None, None
        self._forwards.clear()

    def all_layers(self) -> list[Any]:
        """Every LoRA layer of the model (whatever adapters it carries)."""
        if self._all_layers is None:
            self._all_layers = lora_layers(self.model)
        return self._all_layers

    def layers(self, *, validate: bool = True) -> list[Stack]:
        """The stack of every layer carrying one of the adapters; with `validate`, stale stacks are rebuilt."""
        if self._cache is None:
            self._cache = [(self._versions(layer), self._stack(layer)) for layer in self.all_layers()
                           if any(name in layer.lora_A for name in self.adapter_names)]
        elif validate:
            for index, (versions, stack) in enumerate(self._cache):
                current = self._versions(stack[0])
                if current != versions:
                    self._cache[index] = (current, self._stack(stack[0]))
                    self._forwards.clear()
        return [stack for _, stack in self._cache]

    def forwards(self, rows: Sequence[Mapping[str, float]], *, validate: bool = True) -> list[tuple[Any, Callable]]:
        """`(layer, forward)` for every stacked layer, computing `base + B (g ⊙ A x)` for these rows."""
        stacks = self.layers(validate=validate)
        key = tuple(tuple(sorted((str(k), float(v)) for k, v in row.items())) for row in rows)
        found = self._forwards.get(key)
        if found is None:
            found = [(stack[0], _lean_forward(stack, _gains(rows, stack))) for stack in stacks]
            if len(self._forwards) >= _MAX_CACHED_MIXES:
                self._forwards.clear()
            self._forwards[key] = found
        return found

    def _weights(self, layer: Any) -> list[Any]:
        names = [name for name in self.adapter_names if name in layer.lora_A]
        return [layer.lora_A[n].weight for n in names] + [layer.lora_B[n].weight for n in names]

    def _versions(self, layer: Any) -> tuple:
        return tuple((weight.data_ptr(), weight._version) for weight in self._weights(layer))

    def _stack(self, layer: Any) -> Stack:
        import torch

        names = tuple(name for name in self.adapter_names if name in layer.lora_A)
        a = torch.cat([layer.lora_A[name].weight.detach() for name in names], dim=0)
        b = torch.cat([layer.lora_B[name].weight.detach() for name in names], dim=1)
        ranks = tuple(int(layer.lora_A[name].weight.shape[0]) for name in names)
        return layer, a, b, names, ranks


def _gains(rows: Sequence[Mapping[str, float]], stack: Stack) -> Any:
    """`[batch, 1, Σr]`: each row's factor × the adapter's scaling, repeated over the adapter's rank slots."""
    import torch

    layer, a, _, names, ranks = stack
    per_row = [[float(row.get(name, 0.0)) * float(layer.scaling[name]) for name in names] for row in rows]
    gains = torch.tensor(per_row, dtype=a.dtype, device=a.device)
    return torch.repeat_interleave(gains, torch.tensor(ranks, device=a.device), dim=1).unsqueeze(1)


def _lean_forward(stack: Stack, gains: Any) -> Callable:
    import torch.nn.functional as functional

    layer, a, b = stack[:3]
    base = layer.base_layer

    def forward(x: Any, *args: Any, **kwargs: Any) -> Any:
        return base(x, *args, **kwargs) + functional.linear(functional.linear(x, a) * gains, b)

    return forward


@contextmanager
def _installed(pairs: Sequence[tuple[Any, Callable]]) -> Iterator[None]:
    # Written straight into the instance dict: a plain callable is not a parameter or a submodule, so
    # nn.Module's bookkeeping in __setattr__ has nothing to do (and costs time on every decoding step).
    done: list[Any] = []
    try:
        for layer, forward in pairs:
            layer.__dict__["forward"] = forward
            done.append(layer)
        yield
    finally:
        for layer in done:
            layer.__dict__.pop("forward", None)  # back to the class's own forward


@contextmanager
def stacked_forward(stacks: LoraStacks, rows: Sequence[Mapping[str, float]], *,
                    validate: bool = True) -> Iterator[None]:
    """Inside the block, every adapted layer computes `base(x) + B (g ⊙ A x)`, one gain row per batch row."""
    with _installed(stacks.forwards(rows, validate=validate)):
        yield


@contextmanager
def base_forward(stacks: LoraStacks) -> Iterator[None]:
    """Inside the block, every LoRA layer computes its base layer only (adapters off, exactly)."""
    with _installed([(layer, layer.base_layer) for layer in stacks.all_layers()]):
        yield
