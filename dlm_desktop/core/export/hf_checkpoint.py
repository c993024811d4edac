"""Read a transformers model folder without building the model: its config and its safetensors tensors.

Tensors are read one at a time (shapes from the safetensors headers, data on demand), so converting a model
never holds more than one tensor in float32 besides what the GGUF writer buffers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlm_desktop.core.export.errors import UnsupportedModelError

if TYPE_CHECKING:
    import numpy as np

# Buffers transformers may save that are not weights (recomputed at load time).
_SKIPPED_SUFFIXES = ("rotary_emb.inv_freq", ".attn.masked_bias", ".attn.bias")


@dataclass(frozen=True)
class HfCheckpoint:
    """A model folder: `config` (config.json as a dict), and where each tensor lives."""

    folder: Path
    config: dict[str, Any]
    locations: dict[str, Path] = field(repr=False)
    shapes: dict[str, tuple[int, ...]] = field(repr=False)

    @property
    def architecture(self) -> str:
        """The transformers class name (`LlamaForCausalLM`, ...), or "" when config.json names none."""
        names = self.config.get("architectures") or [""]
        return str(names[0])

    def tensor_names(self) -> list[str]:
        """Every weight name, in file order (first file first)."""
        return list(self.locations)

    def load(self, name: str) -> "np.ndarray":
        """One tensor as a float32 numpy array (bf16 and f16 weights are widened)."""
        import torch
        from safetensors import safe_open

        with safe_open(str(self.locations[name]), framework="pt") as handle:
            return handle.get_tensor(name).to(torch.float32).numpy()

    def iter_tensors(self, names: list[str]) -> Iterator[tuple[str, "np.ndarray"]]:
        """`(name, float32 array)` for `names` in order, opening each safetensors file once per run of names."""
        import torch
        from safetensors import safe_open

        index = 0
        while index < len(names):
            path = self.locations[names[index]]
            with safe_open(str(path), framework="pt") as handle:
                while index < len(names) and self.locations[names[index]] == path:
                    name = names[index]
                    yield name, handle.get_tensor(name).to(torch.float32).numpy()
                    index += 1


def open_checkpoint(folder: Path | str) -> HfCheckpoint:
    """Index `folder`'s config.json and `*.safetensors` files (headers only). Raises `UnsupportedModelError`
    when there is no config or no safetensors weights (old `.bin` checkpoints are not read)."""
    from safetensors import safe_open

    folder = Path(folder)
    config = read_json(folder / "config.json", what="the model's config.json")
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise UnsupportedModelError(
            f"{folder} has no .safetensors weights",
            fix="save the model with `save_pretrained(..., safe_serialization=True)`",
            path=folder,
        )
    locations: dict[str, Path] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    for path in files:
        try:
            with safe_open(str(path), framework="pt") as handle:
                for name in handle.keys():
                    if not name.endswith(_SKIPPED_SUFFIXES):
                        locations[name] = path
                        shapes[name] = tuple(handle.get_slice(name).get_shape())
        except Exception as exc:  # safetensors raises its own error types for damaged files
            raise UnsupportedModelError(f"the weights file {path.name} cannot be read: {exc}",
                                        fix="re-download the model", path=path) from exc
    return HfCheckpoint(folder=folder, config=config, locations=locations, shapes=shapes)


def read_json(path: Path, *, what: str) -> dict[str, Any]:
    """A JSON object from `path`; `UnsupportedModelError` naming `what` when missing or unreadable."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UnsupportedModelError(f"{what} is missing", fix="point the export at a complete model folder",
                                    path=path) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsupportedModelError(f"{what} cannot be read: {exc}", fix="re-download the model", path=path) from exc
    if not isinstance(value, dict):
        raise UnsupportedModelError(f"{what} is not a JSON object", fix="re-download the model", path=path)
    return value


def rope_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The rope parameters, whether saved the transformers-5 way (`rope_parameters`) or the older way
    (`rope_theta` + `rope_scaling`): a dict with at least `rope_type` and `rope_theta`."""
    params = dict(config.get("rope_parameters") or {})
    scaling = config.get("rope_scaling") or {}
    for key, value in scaling.items():
        params.setdefault(key, value)
    if "type" in params and "rope_type" not in params:
        params["rope_type"] = params["type"]
    params.setdefault("rope_type", "default")
    params.setdefault("rope_theta", config.get("rope_theta", 10000.0))
    return params
