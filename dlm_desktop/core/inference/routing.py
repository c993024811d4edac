"""How the fine-tuned view mixes a document's adapters: the learned gate per prompt, uniform, one named
adapter, or a fixed mix. The result is always `{adapter: weight}` in declared adapter order."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from dlm_desktop.core.inference.errors import ScoringInputError

RoutingMode = Literal["gate", "uniform", "adapter", "static"]
GateFn = Callable[[str], Mapping[str, float]]


@dataclass(frozen=True)
class Routing:
    """A routing rule. Build it with `Routing.gate()`, `.uniform()`, `.adapter(name)` or `.static({...})`."""

    mode: RoutingMode = "gate"
    adapter_name: str | None = None
    mix: tuple[tuple[str, float], ...] = ()

    @classmethod
    def gate(cls) -> "Routing":
        """The learned gate per prompt (uniform when the document has no trained gate)."""
        return cls("gate")

    @classmethod
    def uniform(cls) -> "Routing":
        """1/N for each of the N adapters (the gate switched off)."""
        return cls("uniform")

    @classmethod
    def adapter(cls, name: str) -> "Routing":
        """One named adapter at weight 1."""
        return cls("adapter", adapter_name=name)

    @classmethod
    def static(cls, weights: Mapping[str, float]) -> "Routing":
        """A fixed mix `{adapter: weight}` (adapters left out weigh 0)."""
        return cls("static", mix=tuple((str(k), float(v)) for k, v in weights.items()))

    def describe(self) -> str:
        """A short label for reports (`gate`, `uniform`, `adapter:name`, `static`)."""
        return f"adapter:{self.adapter_name}" if self.mode == "adapter" else self.mode


def route_weights(
    routing: Routing, adapter_names: Sequence[str], prompt: str, gate: GateFn | None
) -> dict[str, float]:
    """The weights `routing` gives `prompt`. `gate` computes the learned gate's weights (None: no gate)."""
    names = list(adapter_names)
    if len(names) == 1 and routing.mode in ("gate", "uniform"):
        return {names[0]: 1.0}
    if routing.mode == "gate" and gate is not None:
        weights = gate(prompt)
        return {name: float(weights.get(name, 0.0)) for name in names}
    if routing.mode in ("gate", "uniform"):
        return {name: 1.0 / len(names) for name in names}
    if routing.mode == "adapter":
        _require_known([routing.adapter_name or ""], names)
        return {name: (1.0 if name == routing.adapter_name else 0.0) for name in names}
    mix = dict(routing.mix)
    _require_known(list(mix), names)
    if not all(math.isfinite(value) for value in mix.values()):
        raise ScoringInputError("a static mix needs finite weights", fix="give every adapter a finite number")
    return {name: mix.get(name, 0.0) for name in names}


def _require_known(requested: Sequence[str], names: Sequence[str]) -> None:
    unknown = [name for name in requested if name not in names]
    if unknown:
        raise ScoringInputError(
            f"adapter {unknown[0]!r} is not loaded (loaded: {', '.join(names)})",
            fix="pick one of the document's declared adapters",
        )
