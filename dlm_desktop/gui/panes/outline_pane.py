"""The outline pane: sections of the document (type, adapter, rows, line, id); a click jumps to the line."""

from __future__ import annotations

import bisect

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Signal, Slot
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTreeView, QVBoxLayout, QWidget

from dlm_desktop.gui.document_check import CheckResult
from dlm_desktop.gui.models.outline_model import ADAPTER, LINE, ROWS, SECTION, SECTION_ID, OutlineModel, outline_groups


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
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(SECTION, QHeaderView.ResizeMode.Stretch)
        for column in (ADAPTER, ROWS, LINE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.view.setColumnHidden(SECTION_ID, True)  # shown in the tooltip; the column is there for wide windows
        self.view.clicked.connect(self._on_view_clicked)
        self.view.activated.connect(self._on_view_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.note)
        layout.addWidget(self.view)
        self._starts: list[int] = []
        self._indexes: list[QModelIndex] = []

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
        self.model.set_groups(outline_groups(result))
        self.view.expandAll()
        self._index_lines()

    def clear(self) -> None:
        self.model.set_groups(())
        self.note.hide()
        self._starts, self._indexes = [], []

    def select_line(self, line: int) -> None:
        """Highlight the section that holds 1-based `line` (without moving the editor)."""
        position = bisect.bisect_right(self._starts, line) - 1
        if position < 0:
            self.view.clearSelection()
            return
        index = self._indexes[position]
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.view.selectionModel().select(index, flags)
        self.view.scrollTo(index)

    def _index_lines(self) -> None:
        pairs = []
        if self.model.rowCount():
            group = self.model.index(0, 0)
            for row in range(self.model.rowCount(group)):
                index = self.model.index(row, 0, group)
                entry = self.model.entry(index)
                if entry is not None and entry.line:
                    pairs.append((entry.line, index))
        pairs.sort(key=lambda pair: pair[0])
        self._starts = [line for line, _ in pairs]
        self._indexes = [index for _, index in pairs]

    @Slot(QModelIndex)
    def _on_view_clicked(self, index: QModelIndex) -> None:
        entry = self.model.entry(index)
        if entry is not None and entry.line:
            self.line_activated.emit(entry.line)
