"""The inputs and the outcome of `run_export`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlm_desktop.core.export.ollama import OllamaOutcome
from dlm_desktop.core.export.selection import AdapterSelection

EXPORT_QUANTS = ("F16", "Q8_0", "Q4_K_M", "Q5_K_M", "Q6_K")


@dataclass(frozen=True)
class ExportRequest:
    """What to export and where.

    * `quant`: one of F16, Q8_0, Q4_K_M, Q5_K_M, Q6_K; None takes the document's `export.default_quant`.
    * `merged`: fold the (mixed) adapter into the base weights; no `adapter.gguf`, no ADAPTER line.
    * `mix`: `{adapter name: weight}` (manual mix); `adapter`: export that one named adapter. At most one.
    * `name`: the Ollama model name (default `dlm-<dlm_id>:vNNNN`); `out_dir`: default
      `<document folder>/<document name>-export/`.
    * `ollama`: run `ollama create` when Ollama is installed; `parity`: compare the exported model in
      llama.cpp with the torch model carrying the same mix before publishing (records `parity`).
    * `home`: the DLM home of the store (default `$DLM_HOME`); `offline`: as for `resolve_base`.
    """

    document_path: Path
    quant: str | None = None
    merged: bool = False
    mix: dict[str, float] | None = None
    adapter: str | None = None
    name: str | None = None
    out_dir: Path | None = None
    ollama: bool = True
    parity: bool = False
    home: Path | None = None
    offline: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "document_path", Path(self.document_path))
        if self.out_dir is not None:
            object.__setattr__(self, "out_dir", Path(self.out_dir))
        if self.quant is not None and self.quant not in EXPORT_QUANTS:
            raise ValueError(f"quant must be one of {', '.join(EXPORT_QUANTS)}, not {self.quant!r}")


@dataclass(frozen=True)
class ExportResult:
    """A published export. Paths point into `out_dir`; `adapter_gguf` is None for a merged export.

    `selection` says which adapters and weights went in (and `gate_mode`); `ollama` what happened with
    Ollama (None when not asked); `parity` the parity report as recorded in the manifest (None when not
    run); `base_cached` whether the base conversion came from the cache; `seconds` the time per stage.
    """

    out_dir: Path
    quant: str
    merged: bool
    base_gguf: Path
    adapter_gguf: Path | None
    modelfile: Path
    manifest: Path
    ollama_name: str
    dialect: str
    selection: AdapterSelection
    base_model_dir: Path
    base_cached: bool
    ollama: OllamaOutcome | None = None
    parity: dict[str, Any] | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    notices: tuple[str, ...] = ()
