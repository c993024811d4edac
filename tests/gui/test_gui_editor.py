"""The editor's colours for `.dlm` text, and the outline's jump to a section."""

from __future__ import annotations

from PySide6.QtGui import QTextCharFormat, QTextCursor

from tests.gui.gui_helpers import open_and_check

TEXT = """---
# a comment
base_model: smollm2-135m
---
# Heading
Prose with ### Q inside a prose line.
### Q
not a header in prose
::instruction#astronomy::
<!-- dlm-auto-synth: synth_teacher="x" -->
### Q !probe
Why?
### A
Because.
::preference::
### Prompt
p
### Rejected
r
"""


def _formats_of_line(editor, line: int) -> dict[str, object]:
    block = editor.document().findBlockByNumber(line - 1)
    ranges = block.layout().formats()
    return {block.text()[r.start:r.start + r.length]: QTextCharFormat(r.format) for r in ranges}


def _named(editor, name):
    return editor.highlighter.format_named(name)


def test_highlighting_of_frontmatter_fences_headers_and_markers(qtbot, window):
    editor = window.editor
    window.session.start_untitled(TEXT)
    editor.highlighter.rehighlight()
    same = lambda fmt, name: fmt.foreground().color() == _named(editor, name).foreground().color()  # noqa: E731
    assert same(_formats_of_line(editor, 1)["---"], "delimiter")
    assert same(_formats_of_line(editor, 2)["# a comment"], "comment")
    assert same(_formats_of_line(editor, 3)["base_model"], "key")
    assert same(_formats_of_line(editor, 4)["---"], "delimiter")
    assert same(_formats_of_line(editor, 5)["# Heading"], "heading")
    assert same(_formats_of_line(editor, 7)["### Q"], "heading")  # in prose, a Markdown heading, not a question
    fence = _formats_of_line(editor, 9)
    assert same(fence["#astronomy"], "adapter") and same(fence["::instruction"], "fence")
    assert same(_formats_of_line(editor, 10)['<!-- dlm-auto-synth: synth_teacher="x" -->'], "marker")
    header = _formats_of_line(editor, 11)
    assert same(header["### Q"], "question") and same(header[" !probe"], "flag")
    assert same(_formats_of_line(editor, 13)["### A"], "answer")
    assert same(_formats_of_line(editor, 16)["### Prompt"], "question")
    assert same(_formats_of_line(editor, 18)["### Rejected"], "rejected")


def test_clicking_an_outline_section_jumps_to_its_line(qtbot, window, example_copy):
    open_and_check(qtbot, window, example_copy())
    window.editor.moveCursor(QTextCursor.MoveOperation.Start)
    group = window.outline.model.index(0, 0)
    instruction = window.outline.model.index(1, 0, group)
    assert window.outline.model.entry(instruction).kind == "instruction"
    window.show_pane(1)
    window.outline.view.clicked.emit(instruction)
    assert window.tabs.currentIndex() == 0
    assert window.editor.cursor_line() == 28
    assert window.outline.model.data(window.outline.model.index(1, 2, group)) == "7"  # rows


def test_moving_the_cursor_selects_its_section_in_the_outline(qtbot, window, example_copy):
    open_and_check(qtbot, window, example_copy())
    window.editor.go_to_line(40)
    selected = window.outline.view.selectionModel().selectedRows()
    assert [window.outline.model.entry(index).line for index in selected] == [28]


def test_a_very_large_document_opens_without_colours_and_says_why(qtbot, window, tmp_path):
    from dlm_desktop.gui.file_checks import PLAIN_EDITING_CHARS

    paragraph = "The keeper wound the clockwork every four hours, night after night.\n"
    body = paragraph * (PLAIN_EDITING_CHARS // len(paragraph) + 10)
    big = tmp_path / "large.dlm"
    big.write_text("---\ndlm_id: 01JDXMDESKTQPEXAMP1E000009\nbase_model: smollm2-135m\n---\n" + body, encoding="utf-8")
    result = open_and_check(qtbot, window, big, timeout=60_000)
    assert not result.errors
    assert not window.editor.is_highlighting()
    assert "without colours" in window.banner.text()
    open_and_check(qtbot, window, _small(tmp_path))
    assert window.editor.is_highlighting()


def _small(tmp_path):
    path = tmp_path / "small.dlm"
    path.write_text("---\ndlm_id: 01JDXMDESKTQPEXAMP1E000009\nbase_model: smollm2-135m\n---\nShort.\n", encoding="utf-8")
    return path


def test_the_outline_explains_its_badges_and_can_show_section_ids(qtbot, window, example_copy):
    result = open_and_check(qtbot, window, example_copy())
    assert "prose" in window.outline.legend.text() and "instruction" in window.outline.legend.text()
    assert window.outline.view.isColumnHidden(4)
    window.outline.show_column(4, True)
    group = window.outline.model.index(0, 0)
    assert window.outline.model.data(window.outline.model.index(0, 4, group)) == result.report.sections[0].section_id
    assert window.outline.view.isColumnHidden(1)  # no adapters declared: no adapter column
