"""The `mlx` differential backend: ONE base model loaded in MLX with every adapter of a document.

The same views as the `hf` backend, on the same tokenizer and routing rules, with LoRA terms applied by
`core.mlx.lora.MixedLoRALinear` per batch row:

* `as_base()`: adapters off (the wrapped base layers alone, exactly);
* `as_finetuned(routing)`: `W + Σ w_i · s_i · B_i A_i`, `w` from the gate per prompt, uniform, one adapter or
  a static mix (`routing.Routing`);
* `as_scaled_adapter(λ)`: that mix times λ;
* `as_null_adapter(seed, init_scale, rank_scale)`: Gaussian LoRA weights of the same shapes, the real
  weights restored when the block exits, also on exceptions.

PEFT adapter folders are converted to mlx-lm's form once (`core.mlx.convert.mlx_adapter_for`, cached by
checksum); mlx-lm folders are read as they are. The gate embeds a prompt with this same MLX model (mean of
the base's last hidden state, as `core.training.gate.embed`), and its small router network runs in torch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from dlm_desktop.core.inference import mlx_scoring
from dlm_desktop.core.inference.errors import AdapterLoadError
from dlm_desktop.core.inference.routing import Routing
from dlm_desktop.core.inference.shared_model_backend import SharedModelBackend
from dlm_desktop.core.inference.token_scoring import pad_left
from dlm_desktop.core.inference.views import LeasedScoringView

GATE_MAX_TOKENS = 512


class MlxView(LeasedScoringView):
    """A scoring view over the backend's shared MLX model (see `protocols.ScoringView`)."""

    scoring = mlx_scoring


class MlxDifferentialBackend(SharedModelBackend):
    """An MLX model holding every adapter of a document, with base/fine-tuned/scaled/null views.

    Build it with `MlxDifferentialBackend.load(base_dir, {name: adapter_dir}, gate=...)`. `gate` is a
    `LoadedGate` (`core.training.gate`) or None; `routing` is the fine-tuned view's default rule.
    """

    view_type = MlxView

    kind = "mlx"
    protocols = ("differential", "scaled_adapter", "null_adapter", "preflight")

    def __init__(self, model: Any, tokenizer: Any, adapters: Mapping[str, Any], mixer: Any, config: Mapping[str, Any],
                 *, gate: Any = None, routing: Routing | None = None) -> None:
        super().__init__(model, tokenizer, tuple(adapters), gate=gate, routing=routing,
                         max_positions=config.get("max_position_embeddings", 2048))
        self.adapters = dict(adapters)
        self.mixer = mixer
        self.generation_config = SimpleNamespace(eos_token_id=config.get("eos_token_id"))

    @classmethod
    def load(cls, base_dir: Path | str, adapters: Mapping[str, Path | str], *, gate: Any = None,
             routing: Routing | None = None) -> "MlxDifferentialBackend":
        """Load the base once in MLX and every adapter onto it (PEFT folders are converted, cached)."""
        from dlm_desktop.core.inference.hf_loading import load_tokenizer
        from dlm_desktop.core.mlx.convert import read_adapter_folder
        from dlm_desktop.core.mlx.loading import load_base_model
        from dlm_desktop.core.mlx.lora import attach_mixed

        if not adapters:
            raise AdapterLoadError("the mlx backend needs at least one adapter",
                                   fix="train the document first, or give the adapter folder in the spec")
        folders = {name: Path(folder) for name, folder in adapters.items()}
        tokenizer = load_tokenizer(base_dir, next(iter(folders.values())))
        model, config = load_base_model(base_dir, vocab_size=len(tokenizer))
        layers = int(config.get("num_hidden_layers") or 0) or None
        read = {name: read_adapter_folder(folder, num_layers=layers) for name, folder in folders.items()}
        mixer = attach_mixed(model, read)
        return cls(model, tokenizer, read, mixer, config, gate=gate, routing=routing)

    # --- routing -------------------------------------------------------------------------------------------

    def _route_with_gate(self, prompt: str) -> dict[str, float]:
        from dlm_desktop.core.training.gate import weights_for_prompt

        if self.gate.network is None:
            return weights_for_prompt(self.gate, None)
        return {name: float(w) for name, w in weights_for_prompt(self.gate, self.embed_prompt(prompt)).items()}

    def embed_prompt(self, prompt: str) -> Any:
        """The gate's embedding of `prompt` (float32 torch vector): the mean of the base's last hidden state
        over the prompt's tokens (with special tokens, cut to 512), adapters off."""
        import mlx.core as mx
        import numpy as np
        import torch

        from dlm_desktop.core.mlx.loading import hidden_states

        ids = list(self.tokenizer(prompt, truncation=True, max_length=GATE_MAX_TOKENS)["input_ids"])
        with self.mixer.applied(None):
            hidden = hidden_states(self.model, mx.array([ids]))[0].astype(mx.float32).mean(axis=0)
            vector = np.array(hidden)
        return torch.from_numpy(vector)

    @contextmanager
    def null_weights(self, seed: int, init_scale: float | None, rank_scale: float) -> Iterator[None]:
        """Random adapters in place of the trained ones (`mlx_null.null_weights`) until exit."""
        from dlm_desktop.core.inference.mlx_null import null_weights

        with null_weights(self.mixer, seed=seed, init_scale=init_scale, rank_scale=rank_scale):
            yield

    def _all_finite(self, logits: Any) -> bool:
        import numpy as np

        return bool(np.isfinite(logits).all())

    # --- forward passes ------------------------------------------------------------------------------------

    def forward_rows(self, rows: list[list[int]], factors: list[Mapping[str, float]] | None, *,
                     last_only: bool) -> Any:
        """Float32 numpy logits of `rows` (left-padded when their lengths differ); `factors` gives each row
        its adapter factors (None: the base)."""
        import mlx.core as mx
        import numpy as np

        padded, padding = pad_left(rows, self.pad_id)
        cache = self.batch_cache(padding) if any(padding) else None
        logits = self.run(mx.array(padded), cache, factors)
        if last_only:
            logits = logits[:, -1:, :]
        return np.array(logits.astype(mx.float32))

    def run(self, inputs: Any, cache: Any, factors: Sequence[Mapping[str, float]] | None) -> Any:
        """One forward pass of the shared model with per-row factors (None: the base); evaluated here, so the
        factors in force are the ones given."""
        import mlx.core as mx

        with self.mixer.applied(factors):
            logits = self.model(inputs, cache=cache)
            mx.eval(logits)
        return logits

    def batch_cache(self, padding: Sequence[int]) -> list[Any]:
        """A fresh key/value cache per decoder layer for left-padded rows (positions start at each row's first
        real token, and the padding is masked)."""
        from mlx_lm.models.cache import BatchKVCache

        return [BatchKVCache(list(padding)) for _ in self.model.layers]
