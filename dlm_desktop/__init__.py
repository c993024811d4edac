"""DLM Desktop: fine-tune a small local language model on a `.dlm` document."""

__version__ = "0.1.0"
