"""The `hf` differential backend: ONE loaded transformers base with every adapter of a document (PEFT LoRA).

Views share that model and differ only in how the LoRA terms are weighted on each forward pass (per batch
row, by `stacked_lora`, installed for the duration of one forward call and removed in `finally`):

* `as_base()`: adapters off, the plain base weights;
* `as_finetuned(routing)`: `W + Σ w_i · s_i · B_i A_i`, with `w` from the gate per prompt (default), uniform,
  one named adapter or a static mix (`routing.Routing`);
* `as_scaled_adapter(λ)`: the fine-tuned mix times λ (0 is the base exactly, 1 the fine-tuned exactly);
* `as_null_adapter(seed, init_scale, rank_scale)`: the same structure with Gaussian LoRA weights, the real
  weights restored when the block exits, also on exceptions.

Only one view is open at a time (`views.ViewGuard`). Generation (`generation.py`) takes the same guard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlm_desktop.core.inference import hf_scoring
from dlm_desktop.core.inference.errors import NonFiniteLogitsError
from dlm_desktop.core.inference.hf_loading import load_peft_model
from dlm_desktop.core.inference.lora_control import null_lora_weights
from dlm_desktop.core.inference.routing import Routing
from dlm_desktop.core.inference.stacked_lora import LoraStacks, base_forward, stacked_forward
from dlm_desktop.core.inference.views import LeasedScoringView, RoutedViews, ViewGuard

if TYPE_CHECKING:
    import torch

WeightsFn = Callable[[str], dict[str, float]]
PREFLIGHT_PROMPT = "Hello, how are you today?"
_GATE_CACHE_SIZE = 512


class HFView(LeasedScoringView):
    """A scoring view over the backend's shared model (see `protocols.ScoringView`)."""

    scoring = hf_scoring


class HFDifferentialBackend(RoutedViews):
    """A PEFT model holding every adapter of a document, with base/fine-tuned/scaled/null views.

    Build it with `HFDifferentialBackend.load(base_dir, {name: adapter_dir}, gate=...)`, or wrap an already
    loaded PEFT model. `gate` is a `LoadedGate` (`core.training.gate`) or None; `routing` is the default rule
    of the fine-tuned view.
    """

    view_type = HFView

    kind = "hf"
    protocols = ("differential", "scaled_adapter", "null_adapter", "preflight")

    def __init__(self, model: Any, tokenizer: Any, adapter_names: Sequence[str], *, gate: Any = None,
                 routing: Routing | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.adapter_names = tuple(adapter_names)
        self.gate = gate
        self.routing = routing or Routing.gate()
        self.guard = ViewGuard()
        self.window = min(int(getattr(model.config, "max_position_embeddings", 2048) or 2048), hf_scoring.MAX_WINDOW)
        self._gate_cache: dict[str, dict[str, float]] = {}
        self._stacks = LoraStacks(model, self.adapter_names)

    @classmethod
    def load(cls, base_dir: Path | str, adapters: Mapping[str, Path | str], *, gate: Any = None,
             routing: Routing | None = None, dtype: str = "float32", device: str = "cpu") -> "HFDifferentialBackend":
        """Load the base once and every adapter onto it (all active; views set their weights)."""
        model, tokenizer = load_peft_model(base_dir, adapters, dtype=dtype, device=device)
        return cls(model, tokenizer, list(adapters), gate=gate, routing=routing)

    # --- routing -------------------------------------------------------------------------------------------

    def gate_weights(self, prompt: str) -> dict[str, float]:
        """The learned gate's weights for `prompt` (uniform without a gate); cached per prompt text."""
        cached = self._gate_cache.get(prompt)
        if cached is None:
            cached = self._route_with_gate(prompt)
            if len(self._gate_cache) >= _GATE_CACHE_SIZE:
                self._gate_cache.clear()
            self._gate_cache[prompt] = cached
        return dict(cached)

    def _route_with_gate(self, prompt: str) -> dict[str, float]:
        """The gate on the prompt's base embedding (SPEC-upstream §4.2). The embedding is the decoder body's
        last hidden state with the adapters off, which is exactly what the whole model's `hidden_states[-1]`
        is, without computing the vocabulary-wide LM head the gate never reads."""
        from dlm_desktop.core.training.gate import embed_prompts, weights_for_prompt

        if self.gate.network is None:  # uniform gate: no embedding needed
            return weights_for_prompt(self.gate, None)
        causal_lm = self.model.get_base_model()
        body = causal_lm.get_decoder() if hasattr(causal_lm, "get_decoder") else None
        with base_forward(self._stacks):
            embedding = embed_prompts(body if body is not None else self.model, self.tokenizer, [prompt])[0]
        return {name: float(weight) for name, weight in weights_for_prompt(self.gate, embedding).items()}

    @contextmanager
    def null_weights(self, seed: int, init_scale: float | None, rank_scale: float) -> Iterator[None]:
        """Random adapters in place of the trained ones (see `lora_control.null_lora_weights`) until exit."""
        with null_lora_weights(self.model, self.adapter_names, seed=seed, init_scale=init_scale,
                               rank_scale=rank_scale):
            yield

    def preflight_finite_check(self, prompt: str = PREFLIGHT_PROMPT) -> None:
        """One forward per view on a sentinel prompt; `NonFiniteLogitsError` when any logit is NaN or infinite."""
        import torch

        for opener in (self.as_base, self.as_finetuned):
            with opener() as view:
                logits = view._forward([hf_scoring.prompt_ids(self.tokenizer, prompt)], [prompt], True)
                if not bool(torch.isfinite(logits).all()):
                    raise NonFiniteLogitsError(
                        f"the {view.label} model gives NaN or infinite logits, so no comparison can be trusted",
                        fix="train the adapter again (its weights are corrupt), or load the model in float32",
                    )

    # --- forward passes ------------------------------------------------------------------------------------

    def forward_rows(self, rows: list[list[int]], factors: list[Mapping[str, float]] | None, *,
                     last_only: bool) -> "torch.Tensor":
        """Float logits of left-padded `rows`; `factors` gives each row its adapter factors (None: base)."""
        input_ids, mask, positions = hf_scoring.pad_left(rows, self.pad_id)
        outputs = self.run(input_ids, mask, positions, factors=factors, last_only=last_only)
        return outputs.logits.float()

    def run(self, input_ids: Any, attention_mask: Any, position_ids: Any, *,
            factors: list[Mapping[str, float]] | None, past: Any = None, use_cache: bool = False,
            last_only: bool = True, validate: bool = True) -> Any:
        """One forward pass of the shared model; per-row adapter factors (None: the plain base) apply only
        inside this call. `validate=False` skips the check for changed LoRA weights (later decoding steps)."""
        import torch

        device = self.device
        kwargs = dict(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                      position_ids=position_ids.to(device), past_key_values=past, use_cache=use_cache)
        if last_only:
            kwargs["logits_to_keep"] = 1
        forwards = (base_forward(self._stacks) if factors is None
                    else stacked_forward(self._stacks, factors, validate=validate))
        with torch.inference_mode(), forwards:
            return self.model(**kwargs)

    @property
    def device(self) -> "torch.device":
        return next(self.model.parameters()).device

    @property
    def pad_id(self) -> int:
        for candidate in (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id):
            if isinstance(candidate, int):
                return candidate
        return 0

    def close(self) -> None:
        """Drop the model (frees its memory once no view or generation holds it)."""
        self.model = None
        self._gate_cache.clear()
        self._stacks.clear()
