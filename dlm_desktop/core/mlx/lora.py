"""LoRA layers for MLX models: one that mixes several adapters per batch row, one that trains.

`MixedLoRALinear` wraps a base linear layer with the stacked weights of every adapter that targets it:
`A = [A_1; A_2; …]` (Σr × in) and `B = [B_1, B_2, …]` (out × Σr). With a per-row gain vector `g` repeating
`f_row,i · s_i` over adapter i's r_i slots, it computes

    W x + ((x Aᵀ) ⊙ g) Bᵀ  =  W x + Σ_i f_row,i · s_i · B_i A_i x

so the base view (`factors=None`) is the base layer alone, exactly, and any gate mix or λ is one pair of
small matmuls. The per-row factors live on a `Mixer` shared by every wrapped layer of one model: set them,
run the model, clear them (`Mixer.applied`).

`TrainableLoRALinear` is a single adapter with trainable `lora_a` `[in, r]` / `lora_b` `[r, out]` (mlx-lm's
orientation), dropout on its input, and `scale` = alpha/r. `attach_trainable` and `detach` swap them in and
out of a model by module path.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dlm_desktop.core.mlx.errors import AdapterConversionError


@dataclass
class AdapterSlot:
    """One adapter's weights on one layer: `a` [r, in], `b` [out, r] (PEFT's orientation) and its scale."""

    a: Any
    b: Any
    scale: float


@dataclass
class _LayerState:
    """A mixed layer's adapter slots and its cache of gain vectors per row mix."""

    slots: dict[str, AdapterSlot]
    gains: dict[Any, Any] = field(default_factory=dict)


@dataclass
class Mixer:
    """Per-row adapter factors for the next forward pass of one model (None: the plain base)."""

    rows: tuple[tuple[tuple[str, float], ...], ...] | None = None
    layers: list[Any] = field(default_factory=list)

    @contextmanager
    def applied(self, factors: Sequence[Mapping[str, float]] | None) -> Iterator[None]:
        """Inside the block, every mixed layer applies `factors` (one map per batch row; None: the base)."""
        previous = self.rows
        self.rows = None if factors is None else tuple(
            tuple(sorted((str(k), float(v)) for k, v in row.items())) for row in factors)
        try:
            yield
        finally:
            self.rows = previous


def _make_mixed_class() -> type:
    import mlx.core as mx
    import mlx.nn as nn

    class MixedLoRALinear(nn.Module):
        """A base linear layer plus every adapter's stacked LoRA term, weighted per row (module docstring)."""

        def __init__(self, base: Any, mixer: Mixer, slots: dict[str, AdapterSlot]) -> None:
            super().__init__()
            self.base = base
            self.mixer = mixer
            self.lora_state = _LayerState(slots)  # a plain object: kept out of the module's parameter tree
            self.restack()

        @property
        def slots(self) -> dict[str, AdapterSlot]:
            return self.lora_state.slots

        def restack(self) -> None:
            """Rebuild the stacked matrices after a slot's weights changed (null adapters, reloads)."""
            names = list(self.slots)
            self.names = tuple(names)
            self.ranks = tuple(int(self.slots[n].a.shape[0]) for n in names)
            self.stack_a = mx.concatenate([self.slots[n].a for n in names], axis=0).T  # [in, Σr]
            self.stack_b = mx.concatenate([self.slots[n].b for n in names], axis=1).T  # [Σr, out]
            self.freeze()
            self.lora_state.gains.clear()

        def gains(self, rows: tuple) -> Any:
            found = self.lora_state.gains.get(rows)
            if found is None:
                per_row = []
                for row in rows:
                    factors = dict(row)
                    per_row.append([factors.get(n, 0.0) * self.slots[n].scale
                                    for n, r in zip(self.names, self.ranks) for _ in range(r)])
                found = mx.array(per_row, dtype=self.stack_a.dtype)[:, None, :]
                if len(self.lora_state.gains) > 64:
                    self.lora_state.gains.clear()
                self.lora_state.gains[rows] = found
            return found

        def __call__(self, x: Any) -> Any:
            y = self.base(x)
            rows = self.mixer.rows
            if rows is None:
                return y
            return y + ((x @ self.stack_a) * self.gains(rows)) @ self.stack_b

    return MixedLoRALinear


def _make_trainable_class() -> type:
    import mlx.core as mx
    import mlx.nn as nn

    class TrainableLoRALinear(nn.Module):
        """`W x + scale · (dropout(x) lora_a) lora_b`, with only `lora_a`/`lora_b` trainable."""

        def __init__(self, base: Any, rank: int, scale: float, dropout: float) -> None:
            super().__init__()
            out_dims, in_dims = base.weight.shape
            self.base = base
            self.base.freeze()
            self.scale = scale
            self.dropout = nn.Dropout(p=dropout)
            # PEFT's default init: A Kaiming-uniform with a = √5 (bound 1/√in), B zeros (starts at the base).
            bound = 1.0 / math.sqrt(in_dims)
            self.lora_a = mx.random.uniform(low=-bound, high=bound, shape=(in_dims, rank))
            self.lora_b = mx.zeros((rank, out_dims))

        def __call__(self, x: Any) -> Any:
            return self.base(x) + self.scale * ((self.dropout(x) @ self.lora_a) @ self.lora_b)

    return TrainableLoRALinear


_CLASSES: dict[str, type] = {}


def layer_class(kind: str) -> type:
    """`MixedLoRALinear` (`kind="mixed"`) or `TrainableLoRALinear` (`"trainable"`), built on first use so
    that importing this module does not import mlx."""
    if kind not in _CLASSES:
        _CLASSES[kind] = _make_mixed_class() if kind == "mixed" else _make_trainable_class()
    return _CLASSES[kind]


def attach_mixed(model: Any, adapters: Mapping[str, Any]) -> Mixer:
    """Wrap every module that an adapter of `adapters` (`{name: convert.LoraAdapter}`) targets; returns the
    model's `Mixer`. Refuses a target that is missing or not a linear layer."""
    from mlx.utils import tree_unflatten

    modules = dict(model.named_modules())
    slots: dict[str, dict[str, AdapterSlot]] = {}
    for name, adapter in adapters.items():
        for path, (a, b) in adapter.modules.items():
            _check_linear(modules, path, a.shape[1], b.shape[0], name)
            slots.setdefault(path, {})[name] = AdapterSlot(a, b, adapter.scale)
    mixer = Mixer()
    mixed = layer_class("mixed")
    wrapped = [(path, mixed(modules[path], mixer, layer_slots)) for path, layer_slots in slots.items()]
    model.update_modules(tree_unflatten(wrapped))
    mixer.layers = [layer for _, layer in wrapped]
    return mixer


def attach_trainable(model: Any, paths: Sequence[str], *, rank: int, scale: float, dropout: float) -> dict[str, Any]:
    """Put a fresh `TrainableLoRALinear` on every module path; returns `{path: base linear}` for `detach`."""
    from mlx.utils import tree_unflatten

    modules = dict(model.named_modules())
    trainable = layer_class("trainable")
    originals = {path: modules[path] for path in paths}
    model.update_modules(tree_unflatten([(path, trainable(modules[path], rank, scale, dropout)) for path in paths]))
    return originals


def detach(model: Any, originals: Mapping[str, Any]) -> None:
    """Put the base layers saved by `attach_trainable` back."""
    from mlx.utils import tree_unflatten

    model.update_modules(tree_unflatten(list(originals.items())))


def target_paths(model: Any, targets: Sequence[str]) -> list[str]:
    """Module paths of the linear layers whose name matches a target (PEFT's rule: the whole path or its
    last components equal the target)."""
    import mlx.nn as nn

    found = []
    for path, module in model.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        if any(path == target or path.endswith("." + target) for target in targets):
            found.append(path)
    return sorted(found)


def _check_linear(modules: Mapping[str, Any], path: str, in_dims: int, out_dims: int, name: str) -> None:
    import mlx.nn as nn

    module = modules.get(path)
    if module is None or not isinstance(module, nn.Linear):
        raise AdapterConversionError(
            f"adapter {name!r} targets {path!r}, which is not a linear layer of this MLX model",
            fix="use the base model the adapter was trained on",
        )
    if tuple(module.weight.shape) != (out_dims, in_dims):
        raise AdapterConversionError(
            f"adapter {name!r} does not fit {path!r}: LoRA {out_dims}×{in_dims}, layer "
            f"{tuple(module.weight.shape)}", fix="use the base model the adapter was trained on",
        )
