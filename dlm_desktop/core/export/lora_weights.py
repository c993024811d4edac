"""LoRA adapters as plain arrays: read a PEFT adapter folder, write one back.

A `LoraWeights` maps each adapted base weight (transformers name, `model.layers.0.self_attn.q_proj.weight`)
to its `A` (`[r, in]`), `B` (`[out, r]`) and `scaling`, so that the weight's change is `scaling · B · A`.
PEFT's per-module ranks and alphas (`rank_pattern`, `alpha_pattern`) and rank-stabilised scaling are folded
into `scaling`, so nothing downstream needs PEFT's configuration rules.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlm_desktop.core.export.errors import AdapterFormatError

if TYPE_CHECKING:
    import numpy as np

PEFT_PREFIX = "base_model.model."
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
_LORA_KEY = re.compile(r"^(?P<module>.+)\.lora_(?P<side>[AB])\.weight$")
_FIX = "train the adapter again, or pick another adapter version"


@dataclass(frozen=True, eq=False)
class LoraModule:
    """One adapted weight: `delta = scaling · b @ a`."""

    a: "np.ndarray"
    b: "np.ndarray"
    scaling: float

    @property
    def rank(self) -> int:
        return int(self.a.shape[0])

    def delta(self) -> "np.ndarray":
        """`scaling · B · A` in the arrays' precision."""
        return (self.b @ self.a) * self.scaling


@dataclass(frozen=True, eq=False)
class LoraWeights:
    """A whole adapter: `modules` keyed by the adapted base weight's transformers name."""

    modules: dict[str, LoraModule]
    base_model: str | None = None

    def delta(self, weight_name: str) -> "np.ndarray | None":
        """The change to base weight `weight_name` in float32, or None when the adapter leaves it alone."""
        import numpy as np

        module = self.modules.get(weight_name)
        return None if module is None else module.delta().astype(np.float32)

    def uniform_rank_and_scaling(self) -> tuple[int, float] | None:
        """`(r, scaling)` shared by every module, or None when modules differ."""
        pairs = {(module.rank, module.scaling) for module in self.modules.values()}
        return next(iter(pairs)) if len(pairs) == 1 else None


def _pattern_value(patterns: dict[str, Any], module_name: str, default: Any) -> Any:
    """PEFT's rule: a pattern key applies when the module name ends with it (on a dot boundary)."""
    for key, value in patterns.items():
        if re.match(rf"(.*\.)?({key})$", module_name):
            return value
    return default


def read_adapter_config(folder: Path) -> dict[str, Any]:
    """`adapter_config.json` as a dict, checked to be a plain LoRA (not DoRA, no LoRA on embeddings)."""
    path = folder / ADAPTER_CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AdapterFormatError("the adapter folder has no adapter_config.json", fix=_FIX, path=folder) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AdapterFormatError(f"adapter_config.json cannot be read: {exc}", fix=_FIX, path=path) from exc
    if str(config.get("peft_type", "LORA")).upper() != "LORA":
        raise AdapterFormatError(f"the adapter is {config.get('peft_type')}, not LoRA", fix=_FIX, path=path)
    if config.get("use_dora"):
        raise AdapterFormatError(
            "DoRA adapters cannot be exported as a GGUF LoRA", fix="export with --merged instead", path=path
        )
    return config


def read_peft_adapter(folder: Path | str) -> LoraWeights:
    """Read a PEFT LoRA folder (`adapter_config.json` + `adapter_model.safetensors`) into float64 arrays."""
    import numpy as np
    from safetensors.numpy import load_file

    folder = Path(folder)
    config = read_adapter_config(folder)
    weights_path = folder / ADAPTER_WEIGHTS
    if not weights_path.is_file():
        raise AdapterFormatError("the adapter folder has no adapter_model.safetensors", fix=_FIX, path=folder)
    try:
        raw = load_file(str(weights_path))
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise AdapterFormatError(f"the adapter weights cannot be read: {exc}", fix=_FIX, path=weights_path) from exc
    sides: dict[str, dict[str, Any]] = {}
    for key, array in raw.items():
        match = _LORA_KEY.match(key)
        if match is None:
            raise AdapterFormatError(
                f"the adapter holds {key}, which a LoRA export cannot carry (trained embeddings or biases)",
                fix="export with --merged, or train without modules_to_save", path=weights_path,
            )
        module = match.group("module").removeprefix(PEFT_PREFIX)
        sides.setdefault(module, {})[match.group("side")] = array.astype(np.float64)
    modules = {f"{name}.weight": _module(name, parts, config, weights_path) for name, parts in sides.items()}
    return LoraWeights(modules=modules, base_model=config.get("base_model_name_or_path"))


def _module(name: str, parts: dict[str, Any], config: dict[str, Any], path: Path) -> LoraModule:
    if set(parts) != {"A", "B"} or parts["A"].shape[0] != parts["B"].shape[1]:
        raise AdapterFormatError(f"the LoRA matrices of {name} do not pair up", fix=_FIX, path=path)
    rank = int(parts["A"].shape[0])
    alpha = float(_pattern_value(config.get("alpha_pattern") or {}, name, config.get("lora_alpha", rank)))
    scaling = alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank
    return LoraModule(a=parts["A"], b=parts["B"], scaling=scaling)


def write_peft_adapter(weights: LoraWeights, folder: Path, *, base_model: str | None = None) -> Path:
    """Write `weights` as a PEFT LoRA folder PEFT loads with `PeftModel.from_pretrained`.

    Every module must share one rank and one scaling (`exact_mix` guarantees it); the config then holds that
    rank as `r` and `lora_alpha = scaling · r`.
    """
    import numpy as np
    from safetensors.numpy import save_file

    shared = weights.uniform_rank_and_scaling()
    if shared is None:
        raise AdapterFormatError("cannot save an adapter whose modules have different ranks or scalings",
                                 fix="this is a bug in the export: the mix must be padded first")
    rank, scaling = shared
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for weight_name, module in weights.modules.items():
        stem = PEFT_PREFIX + weight_name.removesuffix(".weight")
        tensors[f"{stem}.lora_A.weight"] = np.ascontiguousarray(module.a, dtype=np.float32)
        tensors[f"{stem}.lora_B.weight"] = np.ascontiguousarray(module.b, dtype=np.float32)
    save_file(tensors, str(folder / ADAPTER_WEIGHTS))
    targets = sorted({name.removesuffix(".weight").rsplit(".", 1)[-1] for name in weights.modules})
    config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": scaling * rank,
        "target_modules": targets, "lora_dropout": 0.0, "bias": "none", "fan_in_fan_out": False,
        "use_rslora": False, "use_dora": False, "inference_mode": True, "rank_pattern": {}, "alpha_pattern": {},
        "modules_to_save": None, "base_model_name_or_path": base_model or weights.base_model,
    }
    (folder / ADAPTER_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return folder
