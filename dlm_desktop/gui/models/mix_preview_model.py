"""Table model of the training-mix preview: per tag, rows before and after weighting and the token share."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from dlm_desktop.gui.mix_logic import MixPreview, TagPreview

COLUMNS = ("Tag", "In document", "In training", "≈ Tokens", "Token share")
TAG, ROWS_BEFORE, ROWS_AFTER, TOKENS, SHARE = range(len(COLUMNS))
SHARE_ROLE = Qt.ItemDataRole.UserRole + 1
_HEADER_TIPS = (
    "A tag on the training rows: the kind of section, the adapter, or a tag of the source files",
    "Rows with this tag as the document is written",
    "Rows with this tag after weighting: what one epoch of training sees",
    "An estimate of the training tokens with this tag: characters ÷ 4 (the model's tokenizer decides)",
    "This tag's share of all estimated training tokens",
)


class MixPreviewModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._tags: tuple[TagPreview, ...] = ()

    def set_preview(self, preview: MixPreview) -> None:
        self.beginResetModel()
        self._tags = preview.tags
        self.endResetModel()

    def tag_preview(self, key: str, value: str) -> TagPreview | None:
        return next((t for t in self._tags if t.key == key and t.value == value), None)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self._tags)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        tag = self._tags[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(tag, column)
        if role == SHARE_ROLE:
            return tag.share
        if role == Qt.ItemDataRole.TextAlignmentRole and column != TAG:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == SHARE:
            return f"{tag.share:.1%} of the estimated training tokens carry {tag.key} = {tag.value}"
        return None


def _display(tag: TagPreview, column: int) -> str:
    if column == TAG:
        return f"{tag.key} = {tag.value}"
    if column == ROWS_BEFORE:
        return str(tag.rows_before)
    if column == ROWS_AFTER:
        return str(tag.rows_after)
    if column == TOKENS:
        return f"{tag.tokens_after:,}"
    return f"{tag.share:.0%}"
