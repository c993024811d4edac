"""Loading a base model into MLX: mlx-lm's model classes over the same transformers folder torch reads.

The tokenizer stays the transformers tokenizer (the adapter folder's when it saved one), so prompts,
chat templates and decoding are identical to the torch runtime's. Computation runs on MLX's default device:
the GPU on Apple Silicon, the CPU elsewhere (`mlx[cpu]` on Linux).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlm_desktop.core.mlx.errors import MlxUnavailableError

_INSTALL_FIX = "install the MLX runtime: pip install mlx mlx-lm (on Linux: pip install 'mlx[cpu]' mlx-lm)"


def require_mlx() -> Any:
    """`mlx.core`, after checking that `mlx` and `mlx_lm` both import; `MlxUnavailableError` otherwise."""
    try:
        import mlx.core as mx
        import mlx_lm  # noqa: F401 - only its presence is checked here
    except ImportError as exc:
        raise MlxUnavailableError(f"the MLX runtime is not installed ({exc})", fix=_INSTALL_FIX) from exc
    return mx


def load_base_model(base_dir: Path | str, *, vocab_size: int | None = None) -> tuple[Any, dict[str, Any]]:
    """`(model, config)`: the base from `base_dir` in MLX, float32 weights as stored, evaluated in memory.

    `vocab_size` is the tokenizer's length: a tokenizer that grew past the model's embeddings (training
    added a pad token) is refused, since those rows exist only in the torch run that trained them.
    """
    require_mlx()
    from mlx_lm.utils import load_model

    try:
        model, config = load_model(Path(base_dir))
    except (ValueError, FileNotFoundError, KeyError, ImportError) as exc:
        raise MlxUnavailableError(
            f"mlx-lm cannot load the base model in {base_dir}: {exc}", path=base_dir,
            fix="use a base whose architecture mlx-lm supports (Llama, Qwen, SmolLM, ...), or set the backend "
                "to cpu/mps in settings or DLM_DESKTOP_BACKEND",
        ) from exc
    rows = int(config.get("vocab_size") or 0)
    if vocab_size is not None and rows and vocab_size > rows:
        raise MlxUnavailableError(
            f"the tokenizer has {vocab_size} tokens but the base model only {rows} embeddings (a pad token was "
            "added for training), which the MLX runtime does not support",
            path=base_dir, fix="train and chat with the torch runtime: set DLM_DESKTOP_BACKEND=cpu (or mps)",
        )
    model.eval()
    return model, config


def decoder_layers(model: Any) -> list[Any]:
    """The model's decoder blocks (mlx-lm models expose them as `model.layers`)."""
    layers = getattr(model, "layers", None)
    if layers is None:
        raise MlxUnavailableError("the MLX model exposes no decoder layers", fix=_INSTALL_FIX)
    return list(layers)


def hidden_states(model: Any, inputs: Any, cache: Any = None) -> Any:
    """The decoder body's last hidden state (after the final norm): what the output head reads."""
    body = getattr(model, "model", None) or getattr(model, "language_model", None)
    if body is None:
        raise MlxUnavailableError(f"{type(model).__name__} has no decoder body", fix=_INSTALL_FIX)
    return body(inputs, cache=cache)
