"""Where the app keeps the user's own files: the example copy and the scratch folder of untitled documents.

The bundled example is copied into the user's documents folder on first run, so the user edits (and trains on)
their own copy and never the installed one. `DLM_DESKTOP_DOCUMENTS_DIR` overrides that folder (tests).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

from dlm_desktop.core.document.text import atomic_write_text
from dlm_desktop.gui.settings import APP_NAME, config_dir

DOCUMENTS_DIR_ENV = "DLM_DESKTOP_DOCUMENTS_DIR"
EXAMPLE_NAME = "getting-started.dlm"
UNTITLED_NAME = "Untitled.dlm"


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


def example_text() -> str:
    return resource_file("examples", EXAMPLE_NAME).read_text(encoding="utf-8")


def ensure_example_copy() -> Path:
    """The user's copy of the bundled example, made on first use. Raises OSError when it cannot be written."""
    target = documents_dir() / EXAMPLE_NAME
    if not target.exists():
        atomic_write_text(target, example_text())
    return target


def untitled_document_path() -> Path:
    """Where an unsaved new document is checked *as if* it lived: an empty folder of the app's own.

    The engine resolves `training.sources` and `.dlm/training.yaml` next to the document; an untitled one must
    not pick up whatever happens to sit in the current working directory.
    """
    folder = config_dir() / "untitled"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # the check still runs; it just cannot find anything there
    return folder / UNTITLED_NAME
