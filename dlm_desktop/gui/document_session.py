"""The open document's file: its path, what is on disk, atomic saves, and changes made by other programs.

The editor text is the source of truth (SPEC A2.2). The session remembers the text last read from or written
to disk; when the file watcher fires it re-reads the file and compares *content*, so our own atomic saves
(which replace the file and fire the watcher) never look like someone else's change. An external change to
an unmodified buffer is applied silently (as one undoable edit); with unsaved edits the window is told and
asks the user.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, Signal, Slot
from PySide6.QtGui import QTextCursor

from dlm_desktop.core.document.editing import save_document_text
from dlm_desktop.core.document.text import normalize_newlines
from dlm_desktop.gui.file_checks import LoadedDocument, OpenProblemError, read_document_for_editor
from dlm_desktop.gui.panes.editor import DocumentEditor
from dlm_desktop.gui.user_files import UNTITLED_NAME


class DocumentSession(QObject):
    """Signals: `document_loaded(path | None)` (open/new), `document_saved(path)`, `document_reloaded(path)`
    (an external change applied), `external_change_detected(path)` (needs a decision), `file_missing(path)`."""

    document_loaded = Signal(object)
    document_saved = Signal(Path)
    document_reloaded = Signal(Path)
    external_change_detected = Signal(Path)
    file_missing = Signal(Path)

    def __init__(self, editor: DocumentEditor, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._editor = editor
        self.path: Path | None = None
        self.is_open = False
        self._disk_text: str | None = None
        self._pending_disk_text: str | None = None
        self._missing_reported = False
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._on_watcher_file_changed)
        self._watcher.directoryChanged.connect(self._on_watcher_directory_changed)

    # ----- state ---------------------------------------------------------------------------------------------------

    def display_name(self) -> str:
        return self.path.name if self.path is not None else UNTITLED_NAME

    def is_modified(self) -> bool:
        return self.is_open and self._editor.document().isModified()

    def text(self) -> str:
        return self._editor.toPlainText()

    def mark_modified(self) -> None:
        """The buffer no longer matches any file (e.g. the file was deleted): saving is needed."""
        self._editor.document().setModified(True)

    # ----- opening --------------------------------------------------------------------------------------------------

    def adopt(self, loaded: LoadedDocument) -> None:
        """Show a freshly read document (the undo history starts over)."""
        self._set_path(loaded.path)
        self._disk_text = loaded.text
        self._pending_disk_text = None
        self._editor.load_text(loaded.text)
        self._editor.document().setModified(False)
        self.is_open = True
        self.document_loaded.emit(loaded.path)

    def start_untitled(self, text: str) -> None:
        """A new document that exists only in the editor until it is saved."""
        self._set_path(None)
        self._disk_text = None
        self._editor.load_text(text)
        self._editor.document().setModified(True)
        self.is_open = True
        self.document_loaded.emit(None)

    # ----- saving ---------------------------------------------------------------------------------------------------

    def save(self) -> Path:
        """Write the editor text to the document's file atomically. Raises `DocumentError`; the buffer stays."""
        if self.path is None:
            raise ValueError("an untitled document needs save_as()")
        return self.save_as(self.path)

    def save_as(self, path: Path) -> Path:
        """Write the editor text to `path` atomically and make it the document's file."""
        text = self._editor.toPlainText()
        save_document_text(path, text)
        if path != self.path:
            self._set_path(path)
        self._disk_text = normalize_newlines(text)
        self._pending_disk_text = None
        self._editor.document().setModified(False)
        self._watch(refresh=True)
        self.document_saved.emit(path)
        return path

    # ----- changes on disk ------------------------------------------------------------------------------------------

    def reload_from_disk(self) -> None:
        """Replace the buffer with the file's text, as one edit the user can undo."""
        if self.path is None:
            return
        loaded = read_document_for_editor(self.path)
        self._replace_text(loaded.text)
        self._disk_text = loaded.text
        self._pending_disk_text = None
        self._editor.document().setModified(False)
        self.document_reloaded.emit(self.path)

    def keep_buffer(self) -> None:
        """The user keeps their version: the disk version is known now, so it is not announced again."""
        if self._pending_disk_text is not None:
            self._disk_text = self._pending_disk_text
            self._pending_disk_text = None

    def check_disk(self) -> None:
        """Compare the file with what we know of it and react (the watcher calls this; so may anyone)."""
        if self.path is None:
            return
        self._watch()
        if not self.path.exists():
            if not self._missing_reported:
                self._missing_reported = True
                self.file_missing.emit(self.path)
            return
        self._missing_reported = False
        try:
            disk_text = read_document_for_editor(self.path).text
        except OpenProblemError:
            return  # half-written or replaced by something unreadable; the next change event re-checks
        if disk_text in (self._disk_text, self._pending_disk_text):
            return
        if not self._editor.document().isModified():
            self._pending_disk_text = disk_text
            self.reload_from_disk()
            return
        self._pending_disk_text = disk_text
        self.external_change_detected.emit(self.path)

    @Slot(str)
    def _on_watcher_file_changed(self, _path: str) -> None:
        self.check_disk()

    @Slot(str)
    def _on_watcher_directory_changed(self, _path: str) -> None:
        if self.path is not None and str(self.path) not in self._watcher.files():
            self.check_disk()  # the file came back (editors that save by rename) or is gone

    # ----- helpers --------------------------------------------------------------------------------------------------

    def _set_path(self, path: Path | None) -> None:
        watched = self._watcher.files() + self._watcher.directories()
        if watched:
            self._watcher.removePaths(watched)
        self.path = path
        self._missing_reported = False
        self._watch()

    def _watch(self, *, refresh: bool = False) -> None:
        """Watch the file and its folder; an atomic replace drops the file's watch, so add it back."""
        if self.path is None:
            return
        file_name, folder = str(self.path), str(self.path.parent)
        if refresh and file_name in self._watcher.files():
            self._watcher.removePath(file_name)
        if self.path.exists() and file_name not in self._watcher.files():
            self._watcher.addPath(file_name)
        if self.path.parent.is_dir() and folder not in self._watcher.directories():
            self._watcher.addPath(folder)

    def _replace_text(self, text: str) -> None:
        """Swap the whole text in one undoable step, keeping the cursor on the same line and column."""
        old = self._editor.textCursor()
        line, column = old.blockNumber(), old.positionInBlock()
        scroll = self._editor.verticalScrollBar().value()
        cursor = QTextCursor(self._editor.document())
        cursor.beginEditBlock()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text)
        cursor.endEditBlock()
        block = self._editor.document().findBlockByNumber(min(line, self._editor.blockCount() - 1))
        restored = QTextCursor(block)
        restored.setPosition(block.position() + min(column, max(0, block.length() - 1)))
        self._editor.setTextCursor(restored)
        self._editor.verticalScrollBar().setValue(scroll)
