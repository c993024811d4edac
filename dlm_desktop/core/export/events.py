"""The events an export yields while it runs (frozen, so the GUI may hand them across threads)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ShouldStop = Callable[[], bool]


def never_stop() -> bool:
    """The default `should_stop`: run to the end."""
    return False


@dataclass(frozen=True)
class ExportProgress:
    """Progress within a stage. `stage` is one of: resolve, adapters, mix, convert-base, quantize,
    convert-adapter, modelfile, parity, publish, ollama. `done`/`total` count the stage's units (tensors,
    files, prompts; 0/0 when unknown)."""

    stage: str
    message: str
    done: int = 0
    total: int = 0

    @property
    def fraction(self) -> float | None:
        """`done / total`, or None when the total is unknown."""
        return self.done / self.total if self.total else None


@dataclass(frozen=True)
class ExportLog:
    """One line of tool output (llama.cpp's quantizer, `ollama create`), for a details pane."""

    stage: str
    line: str


@dataclass(frozen=True)
class ExportNotice:
    """A sentence the user should read (e.g. the gate was frozen to its mean mix; Ollama is not installed)."""

    message: str


ExportEvent = ExportProgress | ExportLog | ExportNotice
