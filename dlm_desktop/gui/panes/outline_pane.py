"""The outline pane: sections of the document (type, adapter, rows, line, id); a click jumps to the line."""

from __future__ import annotations

import bisect

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, Signal, Slot
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QMenu, QTreeView, QVBoxLayout, QWidget

from dlm_desktop.gui.document_check import CheckResult
from dlm_desktop.gui.models.outline_model import (
    ADAPTER, BADGES, COLUMNS, LINE, ROWS, SECTION, SECTION_ID, OutlineModel,
)


class OutlinePane(QWidget):
    """`line_activated(line)` when the user picks a section written in the document."""

    line_activated = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = OutlineModel(self)
        self.note = QLabel(self)
        self.note.setProperty("role", "note")
        self.note.setWordWrap(True)
        self.note.setContentsMargins(10, 6, 10, 6)
        self.note.hide()
        self.view = QTreeView(self)
        self.view.setModel(self.model)
        self.view.setUniformRowHeights(True)
        self.view.setIndentation(14)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(SECTION, QHeaderView.ResizeMode.Stretch)
        # Fixed widths: resizing to contents would read every row of a 2,000-section outline at each check.
        digits = self.view.fontMetrics().horizontalAdvance("00000") + 10
        for column in (ROWS, LINE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(column, max(digits, header.fontMetrics().horizontalAdvance(COLUMNS[column]) + 24))
        header.setSectionResizeMode(ADAPTER, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(ADAPTER, 96)
        self.view.setColumnHidden(SECTION_ID, True)  # in the tooltip; right-click the header to show it
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._on_header_context_menu_requested)
        self.view.clicked.connect(self._on_view_clicked)
        self.view.activated.connect(self._on_view_clicked)
        self.legend = QLabel(self)
        self.legend.setProperty("role", "muted")
        self.legend.setContentsMargins(10, 6, 10, 6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.note)
        layout.addWidget(self.view)
        layout.addWidget(self.legend)
        self._starts: list[int] = []
        self._adapter_column_choice: bool | None = None  # None: shown only when the document has adapters

    def show_result(self, result: CheckResult) -> None:
        """Show a fresh check; after an error keep the last readable outline, marked as such."""
        if result.report is None:
            stale = bool(self.model.groups())
            self.note.setText(
                "The document has an error: this outline shows the last version that could be read."
                if stale else "Fix the error shown under the editor to see the outline."
            )
            self.note.show()
            return
        self.note.hide()
        if result.outline == self.model.groups():
            return  # typing inside a section changes nothing here
        if self.model.set_groups(result.outline):
            for row in range(self.model.rowCount()):
                self.view.setFirstColumnSpanned(row, QModelIndex(), True)
                self.view.expand(self.model.index(row, 0))  # not expandAll(): it visits every row
        if self._adapter_column_choice is None:
            self.view.setColumnHidden(ADAPTER, not self.model.has_adapters())
        self.legend.setText(_legend_html(self.model.kinds()))
        self._index_lines()

    def clear(self) -> None:
        self.model.set_groups(())
        self.note.hide()
        self.legend.clear()
        self._starts = []

    def select_line(self, line: int) -> None:
        """Highlight the section that holds 1-based `line` (without moving the editor)."""
        position = bisect.bisect_right(self._starts, line) - 1
        if position < 0:
            self.view.clearSelection()
            return
        index = self.model.index(position, 0, self.model.index(0, 0))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.view.selectionModel().select(index, flags)
        self.view.scrollTo(index)

    def _index_lines(self) -> None:
        """Start lines of the document's own sections, in order, for `select_line` (rows are looked up lazily)."""
        groups = self.model.groups()
        entries = groups[0].entries if groups else ()
        self._starts = [entry.line for entry in entries]

    @Slot(QPoint)
    def _on_header_context_menu_requested(self, position: QPoint) -> None:
        menu = QMenu(self)
        for column in (ADAPTER, ROWS, LINE, SECTION_ID):
            action = menu.addAction(COLUMNS[column])
            action.setCheckable(True)
            action.setChecked(not self.view.isColumnHidden(column))
            action.toggled.connect(lambda shown, c=column: self.show_column(c, shown))
        menu.exec(self.view.header().mapToGlobal(position))

    def show_column(self, column: int, shown: bool) -> None:
        """Show or hide a column (the header's right-click menu)."""
        self.view.setColumnHidden(column, not shown)
        if column == ADAPTER:
            self._adapter_column_choice = shown

    @Slot(QModelIndex)
    def _on_view_clicked(self, index: QModelIndex) -> None:
        entry = self.model.entry(index)
        if entry is not None and entry.line:
            self.line_activated.emit(entry.line)


def _legend_html(kinds: list[str]) -> str:
    """`P prose · Q instruction`: what the badges in the first column mean."""
    parts = []
    for kind in kinds:
        letter, color, _ = BADGES[kind]
        badge = f'<span style="background:{color}; color:#ffffff; font-weight:600">&nbsp;{letter}&nbsp;</span>'
        parts.append(f"{badge}&nbsp;{kind}")
    return " &nbsp; ".join(parts)
