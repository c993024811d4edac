"""Typed errors of the export engine: each says what failed and what the user can do about it."""

from __future__ import annotations

from dlm_desktop.core.errors import DlmDesktopError


class ExportError(DlmDesktopError):
    """Base class of every export failure."""


class UnsupportedModelError(ExportError):
    """The base model uses an architecture, tokenizer or rope scheme the GGUF writer does not handle."""


class AdapterFormatError(ExportError):
    """A PEFT adapter folder is missing files, or its tensors do not fit the base model."""


class AdapterSelectionError(ExportError):
    """The adapters to export cannot be determined (nothing trained yet, unknown name, bad mix)."""


class QuantizationError(ExportError):
    """llama.cpp refused to quantize a GGUF file."""


class ModelfileError(ExportError):
    """The Ollama Modelfile cannot be written as asked (bad model name, unrepresentable text)."""


class OllamaError(ExportError):
    """`ollama create` failed or timed out."""


class ExportCancelled(ExportError):
    """The user stopped the export; nothing was published."""


class ParityError(ExportError):
    """The parity check could not run (the exported files cannot be loaded by llama.cpp)."""
