"""From a `.dlm` path to a loaded `hf` (torch) or `mlx` backend, reused between requests.

`InferenceSession` keeps the last loaded backend and hands it out again while the base, the adapter
versions and the gate file are unchanged, so a chat pane pays the model load once. `prompt_document` and
`probe_document` create a throwaway session when they are not given one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from dlm_desktop.core.document.parse import parse_file
from dlm_desktop.core.errors import DlmDesktopError
from dlm_desktop.core.inference.hf_backend import HFDifferentialBackend
from dlm_desktop.core.inference.store_adapters import DocumentAdapters, GateChoice, find_document_adapters
from dlm_desktop.core.models.events import ModelProgress
from dlm_desktop.core.store.paths import StorePaths


@dataclass(frozen=True)
class InferenceStatus:
    """A step of getting ready (`stage`: `adapters`, `load`, `ready`), with a sentence for the user."""

    stage: str
    message: str


@dataclass(frozen=True)
class InferenceNotice:
    """A sentence worth showing (a fallback taken, e.g. the gate not trained yet)."""

    message: str


LoadEvent = Union[ModelProgress, InferenceStatus, InferenceNotice]


@dataclass(frozen=True)
class OpenedDocument:
    """A parsed document with its store and the adapters to load."""

    parsed: Any
    store: StorePaths
    adapters: DocumentAdapters

    @property
    def frontmatter(self) -> Any:
        return self.parsed.frontmatter


def open_document(path: Path | str, *, home: Path | None = None, adapter: str | None = None,
                  gate: GateChoice = "auto") -> OpenedDocument:
    """Parse the document and find its trained adapters (raises `DocumentError`, `AdapterLoadError`,
    `ChatRequestError` or store errors)."""
    parsed = parse_file(Path(path))
    front = parsed.frontmatter
    store = StorePaths.for_dlm(front.dlm_id, home=home)
    found = find_document_adapters(store, front.training.adapter_names(), adapter=adapter, gate=gate,
                                   gate_enabled=front.training.gate.enabled)
    return OpenedDocument(parsed, store, found)


class InferenceSession:
    """Holds one loaded backend between requests; `close()` frees it."""

    def __init__(self, *, dtype: str = "float32", device: str = "cpu", runtime: str | None = None) -> None:
        self.dtype = dtype
        self.device = device
        self.runtime = runtime  # "torch" or "mlx"; None: the runtime picked for this machine (first load)
        self._key: tuple | None = None
        self._backend: HFDifferentialBackend | None = None
        self.last_load_s = 0.0

    @property
    def loaded(self) -> HFDifferentialBackend | None:
        """The backend currently kept loaded, if any."""
        return self._backend

    def backend_for(self, opened: OpenedDocument, *, offline: bool | None = None,
                    should_stop: Callable[[], bool] = lambda: False,
                    ) -> Generator[LoadEvent, None, HFDifferentialBackend]:
        """The backend for `opened` (loading the base and adapters unless the cached one matches); its
        routing is set to the document's routing for this request."""
        from dlm_desktop.core.models.resolve import resolve_base

        for notice in opened.adapters.notices:
            yield InferenceNotice(notice)
        resolved = yield from resolve_base(opened.frontmatter.base_model, offline=offline, should_stop=should_stop)
        if self.runtime is None:
            from dlm_desktop.core.inference.runtime_choice import chat_runtime

            self.runtime = chat_runtime()
        key = _cache_key(resolved.local_dir, opened, self.dtype, f"{self.runtime}:{self.device}")
        started = time.monotonic()
        if key != self._key or self._backend is None:
            self.close()
            yield InferenceStatus("load", "Loading the model and its adapters…")
            gate = _loaded_gate(opened)
            self._backend = self._load(resolved.local_dir, opened.adapters.adapters, gate)
            self._key = key
        self.last_load_s = time.monotonic() - started
        self._backend.routing = opened.adapters.routing
        yield InferenceStatus("ready", "Model ready.")
        return self._backend

    def _load(self, base_dir: Path, adapters: dict[str, Path], gate: Any) -> Any:
        if self.runtime == "mlx":
            from dlm_desktop.core.inference.mlx_backend import MlxDifferentialBackend

            return MlxDifferentialBackend.load(base_dir, adapters, gate=gate)
        return HFDifferentialBackend.load(base_dir, adapters, gate=gate, dtype=self.dtype, device=self.device)

    def close(self) -> None:
        """Forget the loaded backend."""
        if self._backend is not None:
            self._backend.close()
        self._backend = None
        self._key = None


def _loaded_gate(opened: OpenedDocument) -> Any:
    """The store's gate whenever it exists (even if this request routes without it), so the cached backend
    serves later requests that do use it."""
    if opened.adapters.gate is not None:
        return opened.adapters.gate
    if len(opened.adapters.adapters) > 1 and opened.store.gate_config.is_file():
        from dlm_desktop.core.training.gate import load_gate

        try:
            return load_gate(opened.store)
        except DlmDesktopError:  # this request does not use the gate: a broken gate file must not block it
            return None
    return None


def _cache_key(base_dir: Path, opened: OpenedDocument, dtype: str, device: str) -> tuple:
    gate_file = opened.store.gate_config
    gate_stamp = gate_file.stat().st_mtime_ns if gate_file.is_file() else None
    adapters = tuple((name, str(folder.resolve())) for name, folder in opened.adapters.adapters.items())
    return (str(Path(base_dir).resolve()), adapters, gate_stamp, dtype, device)
