"""The document editor: a plain-text editor with line numbers, `.dlm` colours and underlined problems.

Dropped files are not text to insert: the editor declines drags that carry file URLs, so they travel up to
the window, which opens them.
"""

from __future__ import annotations

from typing import Iterable

from PySide6.QtCore import QRect, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFontDatabase, QPainter, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

from dlm_desktop.gui.document_check import ERROR, Diagnostic
from dlm_desktop.gui.file_checks import PLAIN_EDITING_CHARS
from dlm_desktop.gui.panes.highlighter import DlmHighlighter
from dlm_desktop.gui.theme import LIGHT, ThemeColors


class _LineNumberArea(QWidget):
    def __init__(self, editor: "DocumentEditor") -> None:
        super().__init__(editor)
        self._editor = editor

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(self._editor.line_number_width(), 0)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._editor.paint_line_numbers(event)


class DocumentEditor(QPlainTextEdit):
    """Edits `.dlm` text. `cursor_line_changed(line)` reports the 1-based line of the cursor."""

    cursor_line_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DocumentEditor")
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(font.pointSizeF(), 10.5))
        self.setFont(font)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 4)
        self._colors = LIGHT
        self._diagnostics: tuple[Diagnostic, ...] = ()
        self._gutter = _LineNumberArea(self)
        self.highlighter = DlmHighlighter(self.document(), self._colors)
        self.blockCountChanged.connect(self._on_self_block_count_changed)
        self.updateRequest.connect(self._on_self_update_request)
        self.cursorPositionChanged.connect(self._on_self_cursor_position_changed)
        self._on_self_block_count_changed(0)

    # ----- public API -------------------------------------------------------------------------------------------

    def load_text(self, text: str) -> None:
        """Replace the whole text (a new undo history); very large texts are shown without colours."""
        colored = len(text) <= PLAIN_EDITING_CHARS
        self.highlighter.setDocument(self.document() if colored else None)
        self.setPlainText(text)

    def is_highlighting(self) -> bool:
        return self.highlighter.document() is not None

    def set_colors(self, colors: ThemeColors) -> None:
        self._colors = colors
        self.highlighter.set_colors(colors)
        self._refresh_selections()
        self._gutter.update()

    def set_diagnostics(self, diagnostics: Iterable[Diagnostic]) -> None:
        """Underline the lines of problems in this document (errors red, warnings yellow)."""
        self._diagnostics = tuple(d for d in diagnostics if d.path is None and d.line > 0)
        self._refresh_selections()

    def diagnostic_selections(self) -> list[QTextEdit.ExtraSelection]:
        return list(self.extraSelections())

    def go_to_line(self, line: int) -> None:
        """Put the cursor at the start of 1-based `line` and scroll it into the middle of the view."""
        block = self.document().findBlockByNumber(max(0, line - 1))
        if not block.isValid():
            return
        cursor = QTextCursor(block)
        self.setTextCursor(cursor)
        self.centerCursor()
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def cursor_line(self) -> int:
        return self.textCursor().blockNumber() + 1

    # ----- problems -----------------------------------------------------------------------------------------------

    def _refresh_selections(self) -> None:
        selections = []
        for diagnostic in self._diagnostics:
            selections += self._selections_for(diagnostic)
        self.setExtraSelections(selections)

    def _selections_for(self, diagnostic: Diagnostic) -> list[QTextEdit.ExtraSelection]:
        block = self.document().findBlockByNumber(diagnostic.line - 1)
        if not block.isValid():
            return []
        is_error = diagnostic.severity == ERROR
        line_color = QColor(self._colors.error if is_error else self._colors.warning)
        background = QTextEdit.ExtraSelection()
        background.format.setBackground(QColor(self._colors.error_soft if is_error else self._colors.warning_soft))
        background.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        background.cursor = QTextCursor(block)
        underline = QTextEdit.ExtraSelection()
        underline.format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        underline.format.setUnderlineColor(line_color)
        underline.format.setToolTip(diagnostic.message)
        cursor = QTextCursor(block)
        text = block.text()
        cursor.setPosition(block.position() + (len(text) - len(text.lstrip())))
        cursor.setPosition(block.position() + len(text), QTextCursor.MoveMode.KeepAnchor)
        underline.cursor = cursor
        return [background, underline]

    # ----- drops: files go to the window ------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.ignore()
            return
        super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.ignore()
            return
        super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.ignore()
            return
        super().dropEvent(event)

    # ----- line numbers -------------------------------------------------------------------------------------------

    def line_number_width(self) -> int:
        digits = max(3, len(str(max(1, self.blockCount()))))
        return 14 + self.fontMetrics().horizontalAdvance("9") * digits

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        rect = self.contentsRect()
        self._gutter.setGeometry(QRect(rect.left(), rect.top(), self.line_number_width(), rect.height()))

    def paint_line_numbers(self, event) -> None:
        painter = QPainter(self._gutter)
        painter.fillRect(event.rect(), QColor(self._colors.base))
        painter.setPen(QColor(self._colors.gutter))
        error_lines = {d.line for d in self._diagnostics if d.severity == ERROR}
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        width, height = self._gutter.width() - 8, self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            bottom = top + round(self.blockBoundingRect(block).height())
            if block.isVisible() and bottom >= event.rect().top():
                number = block.blockNumber() + 1
                painter.setPen(QColor(self._colors.error if number in error_lines else self._colors.gutter))
                painter.drawText(0, top, width, height, Qt.AlignmentFlag.AlignRight, str(number))
            block, top = block.next(), bottom
        painter.end()

    @Slot(int)
    def _on_self_block_count_changed(self, _count: int) -> None:
        self.setViewportMargins(self.line_number_width(), 0, 0, 0)

    @Slot(QRect, int)
    def _on_self_update_request(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())

    @Slot()
    def _on_self_cursor_position_changed(self) -> None:
        self.cursor_line_changed.emit(self.cursor_line())
