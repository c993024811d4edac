"""Where the app keeps the user's own files: the example copy and the scratch folder of untitled documents.

The bundled example is copied into the user's documents folder on first run, so the user edits (and trains on)
their own copy and never the installed one. `DLM_DESKTOP_DOCUMENTS_DIR` overrides that folder (tests).
"""

from __future__ import annotations

from pathlib import Path

from dlm_desktop.core.examples import (  # noqa: F401 - re-exported for the GUI modules
    DOCUMENTS_DIR_ENV,
    EXAMPLE_NAME,
    documents_dir,
    ensure_example_copy,
    example_text,
    resource_file,
)
from dlm_desktop.gui.settings import config_dir

UNTITLED_NAME = "Untitled.dlm"


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
