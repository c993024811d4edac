"""What the `hf` and `mlx` differential backends share around their ONE loaded model: the scoring window, the
per-prompt gate cache, the padding token and the finite-logits preflight.

A subclass gives `_route_with_gate(prompt)` (the gate's weights, uncached), `_all_finite(logits)` for its
array type, `_preflight_fix` (the advice when the preflight fails), and what `views.RoutedViews` asks for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlm_desktop.core.inference.errors import NonFiniteLogitsError
from dlm_desktop.core.inference.routing import Routing
from dlm_desktop.core.inference.token_scoring import MAX_WINDOW, prompt_ids
from dlm_desktop.core.inference.views import RoutedViews, ViewGuard

PREFLIGHT_PROMPT = "Hello, how are you today?"
GATE_CACHE_SIZE = 512


class SharedModelBackend(RoutedViews):
    """A differential backend whose views all share one loaded `model` and `tokenizer`."""

    _preflight_fix = "train the adapter again (its weights are corrupt)"

    def __init__(self, model: Any, tokenizer: Any, adapter_names: Sequence[str], *, gate: Any,
                 routing: Routing | None, max_positions: int | None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.adapter_names = tuple(adapter_names)
        self.gate = gate
        self.routing = routing or Routing.gate()
        self.guard = ViewGuard()
        self.window = min(int(max_positions or 2048), MAX_WINDOW)
        self._gate_cache: dict[str, dict[str, float]] = {}

    def gate_weights(self, prompt: str) -> dict[str, float]:
        """The learned gate's weights for `prompt` (uniform without a gate); cached per prompt text."""
        cached = self._gate_cache.get(prompt)
        if cached is None:
            cached = self._route_with_gate(prompt)
            if len(self._gate_cache) >= GATE_CACHE_SIZE:
                self._gate_cache.clear()
            self._gate_cache[prompt] = cached
        return dict(cached)

    def _route_with_gate(self, prompt: str) -> dict[str, float]:
        raise NotImplementedError

    def preflight_finite_check(self, prompt: str = PREFLIGHT_PROMPT) -> None:
        """One forward per view on a sentinel prompt; `NonFiniteLogitsError` when any logit is NaN or infinite."""
        for opener in (self.as_base, self.as_finetuned):
            with opener() as view:
                logits = view._forward([prompt_ids(self.tokenizer, prompt)], [prompt], True)
                if not self._all_finite(logits):
                    raise NonFiniteLogitsError(
                        f"the {view.label} model gives NaN or infinite logits, so no comparison can be trusted",
                        fix=self._preflight_fix,
                    )

    def _all_finite(self, logits: Any) -> bool:
        raise NotImplementedError

    @property
    def pad_id(self) -> int:
        """The id that pads rows: the tokenizer's pad token, else its EOS, else 0."""
        for candidate in (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id):
            if isinstance(candidate, int):
                return candidate
        return 0

    def close(self) -> None:
        """Drop the model (frees its memory once no view or generation holds it)."""
        self.model = None
        self._gate_cache.clear()
