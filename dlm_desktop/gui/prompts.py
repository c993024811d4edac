"""The questions the window asks the user (modal dialogs), behind one small object so tests can answer them.

Only real questions are modal: "save your changes?" and the file pickers. Everything else (a bad file, a
failed save, a file changed on disk) goes to the window's message banner.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"
_DOCUMENT_FILTER = "DLM documents (*.dlm);;All files (*)"


class Prompts:
    """Asks with standard Qt dialogs parented to `parent`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent

    def ask_unsaved_changes(self, document_name: str) -> str:
        """SAVE, DISCARD or CANCEL."""
        box = QMessageBox(self.parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unsaved changes")
        box.setText(f"Save the changes to “{document_name}”?")
        box.setInformativeText("If you don't save, your changes since the last save are lost.")
        box.setStandardButtons(
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return SAVE
        if answer == QMessageBox.StandardButton.Discard:
            return DISCARD
        return CANCEL

    def ask_open_path(self, start: Path) -> Path | None:
        name, _ = QFileDialog.getOpenFileName(self.parent, "Open a document", str(start), _DOCUMENT_FILTER)
        return Path(name) if name else None

    def ask_folder_path(self, start: Path) -> Path | None:
        name = QFileDialog.getExistingDirectory(self.parent, "Make a document for a folder", str(start))
        return Path(name) if name else None

    def ask_save_path(self, suggested: Path) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(self.parent, "Save the document as", str(suggested), _DOCUMENT_FILTER)
        if not name:
            return None
        path = Path(name)
        return path if path.suffix.lower() == ".dlm" else path.with_name(path.name + ".dlm")
