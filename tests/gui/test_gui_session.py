"""Saving (atomic, exact, never losing the text), reloading after changes on disk, unsaved-changes questions,
undo/redo and the keyboard shortcuts of the file commands."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

from dlm_desktop.gui.prompts import CANCEL, DISCARD, SAVE
from tests.gui.gui_helpers import GOOD_DOCUMENT, edit_and_check, open_and_check


def _focus_editor(qtbot, window) -> None:
    window.activateWindow()
    qtbot.waitActive(window)
    window.editor.setFocus()


def _type_at_end(qtbot, editor, text: str) -> None:
    editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(editor, text)


def test_ctrl_s_saves_exactly_the_text_through_an_atomic_replace(qtbot, window, good_document):
    open_and_check(qtbot, window, good_document)
    _focus_editor(qtbot, window)
    inode_before = good_document.stat().st_ino
    _type_at_end(qtbot, window.editor, "Added line")
    window.editor.insertPlainText(" \u00e9.")  # QTest cannot type non-ASCII keys
    assert window.isWindowModified()
    with qtbot.waitSignal(window.session.document_saved, timeout=5_000):
        qtbot.keyClick(window.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert good_document.read_text(encoding="utf-8") == window.editor.toPlainText()
    assert good_document.read_text(encoding="utf-8").endswith("Added line é.")
    assert good_document.stat().st_ino != inode_before  # written beside it, then renamed over it
    assert sorted(p.name for p in good_document.parent.iterdir()) == ["notes.dlm"]  # no temporary file left
    assert not window.isWindowModified()


def test_a_failed_save_shows_why_and_keeps_the_text(qtbot, window, good_document, tmp_path):
    open_and_check(qtbot, window, good_document)
    _type_at_end(qtbot, window.editor, "Precious words.")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    assert not window.commands.save_as(blocker / "copy.dlm")
    assert window.banner.severity() == "error"
    assert "Could not save" in window.banner.text() and "Your text is still here" in window.banner.text()
    assert window.editor.toPlainText().endswith("Precious words.")
    assert window.session.is_modified()
    assert window.session.path == good_document
    assert window.commands.save()  # and a later save that can work does
    assert not window.banner.isVisible()


def test_an_external_change_reloads_silently_when_there_are_no_edits(qtbot, window, good_document):
    open_and_check(qtbot, window, good_document)
    changed = GOOD_DOCUMENT.replace("Blue.", "Green.")
    with qtbot.waitSignal(window.session.document_reloaded, timeout=10_000):
        good_document.write_text(changed, encoding="utf-8")
    assert window.editor.toPlainText() == changed
    assert not window.session.is_modified()
    assert not window.banner.isVisible()
    window.editor.undo()  # the reload is one undoable edit
    assert window.editor.toPlainText() == GOOD_DOCUMENT


def test_an_external_change_with_unsaved_edits_asks_first(qtbot, window, good_document):
    open_and_check(qtbot, window, good_document)
    _type_at_end(qtbot, window.editor, "My unsaved sentence.")
    mine = window.editor.toPlainText()
    with qtbot.waitSignal(window.session.external_change_detected, timeout=10_000):
        good_document.write_text(GOOD_DOCUMENT.replace("Four.", "Five."), encoding="utf-8")
    assert window.banner.action_labels() == ["Reload from disk", "Keep my version"]
    window.banner.trigger_action("Keep my version")
    assert window.editor.toPlainText() == mine
    window.session.check_disk()  # the same outside version is not announced twice
    assert not window.banner.isVisible()
    assert window.commands.save()
    assert good_document.read_text(encoding="utf-8") == mine


def test_reload_from_disk_takes_the_other_version(qtbot, window, good_document):
    open_and_check(qtbot, window, good_document)
    _type_at_end(qtbot, window.editor, "Scratch.")
    theirs = GOOD_DOCUMENT.replace("Four.", "Five.")
    with qtbot.waitSignal(window.session.external_change_detected, timeout=10_000):
        good_document.write_text(theirs, encoding="utf-8")
    window.banner.trigger_action("Reload from disk")
    assert window.editor.toPlainText() == theirs
    assert not window.session.is_modified()


def test_our_own_save_is_not_taken_for_an_external_change(qtbot, window, good_document):
    open_and_check(qtbot, window, good_document)
    _type_at_end(qtbot, window.editor, "Saved by us.")
    with qtbot.assertNotEmitted(window.session.external_change_detected):
        with qtbot.assertNotEmitted(window.session.document_reloaded):
            assert window.commands.save()
            window.session.check_disk()  # what the file watcher does when our atomic replace lands
    assert not window.banner.isVisible()


def test_a_deleted_file_is_announced_and_the_text_kept(qtbot, window, good_document):
    open_and_check(qtbot, window, good_document)
    with qtbot.waitSignal(window.session.file_missing, timeout=10_000):
        good_document.unlink()
    assert "moved or deleted" in window.banner.text()
    assert window.editor.toPlainText() == GOOD_DOCUMENT
    assert window.session.is_modified()
    window.banner.trigger_action("Save")
    assert good_document.read_text(encoding="utf-8") == GOOD_DOCUMENT


def test_opening_another_document_asks_about_unsaved_changes(qtbot, window, prompts, good_document, example_copy):
    example = example_copy()
    open_and_check(qtbot, window, good_document)
    _type_at_end(qtbot, window.editor, "Unsaved.")
    prompts.unsaved_answer = CANCEL
    assert not window.open_path(example)
    assert window.session.path == good_document and window.editor.toPlainText().endswith("Unsaved.")
    prompts.unsaved_answer = SAVE
    open_and_check(qtbot, window, example)
    assert good_document.read_text(encoding="utf-8").endswith("Unsaved.")
    _type_at_end(qtbot, window.editor, "Thrown away.")
    prompts.unsaved_answer = DISCARD
    open_and_check(qtbot, window, good_document)
    assert "Thrown away." not in example.read_text(encoding="utf-8")
    assert prompts.asked == ["unsaved:notes.dlm", "unsaved:notes.dlm", "unsaved:getting-started.dlm"]


def test_closing_with_unsaved_changes_can_be_cancelled(qtbot, window, prompts, good_document):
    open_and_check(qtbot, window, good_document)
    _type_at_end(qtbot, window.editor, "Unsaved.")
    prompts.unsaved_answer = CANCEL
    assert not window.close()
    assert window.isVisible()
    prompts.unsaved_answer = DISCARD
    assert window.close()


def test_undo_and_redo_shortcuts(qtbot, window, good_document):
    open_and_check(qtbot, window, good_document)
    _focus_editor(qtbot, window)
    _type_at_end(qtbot, window.editor, "xyz")
    assert window.actions.undo.isEnabled()
    qtbot.keyClick(window.editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.toPlainText() == GOOD_DOCUMENT
    assert window.actions.redo.isEnabled()
    qtbot.keyClick(window.editor, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.toPlainText().endswith("xyz")


def test_ctrl_n_makes_a_valid_document_and_ctrl_s_asks_where_to_save_it(qtbot, window, prompts, tmp_path):
    _focus_editor(qtbot, window)
    with qtbot.waitSignal(window.document_checked, timeout=10_000) as blocker:
        qtbot.keyClick(window.editor, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.session.is_open and window.session.path is None
    assert not blocker.args[0].errors
    assert window.windowTitle().startswith("Untitled.dlm")
    prompts.save_path = tmp_path / "mine.dlm"
    qtbot.keyClick(window.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert prompts.asked[-1] == "save:Untitled.dlm"
    assert (tmp_path / "mine.dlm").read_text(encoding="utf-8") == window.editor.toPlainText()
    assert window.session.path == tmp_path / "mine.dlm"
    assert window.settings.recent_documents[0] == str(tmp_path / "mine.dlm")


def test_ctrl_shift_s_and_ctrl_o_use_the_file_dialogs(qtbot, window, prompts, good_document, tmp_path):
    open_and_check(qtbot, window, good_document)
    _focus_editor(qtbot, window)
    prompts.save_path = tmp_path / "copy.dlm"
    qtbot.keyClick(window.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert (tmp_path / "copy.dlm").read_text(encoding="utf-8") == GOOD_DOCUMENT
    prompts.open_path = good_document
    with qtbot.waitSignal(window.document_checked, timeout=10_000):
        qtbot.keyClick(window.editor, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert window.session.path == good_document
    assert prompts.asked == ["save:notes.dlm", "open"]


def test_recent_documents_menu_opens_them_and_forgets_missing_ones(qtbot, window, good_document, example_copy):
    example = example_copy()
    open_and_check(qtbot, window, good_document)
    open_and_check(qtbot, window, example)
    actions = window.actions.recent_menu.actions()
    assert [a.toolTip() for a in actions] == [str(example), str(good_document)]
    with qtbot.waitSignal(window.document_checked, timeout=10_000):
        actions[1].trigger()
    assert window.session.path == good_document
    os.remove(example)
    window.actions.recent_menu.actions()[1].trigger()
    assert "no longer exists" in window.banner.text()
    assert [a.toolTip() for a in window.actions.recent_menu.actions()] == [str(good_document)]


def test_editing_shows_the_modified_mark_and_cursor_line(qtbot, window, good_document):
    open_and_check(qtbot, window, good_document)
    assert not window.isWindowModified()
    edit_and_check(qtbot, window, lambda: _type_at_end(qtbot, window.editor, "x"))
    assert window.isWindowModified()
    assert window.cursor_status.text() == f"Line {window.editor.blockCount()}"
