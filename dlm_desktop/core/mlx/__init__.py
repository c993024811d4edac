"""The MLX runtime's shared pieces (Apple Silicon; `mlx[cpu]` on Linux for tests).

* `convert`: PEFT LoRA folders ⇄ mlx-lm adapter folders (key names, transposes, scale = alpha/r, config),
  exact both ways, with a cache of converted adapters keyed by checksum;
* `loading`: the base model in MLX (`mlx_lm`'s model classes over the transformers folder) and the check
  that MLX is installed at all;
* `lora`: LoRA layers for MLX: a mixing layer that applies several adapters with per-row weights (chat and
  scoring), and a trainable one (training).

Importing this package never imports mlx; every function that needs it imports it when called.
"""

from __future__ import annotations

from dlm_desktop.core.mlx.errors import AdapterConversionError, MlxError, MlxUnavailableError

__all__ = ["AdapterConversionError", "MlxError", "MlxUnavailableError"]
