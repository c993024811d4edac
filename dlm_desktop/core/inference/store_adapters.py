"""Which trained adapters (and gate) a document has in its store, and how chat should route between them.

* A document without `training.adapters` has one adapter behind the flat pointer `adapter/current.txt`
  (named `default` here); `--adapter NAME` is refused for it, as upstream refuses it.
* A document with `training.adapters` has `adapter/<name>/current.txt` per declared adapter. All of them are
  loaded onto the one base; the fine-tuned side is routed by the gate (`adapter/_gate/`) when it exists and
  the request says `gate="auto"`, uniformly (1/N) otherwise, or to the one adapter the request names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dlm_desktop.core.inference.errors import AdapterLoadError, ChatRequestError
from dlm_desktop.core.inference.routing import Routing
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.store.versions import resolve_current

FLAT_ADAPTER_NAME = "default"
GateChoice = Literal["auto", "off"]
_TRAIN_FIX = "train the document first (`dlm-desktop train DOC`)"


@dataclass(frozen=True)
class DocumentAdapters:
    """The adapter folders to load (declared order), the gate (a `LoadedGate` or None), the routing rule of
    the fine-tuned side, and sentences worth showing the user."""

    adapters: dict[str, Path]
    gate: Any
    routing: Routing
    notices: tuple[str, ...] = ()

    @property
    def gate_mode(self) -> str:
        """`trained`, `uniform` (a gate file in uniform mode, or 1/N by choice) or `none` (one adapter)."""
        if len(self.adapters) < 2 or self.routing.mode == "adapter":
            return "none"
        if self.routing.mode == "gate" and self.gate is not None:
            return str(self.gate.mode)
        return "uniform"


def find_document_adapters(store: StorePaths, declared: list[str], *, adapter: str | None = None,
                           gate: GateChoice = "auto", gate_enabled: bool = False) -> DocumentAdapters:
    """The adapters of the store for a document declaring `declared` (empty: the flat layout)."""
    if gate not in ("auto", "off"):
        raise ChatRequestError(f"gate must be 'auto' or 'off', not {gate!r}", fix="pass gate='auto' or gate='off'")
    if not declared:
        if adapter is not None:
            raise ChatRequestError(f"the document declares no adapters, so --adapter {adapter} cannot apply",
                                   fix="leave out --adapter, or declare training.adapters in the frontmatter")
        folder = _current(store, None)
        return DocumentAdapters({FLAT_ADAPTER_NAME: folder}, None, Routing.adapter(FLAT_ADAPTER_NAME))
    if adapter is not None and adapter not in declared:
        raise ChatRequestError(f"adapter {adapter!r} is not declared (declared: {', '.join(declared)})",
                               fix="pick one of the adapters listed under training.adapters")
    folders = {name: _current(store, name) for name in declared}
    if adapter is not None:
        return DocumentAdapters(folders, None, Routing.adapter(adapter))
    if gate == "off" or len(folders) < 2:
        return DocumentAdapters(folders, None, Routing.uniform())
    return _with_gate(store, folders, gate_enabled)


def _current(store: StorePaths, name: str | None) -> Path:
    folder = resolve_current(store, name)
    if folder is None:
        label = "the document" if name is None else f"adapter {name!r}"
        raise AdapterLoadError(f"{label} has no trained adapter yet", path=store.current_pointer(name),
                               fix=_TRAIN_FIX)
    return folder


def _with_gate(store: StorePaths, folders: dict[str, Path], gate_enabled: bool) -> DocumentAdapters:
    if not store.gate_config.is_file():
        notice = ("The gate is enabled but has not been trained yet: adapters are mixed uniformly."
                  if gate_enabled else "")
        return DocumentAdapters(folders, None, Routing.uniform(), (notice,) if notice else ())
    from dlm_desktop.core.training.gate import load_gate

    loaded = load_gate(store)
    if set(loaded.adapter_names) != set(folders):
        raise AdapterLoadError(
            f"the gate routes {list(loaded.adapter_names)}, but the document declares {list(folders)}",
            path=store.gate_config, fix=_TRAIN_FIX.replace("first", "again"),
        )
    return DocumentAdapters(folders, loaded, Routing.gate())
