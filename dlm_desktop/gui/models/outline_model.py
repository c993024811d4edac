"""The outline: a two-level item model over a document report's sections.

Top level: "In this document" (the sections written in the file) and, when the document has
`training.sources`, "From training.sources" (one prose section per file). Columns: section (type and a
preview), adapter, rows, line, section id.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt

from dlm_desktop.core.document.sections import Section, SectionType
from dlm_desktop.gui.document_check import CheckResult

COLUMNS = ("Section", "Adapter", "Rows", "Line", "Section id")
SECTION, ADAPTER, ROWS, LINE, SECTION_ID = range(len(COLUMNS))
LINE_ROLE = Qt.ItemDataRole.UserRole + 1
_PREVIEW_CHARS = 60
_SOURCE_PREFIX = "# source: "
_NO_GROUP = 0  # internalId of top-level items; children carry their group's row + 1


@dataclass(frozen=True)
class OutlineEntry:
    kind: str
    preview: str
    adapter: str
    rows: int
    line: int
    section_id: str


@dataclass(frozen=True)
class OutlineGroup:
    title: str
    entries: tuple[OutlineEntry, ...]


def outline_groups(result: CheckResult) -> tuple[OutlineGroup, ...]:
    """The groups for a successful check (none when the check found an error)."""
    report = result.report
    if report is None:
        return ()
    own_count = len(report.parsed.sections)
    routed = _adapter_by_section(report)
    entries = [_entry(s, result.rows_by_section_id, routed) for s in report.sections]
    groups = [OutlineGroup(f"In this document ({own_count} sections)", tuple(entries[:own_count]))]
    if len(entries) > own_count:
        groups.append(OutlineGroup(f"From training.sources ({len(entries) - own_count} files)", tuple(entries[own_count:])))
    return tuple(groups)


def _adapter_by_section(report) -> dict[str, str]:
    shown: dict[str, str] = {}
    for adapter, section_ids in (report.routing or {}).items():
        for section_id in section_ids:
            shown[section_id] = f"{shown[section_id]}, {adapter}" if section_id in shown else adapter
    return shown


def _entry(section: Section, rows: dict[str, int], routed: dict[str, str]) -> OutlineEntry:
    adapter = routed.get(section.section_id) or section.adapter or ""
    return OutlineEntry(
        section.type.value, _preview(section), adapter, rows.get(section.section_id, 0),
        section.start_line, section.section_id,
    )


def _preview(section: Section) -> str:
    content = section.content
    if content.startswith(_SOURCE_PREFIX):
        return content[len(_SOURCE_PREFIX):].split("\n", 1)[0]
    if section.type.is_media:
        return section.media_path or ""
    lines = [line.strip() for line in content.split("\n")]
    if section.type in (SectionType.INSTRUCTION, SectionType.PREFERENCE):
        lines = [line for line in lines if not line.startswith("###") and not line.startswith("<!--")]
    text = next((line for line in lines if line), "(empty)")
    return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"


class OutlineModel(QAbstractItemModel):
    """Read-only tree model; `set_groups` replaces everything (a check result is a new snapshot)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._groups: tuple[OutlineGroup, ...] = ()

    def set_groups(self, groups: tuple[OutlineGroup, ...]) -> None:
        self.beginResetModel()
        self._groups = tuple(groups)
        self.endResetModel()

    def groups(self) -> tuple[OutlineGroup, ...]:
        return self._groups

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
        if role == Qt.ItemDataRole.ToolTipRole:
            where = f"line {entry.line}" if entry.line else "a file pulled in by training.sources"
            return f"{entry.kind} section at {where}, {entry.rows} training rows, id {entry.section_id}"
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (ROWS, LINE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


def _display(entry: OutlineEntry, column: int) -> str:
    if column == SECTION:
        return f"{entry.kind} · {entry.preview}"
    if column == ADAPTER:
        return entry.adapter
    if column == ROWS:
        return str(entry.rows)
    if column == LINE:
        return str(entry.line) if entry.line else "—"
    return entry.section_id
