"""The outline: a two-level item model over the outline groups of a check (`outline_data`).

Columns: section (a badge for its kind and a preview), adapter, rows, line, section id. A new check whose
outline has the same shape only refreshes the rows that changed, so typing in a 2,000-section document
neither resets the view nor walks all of it.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from dlm_desktop.gui.outline_data import OutlineEntry, OutlineGroup

COLUMNS = ("Section", "Adapter", "Rows", "Line", "Section id")
SECTION, ADAPTER, ROWS, LINE, SECTION_ID = range(len(COLUMNS))
LINE_ROLE = Qt.ItemDataRole.UserRole + 1
_NO_GROUP = 0  # internalId of top-level items; children carry their group's row + 1
# A badge per kind of section (mid-tone colours that read on light and dark backgrounds).
BADGES = {
    "prose": ("P", "#7d8794", "prose: text the model reads"),
    "instruction": ("Q", "#4f6df5", "instruction: questions with answers"),
    "preference": ("C", "#d9772b", "preference: a prompt with a chosen and a rejected answer"),
    "image": ("I", "#9a5fe0", "image"),
    "audio": ("A", "#9a5fe0", "audio"),
}


class OutlineModel(QAbstractItemModel):
    """Read-only tree model; `set_groups` replaces everything (a check result is a new snapshot)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._groups: tuple[OutlineGroup, ...] = ()
        self._badges = {kind: _badge_icon(letter, color) for kind, (letter, color, _) in BADGES.items()}

    def set_groups(self, groups: tuple[OutlineGroup, ...]) -> bool:
        """Show `groups`; returns True when the model was reset (rows added or removed), False otherwise."""
        groups = tuple(groups)
        old = self._groups
        if [len(g.entries) for g in groups] != [len(g.entries) for g in old]:
            self.beginResetModel()
            self._groups = groups
            self.endResetModel()
            return True
        self._groups = groups
        for row, (before, after) in enumerate(zip(old, groups)):
            if before.title != after.title:
                self.dataChanged.emit(self.index(row, 0), self.index(row, 0))
            changed = [i for i, (a, b) in enumerate(zip(before.entries, after.entries)) if a != b]
            if changed:
                parent = self.index(row, 0)
                last = len(COLUMNS) - 1
                self.dataChanged.emit(self.index(changed[0], 0, parent), self.index(changed[-1], last, parent))
        return False

    def groups(self) -> tuple[OutlineGroup, ...]:
        return self._groups

    def has_adapters(self) -> bool:
        return any(entry.adapter for group in self._groups for entry in group.entries)

    def kinds(self) -> list[str]:
        """The kinds of section in the outline, in the order of `BADGES`."""
        present = {entry.kind for group in self._groups for entry in group.entries}
        return [kind for kind in BADGES if kind in present]

    def index(self, row: int, column: int, parent=QModelIndex()) -> QModelIndex:
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, _NO_GROUP)
        return self.createIndex(row, column, parent.row() + 1)

    def parent(self, index=QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid() or index.internalId() == _NO_GROUP:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, _NO_GROUP)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt override
        if not parent.isValid():
            return len(self._groups)
        if parent.internalId() == _NO_GROUP and parent.column() == 0:
            return len(self._groups[parent.row()].entries)
        return 0

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt override
        return len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def entry(self, index: QModelIndex | QPersistentModelIndex) -> OutlineEntry | None:
        if not index.isValid() or index.internalId() == _NO_GROUP:
            return None
        return self._groups[index.internalId() - 1].entries[index.row()]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        entry = self.entry(index)
        if entry is None:
            group = self._groups[index.row()]
            return group.title if role == Qt.ItemDataRole.DisplayRole and index.column() == SECTION else None
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(entry, index.column())
        if role == LINE_ROLE:
            return entry.line
        if role == Qt.ItemDataRole.DecorationRole and index.column() == SECTION:
            return self._badges.get(entry.kind)
        if role == Qt.ItemDataRole.ToolTipRole:
            kind = BADGES.get(entry.kind, (None, None, entry.kind))[2]
            where = f"line {entry.line}" if entry.line else "a file pulled in by training.sources"
            return f"{kind}\n{where} · {entry.rows} training rows · id {entry.section_id}"
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (ROWS, LINE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


def _display(entry: OutlineEntry, column: int) -> str:
    if column == SECTION:
        return entry.preview
    if column == ADAPTER:
        return entry.adapter
    if column == ROWS:
        return str(entry.rows)
    if column == LINE:
        return str(entry.line) if entry.line else "—"
    return entry.section_id


def _badge_icon(letter: str, color: str, size: int = 32) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(color))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRoundedRect(QRectF(1, 1, size - 2, size - 2), 8, 8)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * 0.6))
    painter.setFont(font)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, letter)
    painter.end()
    return QIcon(pixmap)
