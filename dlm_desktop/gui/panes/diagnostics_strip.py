"""The strip under the editor: every problem of the document with its line and fix; click one to go there."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QFrame, QLabel, QListWidget, QListWidgetItem, QVBoxLayout

from dlm_desktop.gui.document_check import ERROR, Diagnostic
from dlm_desktop.gui.theme import LIGHT, ThemeColors

_MAX_VISIBLE_ROWS = 5


class DiagnosticsStrip(QFrame):
    """Shows diagnostics; `line_activated(line)` when the user clicks one that has a line in the document."""

    line_activated = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("DiagnosticsStrip")
        self._colors = LIGHT
        self._diagnostics: tuple[Diagnostic, ...] = ()
        self.header = QLabel(self)
        self.header.setObjectName("DiagnosticsHeader")
        self.list = QListWidget(self)
        self.list.setObjectName("DiagnosticsList")
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemActivated.connect(self._on_list_item_activated)
        self.list.itemClicked.connect(self._on_list_item_activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(self.list)
        self.show_checking()

    def set_colors(self, colors: ThemeColors) -> None:
        self._colors = colors
        self.show_diagnostics(self._diagnostics)

    def show_checking(self) -> None:
        self._set_header("Checking the document…", "muted")
        self.list.clear()
        self.list.hide()

    def show_diagnostics(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        self._diagnostics = tuple(diagnostics)
        self.list.clear()
        for diagnostic in self._diagnostics:
            self.list.addItem(self._item_for(diagnostic))
        self._set_header(*_summary(self._diagnostics))
        self.list.setVisible(bool(self._diagnostics))
        rows = min(len(self._diagnostics), _MAX_VISIBLE_ROWS)
        self.list.setFixedHeight(rows * (self.list.fontMetrics().height() * 2 + 10) + 4 if rows else 0)

    def texts(self) -> list[str]:
        """The text of every item shown, top to bottom."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _item_for(self, diagnostic: Diagnostic) -> QListWidgetItem:
        where = diagnostic.location_text()
        text = f"{where}: {diagnostic.message}" if where else diagnostic.message
        if diagnostic.fix:
            text += f"\nFix: {diagnostic.fix}"
        is_error = diagnostic.severity == ERROR
        item = QListWidgetItem(("●  " if is_error else "▲  ") + text)
        item.setForeground(QBrush(QColor(self._colors.error if is_error else self._colors.warning)))
        item.setBackground(QBrush(QColor(self._colors.error_soft if is_error else self._colors.warning_soft)))
        item.setData(Qt.ItemDataRole.UserRole, diagnostic.line if diagnostic.path is None else 0)
        item.setData(Qt.ItemDataRole.UserRole + 1, diagnostic.severity)
        item.setToolTip("Click to go to this line" if diagnostic.line and diagnostic.path is None else "")
        return item

    def _set_header(self, text: str, state: str) -> None:
        self.header.setText(text)
        self.header.setProperty("state", state)
        self.header.style().unpolish(self.header)
        self.header.style().polish(self.header)

    @Slot(QListWidgetItem)
    def _on_list_item_activated(self, item: QListWidgetItem) -> None:
        line = item.data(Qt.ItemDataRole.UserRole)
        if line:
            self.line_activated.emit(int(line))


def _summary(diagnostics: tuple[Diagnostic, ...]) -> tuple[str, str]:
    errors = sum(1 for d in diagnostics if d.severity == ERROR)
    warnings = len(diagnostics) - errors
    if not diagnostics:
        return "✓  No problems found", "ok"
    parts = []
    if errors:
        parts.append(f"{errors} error" + ("s" if errors > 1 else ""))
    if warnings:
        parts.append(f"{warnings} warning" + ("s" if warnings > 1 else ""))
    suffix = " — the document cannot be trained until it is fixed" if errors else ""
    return ", ".join(parts) + suffix, "error" if errors else "warning"
