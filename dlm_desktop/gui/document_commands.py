"""File commands of the window: open (files, folders, drops, recent), new, save, save as, and the reload
question. Problems go to the message banner; the app never loses the user's text to a failed command."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from PySide6.QtCore import QObject, QUrl, Signal

from dlm_desktop.core.document.editing import new_document_text
from dlm_desktop.core.document.errors import DocumentError
from dlm_desktop.gui.document_session import DocumentSession
from dlm_desktop.gui.file_checks import OpenProblem, OpenProblemError, read_document_for_editor, resolve_document_path
from dlm_desktop.gui.prompts import CANCEL, SAVE, Prompts
from dlm_desktop.gui.settings import AppSettings
from dlm_desktop.gui.user_files import documents_dir, ensure_example_copy
from dlm_desktop.gui.widgets.message_banner import ERROR, INFO, WARNING, MessageBanner


class DocumentCommands(QObject):
    """`recent_documents_changed` after the recent list changed (the menu rebuilds itself)."""

    recent_documents_changed = Signal()

    def __init__(
        self,
        session: DocumentSession,
        banner: MessageBanner,
        prompts: Prompts,
        settings: AppSettings,
        save_settings: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.banner = banner
        self.prompts = prompts
        self.settings = settings
        self._save_settings = save_settings
        self._banner_topic = ""  # what the banner is about, so a successful save can clear what it resolved
        banner.dismissed.connect(self._on_banner_dismissed)
        session.external_change_detected.connect(self._on_session_external_change_detected)
        session.file_missing.connect(self._on_session_file_missing)

    # ----- opening ----------------------------------------------------------------------------------------------------

    def open_path(self, path: Path | str) -> bool:
        """Open a `.dlm` file, or scaffold and open a folder's document. False (and a message) when it cannot."""
        path = Path(path)
        try:
            target = resolve_document_path(path)
            loaded = read_document_for_editor(target)
        except OpenProblemError as exc:
            self.show_problem(exc.problem, title="Can't open this")
            return False
        if not self.confirm_discard_changes():
            return False
        self.session.adopt(loaded)
        self._remember(loaded.path)
        self._announce_opened(path, loaded.path, loaded.notes)
        return True

    def open_urls(self, urls: Iterable[QUrl]) -> bool:
        """Open what was dropped: the first local file or folder (one document at a time)."""
        urls = list(urls)
        local = [Path(url.toLocalFile()) for url in urls if url.isLocalFile() and url.toLocalFile()]
        if not local:
            self.show_problem(OpenProblem(
                "can only open files and folders on this computer.",
                "Save the file to your computer first, then drop it here.",
            ), title="Can't open this")
            return False
        opened = self.open_path(local[0])
        if opened and len(urls) > 1:
            self._show(
                "open", INFO, f"Opened “{self.session.display_name()}”",
                f"DLM Desktop works on one document at a time; the other {len(urls) - 1} dropped item(s) were left alone.",
            )
        return opened

    def open_with_dialog(self) -> bool:
        start = self.session.path.parent if self.session.path is not None else documents_dir()
        path = self.prompts.ask_open_path(start)
        return self.open_path(path) if path is not None else False

    def open_folder_with_dialog(self) -> bool:
        path = self.prompts.ask_folder_path(documents_dir())
        return self.open_path(path) if path is not None else False

    def open_example(self) -> bool:
        try:
            path = ensure_example_copy()
        except OSError as exc:
            self.show_problem(OpenProblem(
                f"could not be copied to your documents folder ({exc.strerror or exc}).",
                "Check that your Documents folder exists and is writable.",
            ), title="The example document")
            return False
        return self.open_path(path)

    def open_recent(self, path: Path) -> bool:
        if not path.exists():
            self.settings.forget_document(path)
            self._settings_changed()
        return self.open_path(path)

    def new_document(self) -> bool:
        if not self.confirm_discard_changes():
            return False
        self.session.start_untitled(new_document_text())
        self.banner.dismiss()
        return True

    # ----- saving -----------------------------------------------------------------------------------------------------

    def save(self) -> bool:
        if self.session.path is None:
            return self.save_as()
        return self._save_to(self.session.path)

    def save_as(self, path: Path | None = None) -> bool:
        if path is None:
            suggested = self.session.path or (documents_dir() / self.session.display_name())
            path = self.prompts.ask_save_path(suggested)
            if path is None:
                return False
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.session.save_as(path)
        except DocumentError as exc:
            self._show(
                "save", ERROR, f"Could not save “{path.name}”",
                f"{exc.message}. {_sentence(exc.fix)} Your text is still here.",
                actions=[("Save as…", self.save_as)], details=exc.one_line(),
            )
            return False
        self._remember(path)
        if self._banner_topic in ("save", "disk"):
            self.banner.dismiss()
        return True

    def confirm_discard_changes(self) -> bool:
        """True when the current text may be replaced: unmodified, saved now, or the user said so."""
        if not self.session.is_modified():
            return True
        answer = self.prompts.ask_unsaved_changes(self.session.display_name())
        if answer == CANCEL:
            return False
        if answer == SAVE:
            return self.save()
        return True

    # ----- messages ---------------------------------------------------------------------------------------------------

    def show_problem(self, problem: OpenProblem, *, title: str) -> None:
        self._show("open", ERROR, title, f"{problem.text()} {problem.fix}", details=str(problem.path or ""))

    def _show(self, topic: str, severity: str, title: str, body: str, **kwargs) -> None:
        self.banner.show_message(severity, title, body, **kwargs)
        self._banner_topic = topic

    def _on_banner_dismissed(self) -> None:
        self._banner_topic = ""

    def _announce_opened(self, requested: Path, opened: Path, notes: tuple[str, ...]) -> None:
        if requested.is_dir():
            self._show(
                "open", INFO, f"Made a document for the folder “{requested.name}”",
                f"It is saved as {opened} and trains on the text files of the folder.",
            )
        elif notes:
            self._show("open", INFO, f"Opened “{opened.name}”", "Note: " + "; ".join(notes) + ".")
        else:
            self.banner.dismiss()

    def _on_session_external_change_detected(self, path: Path) -> None:
        self._show(
            "disk", WARNING, f"“{path.name}” was changed by another program",
            "You have unsaved changes here. Reload to see the other version (you can undo the reload), "
            "or keep yours and save over it.",
            actions=[("Reload from disk", self._reload), ("Keep my version", self.session.keep_buffer)],
        )

    def _on_session_file_missing(self, path: Path) -> None:
        self.session.mark_modified()
        self._show(
            "disk", WARNING, f"“{path.name}” was moved or deleted",
            "Your text is still here. Save to write it back, or Save as… to put it somewhere else.",
            actions=[("Save", self.save), ("Save as…", self.save_as)],
        )

    def _reload(self) -> None:
        try:
            self.session.reload_from_disk()
        except OpenProblemError as exc:
            self.show_problem(exc.problem, title="Could not reload")

    def _remember(self, path: Path) -> None:
        self.settings.remember_document(path)
        self._settings_changed()

    def _settings_changed(self) -> None:
        self._save_settings()
        self.recent_documents_changed.emit()


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
