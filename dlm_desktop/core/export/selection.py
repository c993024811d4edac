"""Which trained adapters an export carries, and with which weights (the seam to the store and the gate).

* `--adapter NAME`: that adapter alone (`single`).
* `--mix {name: weight}`: those adapters with those weights (`manual`).
* neither, one adapter (flat `adapter/current.txt`, or one declared adapter): `single`.
* neither, several declared adapters: the learned gate cannot run inside llama.cpp or Ollama, so it is
  frozen to its static mean mix (`static_mean`, from the gate's recorded mean weights), or `uniform` (1/N)
  when the gate is untrained, disabled or has no recorded weights. The substitution is announced.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dlm_desktop.core.export.errors import AdapterSelectionError
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.store.versions import parse_version_name, resolve_current

FLAT_NAME = "default"
GateWeights = Callable[[], tuple[str, dict[str, float]]]
_TRAIN_FIX = "train the document first (Train), then export"


@dataclass(frozen=True)
class SelectedAdapter:
    """One adapter of the export: its name (`default` for a single unnamed adapter), its current version
    folder and number, and its mix weight."""

    name: str
    folder: Path | None
    version: int
    weight: float


@dataclass(frozen=True)
class AdapterSelection:
    """The adapters to export, how their weights were chosen (`gate_mode`), and a sentence to show."""

    gate_mode: str
    adapters: tuple[SelectedAdapter, ...]
    notice: str = ""

    @property
    def mix(self) -> list[tuple[str, float]]:
        """`[(name, weight), ...]` in declared order, as recorded in the manifest."""
        return [(adapter.name, adapter.weight) for adapter in self.adapters]

    @property
    def versions(self) -> dict[str, int]:
        return {adapter.name: adapter.version for adapter in self.adapters if adapter.folder is not None}

    @property
    def active(self) -> tuple[SelectedAdapter, ...]:
        """The adapters that contribute (weight ≠ 0)."""
        return tuple(adapter for adapter in self.adapters if adapter.weight != 0.0)


def resolve_export_adapters(
    declared: list[str],
    store_paths: StorePaths,
    *,
    mix: Mapping[str, float] | None = None,
    adapter: str | None = None,
    gate_enabled: bool = False,
    gate_weights: GateWeights | None = None,
) -> AdapterSelection:
    """Pick the adapters and weights of an export. `declared` is the document's `training.adapters` names
    in order (empty for a single-adapter document); `gate_weights()` returns `(mode, {name: weight})`
    (default: the store's gate through `static_mean_weights`). Raises `AdapterSelectionError`."""
    if mix is not None and adapter is not None:
        raise AdapterSelectionError("choose either one adapter or a mix, not both", fix="drop --adapter or --mix")
    if adapter is not None:
        _require_declared(declared, [adapter], "--adapter")
        return AdapterSelection("single", (_selected(store_paths, adapter, 1.0),))
    if mix is not None:
        return _manual(declared, store_paths, mix)
    if not declared:
        return AdapterSelection("single", (_selected(store_paths, None, 1.0),))
    if len(declared) == 1:
        return AdapterSelection("single", (_selected(store_paths, declared[0], 1.0),))
    return _frozen_gate(declared, store_paths, gate_enabled, gate_weights)


def _manual(declared: list[str], store_paths: StorePaths, mix: Mapping[str, float]) -> AdapterSelection:
    if not mix:
        raise AdapterSelectionError("the mix names no adapter", fix="give at least one name:weight pair")
    _require_declared(declared, list(mix), "--mix")
    for name, weight in mix.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight) or weight < 0:
            raise AdapterSelectionError(f"the weight of {name!r} must be a number ≥ 0, not {weight!r}",
                                        fix="use weights such as 0.7 and 0.3")
    if all(weight == 0 for weight in mix.values()):
        raise AdapterSelectionError("every weight of the mix is 0", fix="give at least one adapter a weight above 0")
    chosen = tuple(_selected(store_paths, name, float(weight)) for name, weight in mix.items())
    return AdapterSelection("manual", chosen)


def _frozen_gate(declared, store_paths, gate_enabled, gate_weights) -> AdapterSelection:
    mode, weights = "uniform", {name: 1.0 / len(declared) for name in declared}
    if gate_enabled and store_paths.gate_config.is_file():
        mode, found = (gate_weights or _store_gate_weights(store_paths))()
        weights = {name: float(found.get(name, 0.0)) for name in declared}
    chosen = tuple(_selected(store_paths, name, weights[name], optional=weights[name] == 0.0) for name in declared)
    listed = ", ".join(f"{name} {weight:.3f}" for name, weight in weights.items())
    source = "the gate's mean weights over its training prompts" if mode == "static_mean" else "equal weights"
    notice = (f"gate_mode={mode}: Ollama and llama.cpp cannot run the learned gate, so the adapters are "
              f"frozen into one mix using {source} ({listed}).")
    return AdapterSelection("static_mean" if mode == "static_mean" else "uniform", chosen, notice)


def _store_gate_weights(store_paths: StorePaths) -> GateWeights:
    def read() -> tuple[str, dict[str, float]]:
        from dlm_desktop.core.store.metrics import MetricsDB
        from dlm_desktop.core.training.gate.persist import static_mean_weights

        return static_mean_weights(store_paths, MetricsDB.for_store(store_paths))

    return read


def _require_declared(declared: list[str], names: list[str], option: str) -> None:
    if not declared:
        raise AdapterSelectionError(f"{option} needs named adapters, and this document declares none",
                                    fix="declare `training.adapters` in the frontmatter, or export without it")
    unknown = [name for name in names if name not in declared]
    if unknown:
        raise AdapterSelectionError(f"{unknown[0]!r} is not one of the document's adapters ({', '.join(declared)})",
                                    fix="use a name declared under `training.adapters`")


def _selected(store_paths: StorePaths, name: str | None, weight: float, *, optional: bool = False) -> SelectedAdapter:
    folder = resolve_current(store_paths, name)
    label = name or FLAT_NAME
    if folder is None:
        if optional:
            return SelectedAdapter(label, None, 0, weight)
        what = f"adapter {name!r}" if name else "this document"
        raise AdapterSelectionError(f"{what} has no trained version yet", fix=_TRAIN_FIX,
                                    path=store_paths.current_pointer(name))
    return SelectedAdapter(label, folder, parse_version_name(folder.name) or 1, weight)
