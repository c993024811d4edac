"""The bundled example documents and the user's own copy of them.

The example is copied into the user's documents folder on first use, so the user edits (and trains on, and
exports beside) their own copy and never the installed one. `DLM_DESKTOP_DOCUMENTS_DIR` overrides that folder
(tests do).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

from dlm_desktop.core.document.text import atomic_write_text

APP_NAME = "DLM Desktop"
DOCUMENTS_DIR_ENV = "DLM_DESKTOP_DOCUMENTS_DIR"
EXAMPLE_NAME = "getting-started.dlm"


def resource_file(*parts: str):
    """A Traversable inside the shipped `dlm_desktop.resources` package (works in the frozen app too)."""
    node = resources.files("dlm_desktop.resources")
    for part in parts:
        node = node.joinpath(part)
    return node


def documents_dir() -> Path:
    """`<Documents>/DLM Desktop`, where the example copy and new documents go by default."""
    override = os.environ.get(DOCUMENTS_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_documents_dir()) / APP_NAME


def example_text(name: str = EXAMPLE_NAME) -> str:
    return resource_file("examples", name).read_text(encoding="utf-8")


def ensure_example_copy(name: str = EXAMPLE_NAME) -> Path:
    """The user's copy of a bundled example, made on first use. Raises OSError when it cannot be written."""
    target = documents_dir() / name
    if not target.exists():
        atomic_write_text(target, example_text(name))
    return target
