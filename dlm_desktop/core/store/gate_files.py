"""`adapter/_gate/gate_config.json`: the learned gate's metadata, in upstream `dlm`'s format (SPEC-upstream §4.4).

The file is JSON with sorted keys, 2-space indentation and a trailing LF:
`adapter_names` (declared order), `entropy_lambda`, `hidden_proj_dim`, `input_dim`, `mode` (`trained` or
`uniform`). A trained gate also has `gate.safetensors` next to it; a uniform one has no weights.
Write the weights first and the config last, so a reader never sees a trained config without weights.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dlm_desktop.core.document.text import atomic_write_bytes
from dlm_desktop.core.store.errors import GateConfigError
from dlm_desktop.core.store.paths import StorePaths

GateFileMode = Literal["trained", "uniform"]
DEFAULT_ENTROPY_LAMBDA = 0.01
_REQUIRED = ("input_dim", "hidden_proj_dim", "adapter_names", "mode")
_FIX = "train the document again to rewrite the gate"


@dataclass(frozen=True)
class GateConfig:
    """The contents of `gate_config.json`."""

    input_dim: int
    hidden_proj_dim: int
    adapter_names: tuple[str, ...]
    mode: GateFileMode
    entropy_lambda: float = DEFAULT_ENTROPY_LAMBDA

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object upstream writes (lists, not tuples)."""
        return {
            "adapter_names": list(self.adapter_names),
            "entropy_lambda": float(self.entropy_lambda),
            "hidden_proj_dim": self.hidden_proj_dim,
            "input_dim": self.input_dim,
            "mode": self.mode,
        }


def gate_config_json(config: GateConfig) -> str:
    """The exact text of `gate_config.json` for `config` (sorted keys, indent 2, trailing LF)."""
    _check_writable(config)
    return json.dumps(config.to_json_dict(), indent=2, sort_keys=True) + "\n"


def write_gate_config(paths: StorePaths, config: GateConfig) -> Path:
    """Write `adapter/_gate/gate_config.json` atomically and return its path.

    A `trained` config is refused unless `gate.safetensors` is already there.
    """
    if config.mode == "trained" and not paths.gate_weights.is_file():
        raise GateConfigError(
            "a trained gate config needs gate.safetensors, which is missing",
            path=paths.gate_weights,
            fix="save the gate weights before writing its config",
        )
    text = gate_config_json(config)
    atomic_write_bytes(paths.gate_config, text.encode("utf-8"))
    return paths.gate_config


def read_gate_config(paths: StorePaths) -> GateConfig:
    """Read and check `gate_config.json`; a trained gate without `gate.safetensors` is an error."""
    path = paths.gate_config
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise GateConfigError("the store has no gate_config.json", path=path, fix=_FIX) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GateConfigError(f"gate_config.json cannot be read: {exc}", path=path, fix=_FIX) from exc
    config = gate_config_from_dict(raw, path=path)
    if config.mode == "trained" and not paths.gate_weights.is_file():
        raise GateConfigError(
            "the gate is 'trained' but its weights file gate.safetensors is missing",
            path=paths.gate_weights,
            fix=_FIX,
        )
    return config


def gate_config_from_dict(raw: object, *, path: Path | str | None = None) -> GateConfig:
    """Validate a parsed `gate_config.json` object with upstream's rules; raises `GateConfigError`."""
    if not isinstance(raw, dict):
        raise GateConfigError("gate_config.json must be a JSON object", path=path, fix=_FIX)
    missing = sorted(set(_REQUIRED) - set(raw))
    if missing:
        raise GateConfigError(f"gate_config.json lacks {', '.join(missing)}", path=path, fix=_FIX)
    mode = raw["mode"]
    if mode not in ("trained", "uniform"):
        raise GateConfigError(
            f"gate_config.json mode must be 'trained' or 'uniform', not {mode!r}", path=path, fix=_FIX
        )
    names = raw["adapter_names"]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise GateConfigError("gate_config.json adapter_names must be a list of names", path=path, fix=_FIX)
    dims = (raw["input_dim"], raw["hidden_proj_dim"])
    if not all(isinstance(dim, int) and not isinstance(dim, bool) for dim in dims):
        raise GateConfigError("gate_config.json input_dim and hidden_proj_dim must be integers", path=path, fix=_FIX)
    entropy = raw.get("entropy_lambda", DEFAULT_ENTROPY_LAMBDA)
    if isinstance(entropy, bool) or not isinstance(entropy, int | float):
        raise GateConfigError("gate_config.json entropy_lambda must be a number", path=path, fix=_FIX)
    return GateConfig(dims[0], dims[1], tuple(names), mode, float(entropy))


def _check_writable(config: GateConfig) -> None:
    problems = []
    if config.mode not in ("trained", "uniform"):
        problems.append(f"mode must be 'trained' or 'uniform', not {config.mode!r}")
    if len(config.adapter_names) < 2 or len(set(config.adapter_names)) != len(config.adapter_names):
        problems.append("a gate needs at least two distinct adapter names")
    for label, dim in (("input_dim", config.input_dim), ("hidden_proj_dim", config.hidden_proj_dim)):
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            problems.append(f"{label} must be a positive integer, not {dim!r}")
    if not math.isfinite(config.entropy_lambda):
        problems.append("entropy_lambda must be finite")
    if problems:
        raise GateConfigError("invalid gate config: " + "; ".join(problems), fix="this is a bug in the gate trainer")
