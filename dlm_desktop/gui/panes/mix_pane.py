"""The training-mix pane: a 0×–4× slider per tag on the document's rows, a live preview, saved to training.yaml.

The document's own weights live in `<document folder>/.dlm/training.yaml` (`weights:`); the pane reads them
when a document is opened and writes them back (debounced, atomically, comments preserved) through the
engine's `write_training_yaml_weights`. The preview expands the rows exactly as training will.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QHBoxLayout, QHeaderView, QLabel, QPushButton, QScrollArea, QStyledItemDelegate, QTableView,
    QVBoxLayout, QWidget,
)

from dlm_desktop.core.document.editing import reset_training_yaml_weights, training_yaml_path, write_training_yaml_weights
from dlm_desktop.core.document.errors import DocumentError
from dlm_desktop.gui.document_check import CheckResult
from dlm_desktop.gui.mix_logic import MixBasis, MixPreview, preview_mix, weights_to_write
from dlm_desktop.gui.models.mix_preview_model import SHARE, SHARE_ROLE, MixPreviewModel
from dlm_desktop.gui.panes.mix_groups import WeightGroups
from dlm_desktop.gui.theme import LIGHT, ThemeColors


class _ShareBarDelegate(QStyledItemDelegate):
    """Draws the token share as a bar behind its percentage."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.colors = LIGHT

    def paint(self, painter: QPainter, option, index) -> None:
        share = float(index.data(SHARE_ROLE) or 0.0)
        rect: QRect = option.rect.adjusted(4, 5, -4, -5)
        painter.save()
        painter.fillRect(rect, QColor(self.colors.alt_base))
        painter.fillRect(QRect(rect.left(), rect.top(), int(rect.width() * share), rect.height()), QColor(self.colors.accent_soft))
        painter.restore()
        super().paint(painter, option, index)


class TrainingMixPane(QWidget):
    """Signals: `weights_saved(path)` after training.yaml was written, `preview_updated(MixPreview)`."""

    weights_saved = Signal(Path)
    preview_updated = Signal(object)

    def __init__(self, save_delay_ms: int = 400, parent=None) -> None:
        super().__init__(parent)
        self._document: Path | None = None
        self._basis: MixBasis | None = None
        self._weights: dict[str, dict[str, float]] = {}
        self._on_disk: dict[str, dict[str, float]] = {}
        self._hand_written: dict[str, dict[str, float]] = {}  # the weights the file had when it was opened
        self._reread_weights = False
        self.preview = MixPreview()
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(save_delay_ms)
        self._save_timer.timeout.connect(self._on_save_timer_timeout)
        self._build()
        self._show_empty("Open a document to weigh its training mix.")

    # ----- layout ---------------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.groups = WeightGroups(self)
        self.groups.weight_changed.connect(self._on_groups_weight_changed)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.groups)
        scroll.setMinimumWidth(380)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QHBoxLayout()
        body.setSpacing(16)
        body.addWidget(scroll, 5)
        body.addWidget(self._build_preview(), 4)
        self.status = QLabel(self)
        self.status.setProperty("role", "muted")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column = QVBoxLayout(self)
        column.setContentsMargins(20, 16, 20, 12)
        column.addLayout(self._build_header())
        column.addSpacing(8)
        column.addLayout(body, 1)
        column.addWidget(self.status)

    def _build_header(self) -> QVBoxLayout:
        title = QLabel("Training mix", self)
        title.setObjectName("PaneTitle")
        intro = QLabel(
            "Each slider multiplies how often the rows with that tag are seen in training: "
            "0× leaves them out, 1× keeps them as written, 2× shows them twice.", self
        )
        intro.setProperty("role", "muted")
        intro.setWordWrap(True)
        self.reset_button = QPushButton("Reset all to 1×", self)
        self.reset_button.clicked.connect(self._on_reset_button_clicked)
        row = QHBoxLayout()
        row.addWidget(title)
        row.addStretch(1)
        row.addWidget(self.reset_button)
        header = QVBoxLayout()
        header.addLayout(row)
        header.addWidget(intro)
        return header

    def _build_preview(self) -> QWidget:
        box = QWidget(self)
        box.setMinimumWidth(340)
        title = QLabel("What training will see", box)
        title.setObjectName("SectionTitle")
        self.totals = QLabel(box)
        self.totals.setWordWrap(True)
        self.preview_error = QLabel(box)
        self.preview_error.setProperty("role", "note")
        self.preview_error.setWordWrap(True)
        self.preview_error.hide()
        self.preview_model = MixPreviewModel(self)
        self.table = QTableView(box)
        self.table.setModel(self.preview_model)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionMode(QTableView.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SHARE, QHeaderView.ResizeMode.Stretch)
        self._bar = _ShareBarDelegate(self.table)
        self.table.setItemDelegateForColumn(SHARE, self._bar)
        estimate = QLabel("Tokens are an estimate (characters ÷ 4); the model's tokenizer decides the real count.", box)
        estimate.setProperty("role", "muted")
        estimate.setWordWrap(True)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        for widget in (title, self.totals, self.preview_error):
            column.addWidget(widget)
        column.addWidget(self.table, 1)
        column.addWidget(estimate)
        return box

    def set_colors(self, colors: ThemeColors) -> None:
        self._bar.colors = colors
        self.table.viewport().update()

    # ----- document updates ---------------------------------------------------------------------------------------

    def show_result(self, result: CheckResult) -> None:
        """A fresh check of the document: new sliders when the tags changed, new counts and preview always."""
        if result.document_path is None:
            self.flush()
            self._document, self._basis = None, None
            self._show_empty("Save the document first: its training mix is kept next to it, in .dlm/training.yaml.")
            return
        if result.document_path != self._document or self._reread_weights:
            self._reread_weights = False
            self.flush()
            self._document = result.document_path
            self._weights = {k: dict(v) for k, v in result.own_weights.items()}
            self._on_disk = {k: dict(v) for k, v in result.own_weights.items()}
            self._hand_written = {k: dict(v) for k, v in result.own_weights.items()}
        basis = result.mix
        if basis is None:
            self.status.setText("The document has an error; the sliders show its last readable version.")
            return
        self._basis = basis
        self.groups.show_tags(basis.tags, self._weights)
        self.reset_button.setEnabled(True)
        self._update_preview()
        if not basis.tags:
            self._show_empty("The document has no training rows yet: write some prose or a ### Q / ### A pair.")
        elif not self._save_timer.isActive():
            self.status.setText(f"The mix is kept in {self.training_yaml()}" if self._on_disk else self._where_text())

    def reread_weights_on_next_result(self) -> None:
        """The user asked for a fresh check (F5): take training.yaml's weights as they are on disk again."""
        self.flush()
        self._reread_weights = True

    def training_yaml(self) -> Path | None:
        return training_yaml_path(self._document.parent) if self._document is not None else None

    def weight_of(self, key: str, value: str) -> float:
        return self._weights.get(key, {}).get(value, 1.0)

    def flush(self) -> None:
        """Write a pending change now (before the document is switched or the window closes)."""
        if self._save_timer.isActive():
            self._save_timer.stop()
            self._write()

    def _show_empty(self, message: str) -> None:
        self.groups.show_tags((), {})
        self.preview = MixPreview()
        self.preview_model.set_preview(self.preview)
        self.totals.setText("")
        self.preview_error.hide()
        self.reset_button.setEnabled(False)
        self.status.setText(message)

    def _where_text(self) -> str:
        return f"Moving a slider saves the mix in {self.training_yaml()}."

    # ----- preview ----------------------------------------------------------------------------------------------------

    def _update_preview(self) -> None:
        if self._basis is None:
            return
        self.preview = preview_mix(self._basis, self._weights)
        self.preview_model.set_preview(self.preview)
        self.preview_error.setText(self.preview.error or "")
        self.preview_error.setVisible(bool(self.preview.error))
        p = self.preview
        self.totals.setText(
            f"{p.rows_before} rows in the document → <b>{p.rows_after} rows in training</b>, "
            f"≈ {p.tokens_after:,} tokens (estimate)"
        )
        self.preview_updated.emit(self.preview)

    @Slot(str, str, float)
    def _on_groups_weight_changed(self, key: str, value: str, weight: float) -> None:
        self._weights.setdefault(key, {})[value] = weight
        self._update_preview()
        self.status.setText("Saving…")
        self._save_timer.start()

    # ----- saving ---------------------------------------------------------------------------------------------------

    @Slot()
    def _on_save_timer_timeout(self) -> None:
        self._write()

    def _write(self) -> None:
        if self._document is None:
            return
        if self.preview.error:
            self.status.setText("Not saved: these weights leave nothing to train on. Raise at least one slider.")
            return
        wanted = weights_to_write(self._hand_written, self._weights)
        target = training_yaml_path(self._document.parent)
        if not wanted and not target.exists():
            self.status.setText(self._where_text())
            return
        try:
            path = write_training_yaml_weights(self._document.parent, wanted)
        except DocumentError as exc:
            self.status.setText(f"Not saved: {exc.message}. {exc.fix}")
            return
        self._on_disk = wanted
        self.status.setText(f"Saved in {path}")
        self.weights_saved.emit(path)

    @Slot()
    def _on_reset_button_clicked(self) -> None:
        self.reset_weights()

    def reset_weights(self) -> None:
        """Every tag back to 1×: the `weights:` block leaves training.yaml (the rest of the file stays)."""
        if self._document is None:
            return
        self._save_timer.stop()
        try:
            reset_training_yaml_weights(self._document.parent)
        except DocumentError as exc:
            self.status.setText(f"Could not reset: {exc.message}. {exc.fix}")
            return
        self._weights, self._on_disk, self._hand_written = {}, {}, {}
        if self._basis is not None:
            self.groups.show_tags(self._basis.tags, self._weights)
        self._update_preview()
        self.status.setText(f"Every tag is back to 1× ({self.training_yaml()} has no weights).")
        self.weights_saved.emit(training_yaml_path(self._document.parent))
