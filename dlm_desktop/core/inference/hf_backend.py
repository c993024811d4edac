"""The `hf` differential backend: ONE loaded transformers base with every adapter of a document (PEFT LoRA).

Views share that model and differ only in how the LoRA terms are weighted on each forward pass (per batch
row, by `stacked_lora`, installed for the duration of one forward call and removed in `finally`):

* `as_base()`: adapters off, the plain base weights;
* `as_finetuned(routing)`: `W + Σ w_i · s_i · B_i A_i`, with `w` from the gate per prompt (default), uniform,
  one named adapter or a static mix (`routing.Routing`);
* `as_scaled_adapter(λ)`: the fine-tuned mix times λ (0 is the base exactly, 1 the fine-tuned exactly);
* `as_null_adapter(seed, init_scale, rank_scale)`: the same structure with Gaussian LoRA weights, the real
  weights restored when the block exits, also on exceptions.

Only one view is open at a time (`views.ViewGuard`); the gate cache, padding and preflight are
`shared_model_backend`'s. Generation (`generation.py`) takes the same guard.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlm_desktop.core.inference import hf_scoring
from dlm_desktop.core.inference.hf_loading import load_peft_model
from dlm_desktop.core.inference.lora_control import null_lora_weights
from dlm_desktop.core.inference.routing import Routing
from dlm_desktop.core.inference.shared_model_backend import SharedModelBackend
from dlm_desktop.core.inference.stacked_lora import LoraStacks, base_forward, stacked_forward
from dlm_desktop.core.inference.views import LeasedScoringView

if TYPE_CHECKING:
    import torch


class HFView(LeasedScoringView):
    """A scoring view over the backend's shared model (see `protocols.ScoringView`)."""

    scoring = hf_scoring


class HFDifferentialBackend(SharedModelBackend):
    """A PEFT model holding every adapter of a document, with base/fine-tuned/scaled/null views.

    Build it with `HFDifferentialBackend.load(base_dir, {name: adapter_dir}, gate=...)`, or wrap an already
    loaded PEFT model. `gate` is a `LoadedGate` (`core.training.gate`) or None; `routing` is the default rule
    of the fine-tuned view.
    """

    view_type = HFView
    _preflight_fix = "train the adapter again (its weights are corrupt), or load the model in float32"

    kind = "hf"
    protocols = ("differential", "scaled_adapter", "null_adapter", "preflight")

    def __init__(self, model: Any, tokenizer: Any, adapter_names: Sequence[str], *, gate: Any = None,
                 routing: Routing | None = None) -> None:
        super().__init__(model, tokenizer, adapter_names, gate=gate, routing=routing,
                         max_positions=getattr(model.config, "max_position_embeddings", 2048))
        self._stacks = LoraStacks(model, self.adapter_names)

    @classmethod
    def load(cls, base_dir: Path | str, adapters: Mapping[str, Path | str], *, gate: Any = None,
             routing: Routing | None = None, dtype: str = "float32", device: str = "cpu") -> "HFDifferentialBackend":
        """Load the base once and every adapter onto it (all active; views set their weights)."""
        model, tokenizer = load_peft_model(base_dir, adapters, dtype=dtype, device=device)
        return cls(model, tokenizer, list(adapters), gate=gate, routing=routing)

    # --- routing -------------------------------------------------------------------------------------------

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

    def _all_finite(self, logits: "torch.Tensor") -> bool:
        import torch

        return bool(torch.isfinite(logits).all())

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

    def close(self) -> None:
        """Drop the model (frees its memory once no view or generation holds it)."""
        super().close()
        self._stacks.clear()
