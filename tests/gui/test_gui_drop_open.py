"""Dropping documents and folders on the window (real QDragEnterEvent / QDropEvent with file URLs)."""

from __future__ import annotations

from PySide6.QtCore import QUrl

from dlm_desktop.gui.widgets.message_banner import INFO
from tests.gui.gui_helpers import GOOD_DOCUMENT, drag_enter_event, drop_paths, drop_urls


def test_dropping_a_dlm_file_opens_it(qtbot, window, good_document):
    with qtbot.waitSignal(window.document_checked, timeout=10_000) as blocker:
        entered, dropped = drop_paths(window, good_document)
    assert entered and dropped
    assert window.editor.toPlainText() == GOOD_DOCUMENT
    assert window.session.path == good_document
    assert "notes.dlm" in window.windowTitle()
    result = blocker.args[0]
    assert not result.errors
    group = window.outline.model.index(0, 0)
    assert window.outline.model.rowCount(group) == 2  # prose + instruction
    assert window.settings.last_document == str(good_document)
    assert window.settings.recent_documents[0] == str(good_document)


def test_a_file_dropped_on_the_editor_reaches_the_window(qtbot, window, good_document, example_copy):
    example = example_copy()
    with qtbot.waitSignal(window.document_checked, timeout=10_000):
        window.open_path(example)
    with qtbot.waitSignal(window.document_checked, timeout=10_000):
        drop_paths(window.editor.viewport(), good_document)
    assert window.session.path == good_document
    assert window.editor.toPlainText() == GOOD_DOCUMENT  # the path was not typed into the old text


def test_dropping_a_folder_scaffolds_a_document_and_opens_it(qtbot, window, tmp_path):
    folder = tmp_path / "museum notes"
    (folder / "rooms").mkdir(parents=True)
    (folder / "history.txt").write_text("The lighthouse was lit in 1871.\n", encoding="utf-8")
    (folder / "rooms" / "lantern.md").write_text("The lantern room has a Fresnel lens.\n", encoding="utf-8")
    with qtbot.waitSignal(window.document_checked, timeout=10_000) as blocker:
        drop_paths(window, folder)
    scaffolded = folder / ".dlm" / "corpus.dlm"
    assert scaffolded.is_file()
    assert window.session.path == scaffolded
    assert "sources:" in window.editor.toPlainText()
    assert window.banner.severity() == INFO and "museum notes" in window.banner.text()
    result = blocker.args[0]
    assert not result.errors
    titles = [group.title for group in window.outline.model.groups()]
    assert titles[-1] == "From training.sources (2 files)"
    previews = {entry.preview for entry in window.outline.model.groups()[-1].entries}
    assert previews == {"history.txt", "rooms/lantern.md"}


def test_dropping_the_same_folder_again_reopens_its_document(qtbot, window, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("alpha\n", encoding="utf-8")
    with qtbot.waitSignal(window.document_checked, timeout=10_000):
        drop_paths(window, folder)
    scaffolded = folder / ".dlm" / "corpus.dlm"
    scaffolded.write_text(scaffolded.read_text(encoding="utf-8") + "\nMy own prose.\n", encoding="utf-8")
    before = scaffolded.read_text(encoding="utf-8")
    with qtbot.waitSignal(window.document_checked, timeout=10_000):
        drop_paths(window, folder)
    assert scaffolded.read_text(encoding="utf-8") == before
    assert window.editor.toPlainText() == before


def test_several_dropped_items_open_the_first_and_say_so(qtbot, window, good_document, tmp_path):
    other = tmp_path / "other.dlm"
    other.write_text(GOOD_DOCUMENT, encoding="utf-8")
    with qtbot.waitSignal(window.document_checked, timeout=10_000):
        drop_paths(window, good_document, other)
    assert window.session.path == good_document
    assert "one document at a time" in window.banner.text()


def test_dragging_files_shows_the_drop_overlay_and_text_is_not_accepted(qtbot, window, tmp_path):
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QDragLeaveEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path))])
    enter = drag_enter_event(10, 10, mime)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    assert window.drop_overlay.isVisible()
    assert "folder" in window.drop_overlay.label.text()
    QApplication.sendEvent(window, QDragLeaveEvent())
    assert not window.drop_overlay.isVisible()
    text_only = QMimeData()
    text_only.setText("just some words")
    enter = drag_enter_event(10, 10, text_only)
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


def test_remote_urls_are_refused_with_a_message(window):
    drop_urls(window, [QUrl("https://example.com/notes.dlm")])
    assert window.banner.severity() == "error"
    assert "on this computer" in window.banner.text()
    assert not window.session.is_open
