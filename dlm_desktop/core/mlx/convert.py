"""PEFT LoRA adapter folders ⇄ mlx-lm adapter folders, exact both ways.

PEFT stores, per adapted linear layer `<path>` (the transformers module path, e.g.
`model.layers.0.self_attn.q_proj`), `base_model.model.<path>.lora_A.weight` `[r, in]` and `.lora_B.weight`
`[out, r]`, and computes `W x + (alpha/r) · B A x` (alpha/√r with rsLoRA). mlx-lm stores `<path>.lora_a`
`[in, r]` and `<path>.lora_b` `[r, out]` in `adapters.safetensors` and computes `W x + scale · (x a) b`, with
`adapter_config.json` = `{"fine_tune_type": "lora", "num_layers": n, "lora_parameters": {"rank", "scale",
"dropout", "keys"}}` (`keys`: module paths inside a decoder layer, applied to its last `n` layers). So
`lora_a = Aᵀ`, `lora_b = Bᵀ` and `scale = alpha/r`: transposes only, so the conversion is exact, and the
MLX config keeps the original PEFT config (`dlm_peft_config`) so that PEFT → MLX → PEFT gives back the
same config and bit-identical weights.

Adapters whose effect is not a plain low-rank term on linear layers (DoRA, LoRA biases, embeddings,
`modules_to_save`, per-module ranks) cannot be expressed in mlx-lm's format and are refused.
`mlx_adapter_for(peft_dir)` converts once and keeps the result in the app's model cache, keyed by the
checksum of the PEFT files.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from dlm_desktop.core.mlx.errors import AdapterConversionError

PEFT_WEIGHTS = "adapter_model.safetensors"
MLX_WEIGHTS = "adapters.safetensors"
CONFIG_FILE = "adapter_config.json"
PEFT_PREFIX = "base_model.model."
PEFT_CONFIG_KEY = "dlm_peft_config"
CACHE_DIRNAME = "mlx-adapters"
_PEFT_KEY = re.compile(r"^base_model\.model\.(?P<path>.+)\.lora_(?P<which>[AB])\.weight$")
_MLX_KEY = re.compile(r"^(?P<path>.+)\.lora_(?P<which>[ab])$")
_LAYER = re.compile(r"(?:^|\.)layers\.(?P<index>\d+)\.(?P<rest>.+)$")
_FIX = "train plain LoRA adapters (no DoRA, bias, embedding targets, modules_to_save or per-module ranks)"


@dataclass(frozen=True)
class LoraAdapter:
    """An adapter in neutral form: `modules` maps a module path to `(A [r, in], B [out, r])` (mlx arrays),
    `scale` multiplies `B A`, and `peft_config` is the PEFT config (read, or made up for an mlx-lm adapter)."""

    modules: dict[str, tuple[Any, Any]]
    rank: int
    scale: float
    dropout: float
    peft_config: dict[str, Any]


def lora_scale(config: Mapping[str, Any]) -> float:
    """PEFT's scaling of a LoRA config: alpha/r, or alpha/√r with rsLoRA."""
    rank = int(config.get("r", 8))
    alpha = float(config.get("lora_alpha", 8))
    return alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank


def read_peft_adapter(folder: Path | str) -> LoraAdapter:
    """Read a PEFT LoRA folder; refuses what mlx-lm cannot express (`AdapterConversionError`)."""
    import mlx.core as mx

    folder = Path(folder)
    config = _read_json(folder / CONFIG_FILE)
    _check_peft_config(config, folder)
    weights = _load(mx, folder / PEFT_WEIGHTS)
    halves: dict[str, dict[str, Any]] = {}
    for key, value in weights.items():
        match = _PEFT_KEY.match(key)
        if match is None:
            raise AdapterConversionError(f"PEFT tensor {key!r} is not a linear LoRA weight", path=folder, fix=_FIX)
        halves.setdefault(match["path"], {})[match["which"]] = value
    modules = {path: _pair(path, parts, folder) for path, parts in sorted(halves.items())}
    ranks = {int(a.shape[0]) for a, _ in modules.values()}
    if ranks != {int(config.get("r", 8))}:
        raise AdapterConversionError(f"the adapter's ranks {sorted(ranks)} differ from its config's r", path=folder,
                                     fix=_FIX)
    return LoraAdapter(modules, ranks.pop(), lora_scale(config), float(config.get("lora_dropout", 0.0)), config)


def read_mlx_adapter(folder: Path | str, *, base_model_ref: str | None = None) -> LoraAdapter:
    """Read an mlx-lm adapter folder (written by `write_mlx_adapter` or by `mlx_lm lora`)."""
    import mlx.core as mx

    folder = Path(folder)
    config = _read_json(folder / CONFIG_FILE)
    if config.get("fine_tune_type", "lora") != "lora":
        raise AdapterConversionError(f"the mlx-lm adapter is {config.get('fine_tune_type')!r}, not LoRA",
                                     path=folder, fix=_FIX)
    params = config.get("lora_parameters") or {}
    halves: dict[str, dict[str, Any]] = {}
    for key, value in _load(mx, folder / MLX_WEIGHTS).items():
        match = _MLX_KEY.match(key)
        if match is None:
            raise AdapterConversionError(f"mlx-lm tensor {key!r} is not a LoRA weight", path=folder, fix=_FIX)
        halves.setdefault(match["path"], {})[match["which"].upper()] = value.T  # back to PEFT's orientation
    modules = {path: _pair(path, parts, folder) for path, parts in sorted(halves.items())}
    rank = int(params.get("rank", 8))
    scale = float(params.get("scale", 20.0))
    peft_config = config.get(PEFT_CONFIG_KEY) or _made_up_peft_config(modules, rank, scale, params, base_model_ref)
    return LoraAdapter(modules, rank, scale, float(params.get("dropout", 0.0)), dict(peft_config))


def write_mlx_adapter(adapter: LoraAdapter, folder: Path | str, *, num_layers: int | None = None) -> Path:
    """Write `adapter` as an mlx-lm folder (`adapters.safetensors` + `adapter_config.json`)."""
    import mlx.core as mx

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, Any] = {}
    for path, (a, b) in adapter.modules.items():
        tensors[f"{path}.lora_a"] = mx.contiguous(a.T)
        tensors[f"{path}.lora_b"] = mx.contiguous(b.T)
    mx.save_safetensors(str(folder / MLX_WEIGHTS), tensors, metadata={"format": "mlx"})
    keys, layers = _layer_keys(adapter.modules)
    config = {
        "fine_tune_type": "lora",
        "num_layers": num_layers if num_layers is not None else (max(layers) + 1 if layers else 0),
        "lora_parameters": {"rank": adapter.rank, "scale": adapter.scale, "dropout": adapter.dropout,
                            "keys": keys},
        PEFT_CONFIG_KEY: adapter.peft_config,
    }
    _write_json(folder / CONFIG_FILE, config)
    return folder


def write_peft_adapter(adapter: LoraAdapter, folder: Path | str) -> Path:
    """Write `adapter` as a PEFT folder (`adapter_model.safetensors` + `adapter_config.json`)."""
    import mlx.core as mx

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, Any] = {}
    for path, (a, b) in adapter.modules.items():
        tensors[f"{PEFT_PREFIX}{path}.lora_A.weight"] = mx.contiguous(a)
        tensors[f"{PEFT_PREFIX}{path}.lora_B.weight"] = mx.contiguous(b)
    mx.save_safetensors(str(folder / PEFT_WEIGHTS), tensors, metadata={"format": "pt"})
    _write_json(folder / CONFIG_FILE, adapter.peft_config)
    return folder


def peft_to_mlx(peft_dir: Path | str, mlx_dir: Path | str, *, num_layers: int | None = None) -> Path:
    """Convert a PEFT LoRA folder into an mlx-lm adapter folder (loadable by `mlx_lm.load(..., adapter_path)`)."""
    return write_mlx_adapter(read_peft_adapter(peft_dir), mlx_dir, num_layers=num_layers)


def mlx_to_peft(mlx_dir: Path | str, peft_dir: Path | str, *, base_model_ref: str | None = None) -> Path:
    """Convert an mlx-lm adapter folder into a PEFT LoRA folder (loadable by `PeftModel.from_pretrained`)."""
    return write_peft_adapter(read_mlx_adapter(mlx_dir, base_model_ref=base_model_ref), peft_dir)


def adapter_checksum(peft_dir: Path | str) -> str:
    """SHA-256 over a PEFT folder's config and weights (what decides the converted adapter)."""
    digest = hashlib.sha256()
    for name in (CONFIG_FILE, PEFT_WEIGHTS):
        digest.update(name.encode() + b"\0")
        with open(Path(peft_dir) / name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def mlx_adapter_for(peft_dir: Path | str, *, cache_root: Path | None = None, num_layers: int | None = None) -> Path:
    """The mlx-lm form of a PEFT adapter, converted once and then served from the cache (keyed by checksum)."""
    from dlm_desktop.core.models.cache import model_cache_dir

    peft_dir = Path(peft_dir)
    if not (peft_dir / CONFIG_FILE).is_file() or not (peft_dir / PEFT_WEIGHTS).is_file():
        raise AdapterConversionError(f"{peft_dir} is not a PEFT adapter folder", path=peft_dir,
                                     fix="train the document first, or point at a folder with adapter_model.safetensors")
    root = (cache_root or model_cache_dir()) / CACHE_DIRNAME
    target = root / f"{adapter_checksum(peft_dir)[:32]}-{num_layers or 0}"
    if (target / MLX_WEIGHTS).is_file() and (target / CONFIG_FILE).is_file():
        return target
    temp = root / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    peft_to_mlx(peft_dir, temp, num_layers=num_layers)
    try:
        os.replace(temp, target)
    except OSError:  # another process converted the same adapter meanwhile: theirs is identical
        shutil.rmtree(temp, ignore_errors=True)
    return target


def read_adapter_folder(folder: Path | str, *, num_layers: int | None = None) -> LoraAdapter:
    """An adapter folder of either kind: mlx-lm's as it is, PEFT's through its cached conversion."""
    folder = Path(folder)
    if (folder / MLX_WEIGHTS).is_file():
        return read_mlx_adapter(folder)
    return read_mlx_adapter(mlx_adapter_for(folder, num_layers=num_layers))


# --- helpers -------------------------------------------------------------------------------------------------


def _check_peft_config(config: Mapping[str, Any], folder: Path) -> None:
    if str(config.get("peft_type", "LORA")).upper() != "LORA":
        raise AdapterConversionError(f"the adapter is {config.get('peft_type')}, not LoRA", path=folder, fix=_FIX)
    problems = [key for key in ("use_dora", "modules_to_save", "rank_pattern", "alpha_pattern") if config.get(key)]
    if config.get("bias", "none") not in ("none", None) or config.get("lora_bias"):
        problems.append("bias")
    if problems:
        raise AdapterConversionError(f"the adapter uses {', '.join(problems)}, which mlx-lm cannot express",
                                     path=folder, fix=_FIX)


def _pair(path: str, parts: Mapping[str, Any], folder: Path) -> tuple[Any, Any]:
    if set(parts) != {"A", "B"}:
        raise AdapterConversionError(f"module {path!r} has only half of its LoRA weights", path=folder,
                                     fix="train the adapter again (the file is incomplete)")
    a, b = parts["A"], parts["B"]
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
        raise AdapterConversionError(f"module {path!r} has LoRA shapes {a.shape} and {b.shape} that do not pair",
                                     path=folder, fix=_FIX)
    return a, b


def _layer_keys(modules: Mapping[str, Any]) -> tuple[list[str], list[int]]:
    """mlx-lm's `keys` (paths inside a decoder layer; top-level paths as they are) and the layer indices."""
    keys: set[str] = set()
    layers: set[int] = set()
    for path in modules:
        match = _LAYER.search(path)
        if match is None:
            keys.add(path)
        else:
            keys.add(match["rest"])
            layers.add(int(match["index"]))
    return sorted(keys), sorted(layers)


def _made_up_peft_config(modules: Mapping[str, Any], rank: int, scale: float, params: Mapping[str, Any],
                         base_model_ref: str | None) -> dict[str, Any]:
    """A PEFT config for an adapter trained by mlx-lm itself (alpha = scale · r)."""
    targets = sorted({path.rsplit(".", 1)[-1] for path in modules})
    return {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": scale * rank,
        "lora_dropout": float(params.get("dropout", 0.0)), "target_modules": targets, "bias": "none",
        "use_rslora": False, "use_dora": False, "fan_in_fan_out": False, "inference_mode": True,
        "base_model_name_or_path": base_model_ref, "modules_to_save": None,
    }


def _load(mx: Any, path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise AdapterConversionError(f"missing adapter weights {path.name}", path=path.parent,
                                     fix="point at a complete adapter folder (train the document again)")
    return dict(mx.load(str(path)))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AdapterConversionError(f"cannot read {path.name}: {exc}", path=path.parent,
                                     fix="point at a complete adapter folder (train the document again)") from exc
    if not isinstance(data, dict):
        raise AdapterConversionError(f"{path.name} is not a JSON object", path=path.parent, fix=_FIX)
    return data


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
