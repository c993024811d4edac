"""`build(spec)`: a differential scoring backend from a spec (a `BackendSpec` or a plain mapping).

| kind     | base                                   | adapter                                   |
|----------|----------------------------------------|-------------------------------------------|
| `hf`     | model folder or registry key           | PEFT folder, or `{name: folder}` (needed) |
| `mlx`    | model folder or registry key           | PEFT or mlx-lm folder, or `{name: folder}`|
| `api`    | `{"url", "model"}` of the base side    | fine-tuned model name, or `{"url","model"}`|
| `custom` | passed to the class as is              | passed to the class as is                 |
| `dummy`  | refused: construct `DummyBackend` directly                                         |

`gate` (hf and mlx) is a store folder or its `adapter/_gate` folder. PEFT adapters given to `mlx` are
converted to mlx-lm's form automatically (once, cached by checksum). `options`: hf `dtype`, `device`; api
`vocab_size`, `timeout_s`, `api_key`. Every failure is a typed error whose message says the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dlm_desktop.core.inference.errors import BackendSpecError, BackendUnavailableError

KINDS = ("hf", "mlx", "api", "custom", "dummy")


@dataclass(frozen=True)
class BackendSpec:
    """What to build; see the module docstring for each kind's fields."""

    kind: str
    base: Any = None
    adapter: Any = None
    gate: Path | str | None = None
    entry_point: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "BackendSpec":
        """A spec from a JSON-like mapping; unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BackendSpecError(f"unknown backend spec keys: {', '.join(unknown)}",
                                   fix=f"use only {', '.join(sorted(known))}")
        if "kind" not in data:
            raise BackendSpecError("the backend spec has no `kind`", fix=f"set kind to one of {', '.join(KINDS)}")
        return cls(**dict(data))


def build(spec: BackendSpec | Mapping[str, Any]) -> Any:
    """Build the backend `spec` describes (the module docstring lists the kinds)."""
    spec = spec if isinstance(spec, BackendSpec) else BackendSpec.from_mapping(spec)
    builders = {"hf": _build_hf, "mlx": _build_mlx, "api": _build_api, "custom": _build_custom,
                "dummy": _build_dummy}
    builder = builders.get(spec.kind)
    if builder is None:
        raise BackendSpecError(f"unknown backend kind {spec.kind!r}", fix=f"use one of {', '.join(KINDS)}")
    return builder(spec)


def _build_hf(spec: BackendSpec) -> Any:
    from dlm_desktop.core.inference.hf_backend import HFDifferentialBackend

    adapters = _adapter_folders(spec.adapter)
    base_dir = _base_folder(spec.base)
    gate = _load_gate_from(spec.gate) if spec.gate is not None else None
    options = dict(spec.options)
    return HFDifferentialBackend.load(base_dir, adapters, gate=gate, dtype=options.get("dtype", "float32"),
                                      device=options.get("device", "cpu"))


def _adapter_folders(adapter: Any) -> dict[str, Path]:
    if adapter is None or adapter == {}:
        raise BackendSpecError("the hf backend needs an adapter to compare with its base",
                               fix="set `adapter` to a PEFT adapter folder (or {name: folder}); train first")
    if isinstance(adapter, Mapping):
        return {str(name): Path(folder) for name, folder in adapter.items()}
    return {"default": Path(adapter)}


def _base_folder(base: Any) -> Path:
    if base is None:
        raise BackendSpecError("the hf backend needs a `base`", fix="give a model folder or a registry key")
    if Path(str(base)).is_dir():
        return Path(str(base))
    from dlm_desktop.core.models.resolve import resolve_base

    job = resolve_base(str(base))
    while True:
        try:
            next(job)
        except StopIteration as finished:
            return finished.value.local_dir


def _load_gate_from(location: Path | str) -> Any:
    from dlm_desktop.core.store.paths import StorePaths
    from dlm_desktop.core.training.gate import load_gate

    folder = Path(location)
    root = folder.parent.parent if folder.name == "_gate" else folder
    return load_gate(StorePaths(root))


def _build_mlx(spec: BackendSpec) -> Any:
    from dlm_desktop.core.inference.mlx_backend import MlxDifferentialBackend
    from dlm_desktop.core.mlx.errors import MlxUnavailableError
    from dlm_desktop.core.mlx.loading import require_mlx

    if spec.adapter is None or spec.adapter == {}:
        raise BackendSpecError("the mlx backend needs an adapter to compare with its base",
                               fix="set `adapter` to a PEFT or mlx-lm adapter folder (or {name: folder}); train first")
    try:
        require_mlx()
    except MlxUnavailableError as exc:
        raise BackendUnavailableError(exc.message, fix=exc.fix) from exc
    adapters = _adapter_folders(spec.adapter)
    gate = _load_gate_from(spec.gate) if spec.gate is not None else None
    return MlxDifferentialBackend.load(_base_folder(spec.base), adapters, gate=gate)


def _build_api(spec: BackendSpec) -> Any:
    from dlm_desktop.core.inference.api_backend import ApiDifferentialBackend, Endpoint

    if not isinstance(spec.base, Mapping) or not spec.base.get("url") or not spec.base.get("model"):
        raise BackendSpecError("the api backend needs base = {'url': ..., 'model': ...}",
                               fix="give the server's /v1 URL and the base model's name")
    base = Endpoint(str(spec.base["url"]), str(spec.base["model"]))
    if isinstance(spec.adapter, Mapping) and spec.adapter.get("model"):
        tuned = Endpoint(str(spec.adapter.get("url") or base.url), str(spec.adapter["model"]))
    elif isinstance(spec.adapter, str) and spec.adapter:
        tuned = Endpoint(base.url, spec.adapter)
    else:
        raise BackendSpecError("the api backend needs the fine-tuned model's name as `adapter`",
                               fix="set adapter to the model name (or {'url', 'model'}) serving the fine-tune")
    options = dict(spec.options)
    return ApiDifferentialBackend(base, tuned, vocab_size=options.get("vocab_size"),
                                  timeout_s=float(options.get("timeout_s", 60.0)), api_key=options.get("api_key"))


def _build_custom(spec: BackendSpec) -> Any:
    from dlm_desktop.core.inference.custom_backend import load_custom_backend

    if not spec.entry_point:
        raise BackendSpecError("a custom backend needs `entry_point: 'pkg.module:Class'`",
                               fix="name the class that implements the scoring protocols")
    return load_custom_backend(spec.entry_point, spec.base, spec.adapter)


def _build_dummy(spec: BackendSpec) -> Any:
    raise BackendSpecError("the dummy backend is not built from a spec",
                           fix="construct dlm_desktop.core.inference.DummyBackend(...) directly (tests only)")
