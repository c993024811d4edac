"""Export (A1 row 5): GGUF base and LoRA adapter (or merged), the exact frozen mix of several adapters,
quantization through llama.cpp, the Ollama Modelfile and `ollama create`, `export_manifest.json`, atomic
publication, and a parity check of the exported model against the in-app one.

`run_export(ExportRequest(...))` is the one call the CLI and the GUI make. Importing this package is cheap:
torch, transformers, peft, gguf and llama_cpp load inside the functions that need them.
"""

from __future__ import annotations

from dlm_desktop.core.export.errors import (
    AdapterFormatError,
    AdapterSelectionError,
    ExportCancelled,
    ExportError,
    ModelfileError,
    OllamaError,
    ParityError,
    QuantizationError,
    UnsupportedModelError,
)
from dlm_desktop.core.export.events import ExportEvent, ExportLog, ExportNotice, ExportProgress
from dlm_desktop.core.export.gguf_base import write_base_gguf
from dlm_desktop.core.export.gguf_lora import write_adapter_gguf
from dlm_desktop.core.export.lora_weights import LoraModule, LoraWeights, read_peft_adapter, write_peft_adapter
from dlm_desktop.core.export.mix import WeightedAdapter, exact_mix
from dlm_desktop.core.export.modelfile import default_ollama_name, render_modelfile, validate_ollama_name
from dlm_desktop.core.export.ollama import OllamaLocation, OllamaOutcome, find_ollama
from dlm_desktop.core.export.parity import document_prompts, parity_check, record_parity
from dlm_desktop.core.export.quantize import quantize_gguf
from dlm_desktop.core.export.request import EXPORT_QUANTS, ExportRequest, ExportResult
from dlm_desktop.core.export.run import default_out_dir, run_export
from dlm_desktop.core.export.selection import AdapterSelection, SelectedAdapter, resolve_export_adapters

__all__ = [
    "EXPORT_QUANTS",
    "AdapterFormatError",
    "AdapterSelection",
    "AdapterSelectionError",
    "ExportCancelled",
    "ExportError",
    "ExportEvent",
    "ExportLog",
    "ExportNotice",
    "ExportProgress",
    "ExportRequest",
    "ExportResult",
    "LoraModule",
    "LoraWeights",
    "ModelfileError",
    "OllamaError",
    "OllamaLocation",
    "OllamaOutcome",
    "ParityError",
    "QuantizationError",
    "SelectedAdapter",
    "UnsupportedModelError",
    "WeightedAdapter",
    "default_ollama_name",
    "default_out_dir",
    "document_prompts",
    "exact_mix",
    "find_ollama",
    "parity_check",
    "quantize_gguf",
    "read_peft_adapter",
    "record_parity",
    "render_modelfile",
    "resolve_export_adapters",
    "run_export",
    "validate_ollama_name",
    "write_adapter_gguf",
    "write_base_gguf",
    "write_peft_adapter",
]
