"""The Train pane's building blocks: the plan card (figures, options, buttons) and the live card (progress,
numbers, loss chart, stages, activity). They only display; `TrainPane` decides what they show."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QTextCharFormat
from PySide6.QtWidgets import (
    QFormLayout, QFrame, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget, QListWidgetItem,
    QPlainTextEdit, QProgressBar, QPushButton, QSpinBox, QTableView, QVBoxLayout, QWidget,
)

from dlm_desktop.gui.models.run_history_model import RunHistoryModel
from dlm_desktop.gui.theme import LIGHT, ThemeColors
from dlm_desktop.gui.train_plan import PlanSummary, format_duration, format_params
from dlm_desktop.gui.train_progress import DONE, FAILED, RUNNING, STOPPED, StageView
from dlm_desktop.gui.widgets.loss_chart import LossChart

PLAN_ROWS = ("Base model", "Adapters", "Rows", "Steps", "Batch", "Precision", "Memory", "Time")
MAX_LOG_LINES = 400


def _title(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("SectionTitle")
    return label


def _value_label(parent: QWidget, *, muted: bool = False) -> QLabel:
    label = QLabel("—", parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if muted:
        label.setProperty("role", "muted")
    return label


class PlanCard(QFrame):
    """What the run will do, the two options a user may change, and Start / Resume / Cancel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        column = QVBoxLayout(self)
        column.setContentsMargins(16, 14, 16, 14)
        column.setSpacing(8)
        column.addWidget(_title("Before you start", self))
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(6)
        self.values: dict[str, QLabel] = {}
        for name in PLAN_ROWS:
            self.values[name] = _value_label(self)
            self.values[name].setAccessibleName(name)
            form.addRow(QLabel(name, self), self.values[name])
        column.addLayout(form)
        self.problem = QLabel(self)
        self.problem.setProperty("role", "note")
        self.problem.setWordWrap(True)
        self.problem.hide()
        column.addWidget(self.problem)
        column.addLayout(self._build_options())
        column.addStretch(1)
        column.addLayout(self._build_buttons())

    def _build_options(self) -> QFormLayout:
        self.base_edit = QLineEdit(self)
        self.base_edit.setClearButtonEnabled(True)
        self.base_edit.setAccessibleName("Base model for this run")
        self.base_edit.setToolTip("Train on another base model for this run only: a registry key such as "
                                  "smollm2-360m, hf:org/name, or the path of a model folder. Empty: the "
                                  "document's base_model.")
        self.steps_spin = QSpinBox(self)
        self.steps_spin.setRange(0, 100_000)
        self.steps_spin.setSpecialValueText("By epochs")
        self.steps_spin.setSuffix(" steps")
        self.steps_spin.setAccessibleName("Step limit")
        self.steps_spin.setToolTip("Stop each adapter after this many optimizer steps (a quick trial run). "
                                   "“By epochs” trains the document's num_epochs.")
        options = QFormLayout()
        options.setHorizontalSpacing(14)
        options.addRow(QLabel("Base for this run", self), self.base_edit)
        options.addRow(QLabel("Step limit", self), self.steps_spin)
        return options

    def _build_buttons(self) -> QHBoxLayout:
        self.start_button = QPushButton("Start training", self)
        self.start_button.setObjectName("PrimaryButton")
        self.resume_button = QPushButton("Resume", self)
        self.cancel_button = QPushButton("Cancel", self)
        for button, name in ((self.start_button, "Start training"), (self.resume_button, "Resume training"),
                             (self.cancel_button, "Cancel training")):
            button.setAccessibleName(name)
            button.setAutoDefault(False)
        self.resume_button.hide()
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addWidget(self.resume_button)
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        return row

    def set_colors(self, colors: ThemeColors) -> None:
        """The option fields framed like the app's other inputs (the card's background is the input colour)."""
        self.setStyleSheet(
            f"QLineEdit, QSpinBox {{ background: {colors.window}; color: {colors.text}; border: 1px solid "
            f"{colors.border}; border-radius: 5px; padding: 2px 6px; min-height: 22px; }}"
            f"QLineEdit:focus, QSpinBox:focus {{ border-color: {colors.accent}; }}"
            f"QLineEdit:disabled, QSpinBox:disabled {{ color: {colors.muted}; }}"
        )

    def set_primary(self, button: QPushButton) -> None:
        """Only one accent button: Resume when an interrupted run waits, else Start."""
        for candidate in (self.start_button, self.resume_button):
            wanted = "PrimaryButton" if candidate is button else ""
            if candidate.objectName() != wanted:
                candidate.setObjectName(wanted)
                candidate.style().unpolish(candidate)
                candidate.style().polish(candidate)

    def show_state(self, *, ready: bool, running: bool, cancelling: bool, resumable: bool) -> None:
        """Enable what can be done now; with an interrupted run, Resume is the primary action."""
        self.start_button.setEnabled(ready and not running)
        self.resume_button.setVisible(resumable)
        self.resume_button.setEnabled(resumable and not running)
        self.cancel_button.setEnabled(running and not cancelling)
        self.cancel_button.setText("Cancelling…" if cancelling else "Cancel")
        self.base_edit.setEnabled(not running)
        self.steps_spin.setEnabled(not running)
        self.start_button.setText("Start over" if resumable else "Start training")
        self.set_primary(self.resume_button if resumable else self.start_button)
        if not ready:
            self.start_button.setToolTip("Open a document without errors to train it.")
        elif resumable:
            self.start_button.setToolTip("Train from the beginning; the interrupted run's saved progress is discarded.")
        else:
            self.start_button.setToolTip("Fine-tune the base model on this document (Ctrl+Enter).")
        self.resume_button.setToolTip("Continue the interrupted run exactly where it stopped (Ctrl+Enter).")
        self.cancel_button.setToolTip("Stop after the current step and save the progress (Esc).")

    def show_plan(self, summary: PlanSummary | None, waiting_text: str = "—") -> None:
        if summary is None:
            for label in self.values.values():
                label.setText(waiting_text if label is self.values["Base model"] else "—")
            self.problem.hide()
            return
        for name, text in plan_texts(summary).items():
            self.values[name].setText(text)
        self.problem.setText(f"⚠ {summary.problem}" if summary.problem else "")
        self.problem.setVisible(bool(summary.problem))


def plan_texts(s: PlanSummary) -> dict[str, str]:
    """The plan card's values for `s` (one sentence each)."""
    params = format_params(s.base_params)
    adapters = ", ".join(a.name for a in s.adapters) if len(s.adapters) > 1 else "one (default)"
    train = sum(a.train_rows for a in s.adapters)
    val = sum(a.val_rows for a in s.adapters)
    limit = f"at most {s.max_steps} per adapter" if s.max_steps else f"{s.epochs} epoch{'s' * (s.epochs != 1)}"
    steps = f"{s.total_steps} ({limit})" + (f", then the gate: {s.gate_steps}" if s.gate_steps else "")
    plan = s.plan
    return {
        "Base model": f"{s.base} · {params}" if params else s.base,
        "Adapters": adapters + (" + a learned gate" if s.gate_steps else ""),
        "Rows": f"{train} for training, {val} for validation · ≈ {s.total_tokens:,} tokens",
        "Steps": steps,
        "Batch": "waiting for the hardware check…" if plan is None else _batch_text(plan, s),
        "Precision": "—" if plan is None else f"{plan.precision} on {plan.backend.value.upper()}",
        "Memory": "—" if plan is None else _memory_text(plan),
        "Time": "—" if s.est_seconds is None else f"≈ {format_duration(s.est_seconds)} ({s.speed_source})",
    }


def _batch_text(plan: Any, summary: Any) -> str:
    """Rows per optimizer step; a document smaller than one batch says that every step sees all its rows."""
    most = max((a.train_rows for a in summary.adapters), default=0)
    tail = f" · up to {summary.seq_len} tokens a row"
    if 0 < most < plan.effective_batch_size:
        return f"all {most} rows in every step (room for {plan.effective_batch_size})" + tail
    return f"{plan.micro_batch_size} × {plan.grad_accum} = {plan.effective_batch_size} rows per step" + tail


def _memory_text(plan) -> str:
    budget = f" of {plan.memory_budget_gb:.1f} GB available" if plan.memory_budget_gb else ""
    return f"≈ {plan.est_peak_memory_gb:.1f} GB{budget}"


class LiveCard(QFrame):
    """The running (or last) run: status, progress bar, numbers, the loss chart, stages and activity."""

    METRICS = ("Loss", "Validation loss", "Tokens/s", "Time left", "Elapsed")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.colors = LIGHT
        column = QVBoxLayout(self)
        column.setContentsMargins(16, 14, 16, 14)
        column.setSpacing(8)
        self.status = QLabel("Not started", self)
        self.status.setObjectName("SectionTitle")
        self.status.setAccessibleName("Training status")
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Training progress")
        self.progress.setFixedHeight(8)
        column.addWidget(self.status)
        column.addWidget(self.progress)
        column.addLayout(self._build_numbers())
        self.chart = LossChart(self)
        column.addWidget(self.chart, 1)
        column.addLayout(self._build_lists())

    def _build_numbers(self) -> QGridLayout:
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(0)
        self.numbers: dict[str, QLabel] = {}
        for index, name in enumerate(self.METRICS):
            caption = QLabel(name, self)
            caption.setProperty("role", "muted")
            value = QLabel("—", self)
            value.setObjectName("SectionTitle")
            value.setAccessibleName(name)
            grid.addWidget(caption, 0, index)
            grid.addWidget(value, 1, index)
            self.numbers[name] = value
        grid.setColumnStretch(len(self.METRICS), 1)
        return grid

    def _build_lists(self) -> QHBoxLayout:
        self.stages = QListWidget(self)
        self.stages.setAccessibleName("Training stages")
        self.stages.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.stages.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stages.setMaximumHeight(110)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(MAX_LOG_LINES)
        self.log.setAccessibleName("Training activity")
        self.log.setPlaceholderText("What the trainer is doing appears here.")
        self.log.setMaximumHeight(110)
        row = QHBoxLayout()
        row.addWidget(self.stages, 2)
        row.addWidget(self.log, 3)
        return row

    def set_colors(self, colors: ThemeColors) -> None:
        self.colors = colors
        self.chart.set_colors(colors)
        self.progress.setStyleSheet(
            f"QProgressBar {{ background: {colors.alt_base}; border: none; border-radius: 4px; }}"
            f"QProgressBar::chunk {{ background: {colors.accent}; border-radius: 4px; }}"
        )

    def set_fraction(self, fraction: float | None) -> None:
        """A share of the run, or a busy bar (None) while nothing can be measured."""
        if fraction is None:
            self.progress.setRange(0, 0)
            return
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(round(fraction * 1000)))

    def show_stages(self, stages: list[StageView]) -> None:
        while self.stages.count() < len(stages):
            self.stages.addItem(QListWidgetItem())
        while self.stages.count() > len(stages):
            self.stages.takeItem(self.stages.count() - 1)
        marks = {DONE: "✓", RUNNING: "▶", STOPPED: "❚❚", FAILED: "✕"}
        tints = {DONE: self.colors.success, RUNNING: self.colors.accent, STOPPED: self.colors.warning,
                 FAILED: self.colors.error}
        for index, stage in enumerate(stages):
            item = self.stages.item(index)
            item.setText(f"{marks.get(stage.state, '○')}  {stage.title()} — {stage.detail()}")
            item.setForeground(QColor(tints.get(stage.state, self.colors.muted)))

    def add_log(self, level: str, text: str) -> None:
        tint = {"warning": self.colors.warning, "success": self.colors.success, "error": self.colors.error}
        fmt = QTextCharFormat()
        fmt.setForeground(QColor(tint.get(level, self.colors.text)))
        cursor = self.log.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        if not self.log.document().isEmpty():
            cursor.insertBlock()
        cursor.insertText(("⚠ " if level == "warning" else "") + text, fmt)
        self.log.verticalScrollBar().setValue(self.log.verticalScrollBar().maximum())

    def reset(self, status: str) -> None:
        self.status.setText(status)
        self.set_fraction(0.0)
        for value in self.numbers.values():
            value.setText("—")


class HistoryCard(QWidget):
    """Every training run of the document, newest first, with the current versions and the store's folder."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = _title("Run history", self)
        self.note = QLabel(self)
        self.note.setProperty("role", "muted")
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = RunHistoryModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName("Run history")
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the adapter's name
        heading = QHBoxLayout()
        heading.addWidget(title)
        heading.addWidget(self.note, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 8, 0, 0)
        column.addLayout(heading)
        column.addWidget(self.table, 1)
