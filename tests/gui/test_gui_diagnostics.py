"""Diagnostics as you type: the error's line is underlined, the strip says what and how to fix, the app stays
usable, and fixing the text clears everything. Checks run off the GUI thread, debounced."""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCharFormat, QTextCursor

import dlm_desktop.gui.diagnostics as diagnostics_module
from dlm_desktop.gui.theme import LIGHT
from tests.gui.gui_helpers import REPO, edit_and_check, open_and_check


def _type_line_at_end(qtbot, editor, text: str) -> None:
    editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, text)


def _underlined_lines(editor) -> dict[int, str]:
    lines = {}
    for selection in editor.extraSelections():
        if selection.format.underlineStyle() == QTextCharFormat.UnderlineStyle.WaveUnderline:
            lines[selection.cursor.blockNumber() + 1] = selection.format.underlineColor().name()
    return lines


def test_an_error_is_underlined_on_its_line_and_fixing_it_clears_it(qtbot, window, good_document):
    open_and_check(qtbot, window, good_document)
    line_count = window.editor.blockCount()
    result = edit_and_check(qtbot, window, lambda: _type_line_at_end(qtbot, window.editor, "::summary::"))
    bad_line = line_count + 1
    assert [d.line for d in result.errors] == [bad_line]
    assert _underlined_lines(window.editor) == {bad_line: LIGHT.error}
    texts = window.strip.texts()
    assert texts and texts[0].startswith(f"●  Line {bad_line}: unknown section fence '::summary::'")
    assert "Fix: use one of ::prose::" in texts[0]
    assert window.strip.header.property("state") == "error"
    # the app stays usable: the outline keeps the last readable version, saving still works
    assert window.outline.note.isVisible()
    assert window.outline.model.rowCount(window.outline.model.index(0, 0)) == 2
    assert window.commands.save()
    assert good_document.read_text(encoding="utf-8").endswith("::summary::")
    # fix it by undoing the typing
    result = edit_and_check(qtbot, window, lambda: [qtbot.keyClick(window.editor, Qt.Key.Key_Backspace) for _ in range(12)])
    assert not result.diagnostics
    assert _underlined_lines(window.editor) == {}
    assert window.strip.texts() == []
    assert window.strip.header.text().endswith("No problems found")
    assert not window.outline.note.isVisible()


def test_clicking_a_problem_moves_the_cursor_to_its_line(qtbot, window, good_document):
    open_and_check(qtbot, window, good_document)
    result = edit_and_check(qtbot, window, lambda: _type_line_at_end(qtbot, window.editor, "::summary::"))
    window.editor.moveCursor(QTextCursor.MoveOperation.Start)
    item = window.strip.list.item(0)
    window.strip.list.itemClicked.emit(item)
    assert window.editor.cursor_line() == result.errors[0].line


def test_warnings_are_shown_in_yellow(qtbot, window, good_document):
    open_and_check(qtbot, window, good_document)
    result = edit_and_check(qtbot, window, lambda: _type_line_at_end(qtbot, window.editor, "::prose:: "))
    assert not result.errors
    warning = result.warnings[0]
    assert "looks like a fence" in warning.message
    assert _underlined_lines(window.editor) == {warning.line: LIGHT.warning}
    assert window.strip.header.property("state") == "warning"
    item = window.strip.list.item(0)
    assert item.foreground().color().name() == LIGHT.warning


def test_typing_a_burst_checks_once_after_the_pause(qtbot, window, good_document):
    open_and_check(qtbot, window, good_document)
    before = window.diagnostics.checks_dispatched
    edit_and_check(qtbot, window, lambda: _type_line_at_end(qtbot, window.editor, "More prose, typed quickly."))
    assert window.diagnostics.checks_dispatched == before + 1


def test_f5_checks_again(qtbot, window, good_document):
    open_and_check(qtbot, window, good_document)
    window.activateWindow()
    qtbot.waitActive(window)
    window.editor.setFocus()
    with qtbot.waitSignal(window.document_checked, timeout=10_000):
        qtbot.keyClick(window.editor, Qt.Key.Key_F5)


def test_a_2000_section_document_is_checked_off_the_gui_thread(qtbot, window, tmp_path, monkeypatch):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from parse_bench import write_big_document
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    big = tmp_path / "big.dlm"
    write_big_document(big, sections=2000)
    threads: list[int] = []
    real_check = diagnostics_module.check_document_text

    def recording_check(*args, **kwargs):
        threads.append(threading.get_ident())
        return real_check(*args, **kwargs)

    monkeypatch.setattr(diagnostics_module, "check_document_text", recording_check)
    result = open_and_check(qtbot, window, big, timeout=60_000)
    assert not result.errors
    assert len(result.report.sections) == 2000
    assert window.outline.model.rowCount(window.outline.model.index(0, 0)) == 2000
    assert threads and all(ident != threading.get_ident() for ident in threads)
    result = edit_and_check(qtbot, window, lambda: _type_line_at_end(qtbot, window.editor, "::oops::"), 60_000)
    assert result.errors[0].line == window.editor.blockCount()


def test_a_stale_result_never_lands(qtbot, window, good_document):
    """A check still running when the text changes again is dropped; only the newest text's result shows."""
    open_and_check(qtbot, window, good_document)
    window.diagnostics.check_now()  # running on the old text …
    window.editor.appendPlainText("::summary::")  # … while the text changes (a new check is scheduled)
    with qtbot.waitSignal(window.document_checked, timeout=10_000) as blocker:
        pass
    assert blocker.args[0].errors, "the result shown must be the one of the text with the bad fence"


def test_a_training_yaml_problem_is_named_with_its_file(qtbot, window, good_document):
    config = good_document.parent / ".dlm" / "training.yaml"
    config.parent.mkdir()
    config.write_bytes(b"weights: \xff\xfe\n")
    result = open_and_check(qtbot, window, good_document)
    texts = " ".join(window.strip.texts())
    assert result.diagnostics
    assert "training.yaml" in texts
    assert _underlined_lines(window.editor) == {}


def test_untitled_documents_are_checked_too(qtbot, window):
    with qtbot.waitSignal(window.document_checked, timeout=10_000) as blocker:
        window.commands.new_document()
    assert blocker.args[0].report is not None and not blocker.args[0].errors
    assert blocker.args[0].document_path is None
    assert window.strip.header.text().endswith("No problems found")
