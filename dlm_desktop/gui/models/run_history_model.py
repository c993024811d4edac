"""The run-history table of the Train pane: one row per training run of the document (newest first)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor

from dlm_desktop.gui.run_history import RunRow
from dlm_desktop.gui.theme import LIGHT, ThemeColors
from dlm_desktop.gui.train_plan import format_duration

COLUMNS = ("Run", "Adapter", "Started", "Status", "Steps", "Training loss", "Validation loss", "Version", "Took")
STATUS_COLUMN = COLUMNS.index("Status")
STATUS_TEXT = {"ok": "Completed", "cancelled": "Cancelled", "failed": "Failed"}


def _loss(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


class RunHistoryModel(QAbstractTableModel):
    """Rows from `read_store_state(...).runs`. A `running` run is "Running" while this app trains the document
    and "Interrupted" otherwise (the process that trained it is gone)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._runs: tuple[RunRow, ...] = ()
        self._live = False
        self.colors = LIGHT

    def set_runs(self, runs: tuple[RunRow, ...], *, live: bool = False) -> None:
        self.beginResetModel()
        self._runs, self._live = tuple(runs), live
        self.endResetModel()

    def runs(self) -> tuple[RunRow, ...]:
        return self._runs

    def status_text(self, run: RunRow) -> str:
        if run.status == "running":
            return "Running" if self._live else "Interrupted"
        return STATUS_TEXT.get(run.status, run.status.capitalize())

    def set_colors(self, colors: ThemeColors) -> None:
        self.colors = colors
        if self._runs:
            self.dataChanged.emit(self.index(0, STATUS_COLUMN), self.index(len(self._runs) - 1, STATUS_COLUMN))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt override
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        run = self._runs[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cell(run, index.column())
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == STATUS_COLUMN:
            return QColor(self._status_color(run))
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == STATUS_COLUMN and run.status == "running" \
                and not self._live:
            return "This run stopped without saying so (the app was closed or crashed). Resume continues " \
                   "from its last saved step when there is one."
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (0, 4, 5, 6, 7, 8):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _cell(self, run: RunRow, column: int) -> str:
        started = run.started_at.astimezone().strftime("%Y-%m-%d %H:%M") if run.started_at else "—"
        cells = (
            str(run.run_id), run.adapter, started, self.status_text(run), str(run.steps), _loss(run.train_loss),
            _loss(run.val_loss), f"v{run.version:04d}" if run.version and run.status == "ok" else "—",
            format_duration(run.duration_s),
        )
        return cells[column]

    def _status_color(self, run: RunRow) -> str:
        colors = self.colors
        if run.status == "ok":
            return colors.success
        if run.status == "failed" or (run.status == "running" and not self._live):
            return colors.error
        return colors.warning if run.status == "cancelled" else colors.text
