"""The result of an export as the Export pane shows it: where the files are and how large, whether the
exported model behaves like the app's model (the parity verdict), and how to run it in Ollama.

Every command is shown in a read-only field with its own Copy button; when Ollama is not installed (or
`ollama create` failed) the exact command to add the model later is shown as well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView, QFrame, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from dlm_desktop.gui.export_logic import ParityVerdict, artifact_files, human_size, parity_verdict, run_command
from dlm_desktop.gui.theme import LIGHT, ThemeColors

COPIED_FEEDBACK_MS = 1500


class CommandField(QWidget):
    """A shell command in a read-only monospace field, with a Copy button. Signal: `copied(text)`."""

    copied = Signal(str)

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = QLineEdit(self)
        self.field.setReadOnly(True)
        self.field.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.field.setAccessibleName(accessible_name)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setToolTip(f"Copy the command to the clipboard ({accessible_name.lower()})")
        self.copy_button.setAccessibleName(f"Copy {accessible_name.lower()}")
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        self._reset = QTimer(self)
        self._reset.setSingleShot(True)
        self._reset.setInterval(COPIED_FEEDBACK_MS)
        self._reset.timeout.connect(self._on_reset_timeout)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.field, 1)
        row.addWidget(self.copy_button)

    def set_command(self, command: str) -> None:
        self.field.setText(command)
        self.field.setCursorPosition(0)

    def command(self) -> str:
        return self.field.text()

    @Slot()
    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.field.text())
        self.copy_button.setText("Copied ✓")
        self._reset.start()
        self.copied.emit(self.field.text())

    @Slot()
    def _on_reset_timeout(self) -> None:
        self.copy_button.setText("Copy")


class ExportResultView(QFrame):
    """One published export. Signal: `folder_opened(Path)` when the user opened the export folder."""

    folder_opened = Signal(Path)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self._colors = LIGHT
        self._verdict: ParityVerdict | None = None
        self.out_dir: Path | None = None
        self.title = QLabel(self)
        self.title.setObjectName("SectionTitle")
        self.folder = QLabel(self)
        self.folder.setProperty("role", "muted")
        self.folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder.setWordWrap(True)
        self.open_button = QPushButton("Open folder", self)
        self.open_button.setToolTip("Show the exported files in your file manager")
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.files = self._build_files_table()
        self.verdict = QLabel(self)
        self.verdict.setObjectName("ParityVerdict")
        self.verdict.setAccessibleName("Parity verdict")
        self.verdict_details = _wrapped_label(self, muted=True)
        self.ollama_message = _wrapped_label(self)
        self.create_label = QLabel("Add it to Ollama later with:", self)
        self.create_command = CommandField("Command to add the model to Ollama", self)
        self.run_command = CommandField("Command to run the model", self)
        self._lay_out()

    def _build_files_table(self) -> QTableWidget:
        table = QTableWidget(0, 3, self)
        table.setHorizontalHeaderLabels(["File", "Size", "What"])
        table.setAccessibleName("Exported files")
        table.verticalHeader().hide()
        table.setShowGrid(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        header = table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        return table

    def _lay_out(self) -> None:
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.open_button)
        commands = QGridLayout()
        commands.setColumnStretch(1, 1)
        commands.addWidget(self.create_label, 0, 0)
        commands.addWidget(self.create_command, 0, 1)
        commands.addWidget(QLabel("Run it with:", self), 1, 0)
        commands.addWidget(self.run_command, 1, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(16, 14, 16, 14)
        column.setSpacing(8)
        column.addLayout(head)
        column.addWidget(self.folder)
        column.addWidget(self.files)
        column.addWidget(self.verdict)
        column.addWidget(self.verdict_details)
        column.addWidget(self.ollama_message)
        column.addLayout(commands)

    # ----- content ------------------------------------------------------------------------------------------------

    def show_result(self, result: Any) -> None:
        """Fill the view from an `ExportResult`."""
        self.out_dir = result.out_dir
        outcome = result.ollama
        created = outcome is not None and outcome.status == "created"
        self.title.setText(f"Exported {result.ollama_name}" + (" and added it to Ollama" if created else ""))
        self.folder.setText(f"In {result.out_dir} · {result.quant}" + _mix_text(result))
        self._fill_files(artifact_files(result))
        self._verdict = parity_verdict(result.parity)
        self.verdict.setText(self._verdict.headline)
        self.verdict_details.setText(self._verdict.details)
        self._paint_verdict()
        self.ollama_message.setText(_ollama_text(result))
        later = not created
        self.create_label.setVisible(later)
        self.create_command.setVisible(later)
        self.create_command.set_command(outcome.command if outcome is not None else
                                        f"cd {result.out_dir} && ollama create {result.ollama_name} -f Modelfile")
        self.run_command.set_command(run_command(result.ollama_name))

    def _fill_files(self, rows: list[tuple[str, Path, int]]) -> None:
        self.files.setRowCount(len(rows))
        for row, (what, path, size) in enumerate(rows):
            for column, text in enumerate((path.name, human_size(size), what)):
                item = QTableWidgetItem(text)
                item.setToolTip(str(path))
                if column == 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.files.setItem(row, column, item)
        height = self.files.horizontalHeader().height() + sum(self.files.rowHeight(r) for r in range(len(rows)))
        self.files.setFixedHeight(height + 4)

    def file_rows(self) -> list[tuple[str, str, str]]:
        """`(file name, size, what)` as shown (for tests and screen readers)."""
        return [tuple(self.files.item(row, column).text() for column in range(3))  # type: ignore[misc]
                for row in range(self.files.rowCount())]

    def verdict_level(self) -> str:
        return self._verdict.level if self._verdict is not None else ""

    def set_colors(self, colors: ThemeColors) -> None:
        self._colors = colors
        self._paint_verdict()

    def _paint_verdict(self) -> None:
        if self._verdict is None:
            return
        c = self._colors
        color, background = {"success": (c.success, c.success_soft), "error": (c.error, c.error_soft)}.get(
            self._verdict.level, (c.warning, c.warning_soft))
        mark = {"success": "✓", "error": "✗"}.get(self._verdict.level, "!")
        self.verdict.setText(f"{mark}  {self._verdict.headline}")
        self.verdict.setStyleSheet(f"QLabel#ParityVerdict {{ color: {color}; background: {background}; "
                                   "border-radius: 6px; padding: 6px 10px; font-weight: 600; }")

    @Slot()
    def _on_open_button_clicked(self) -> None:
        if self.out_dir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.out_dir)))
            self.folder_opened.emit(self.out_dir)


def _wrapped_label(parent: QWidget, *, muted: bool = False) -> QLabel:
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if muted:
        label.setProperty("role", "muted")
    return label


def _mix_text(result: Any) -> str:
    selection = result.selection
    if len(selection.adapters) < 2:
        return ""
    mix = ", ".join(f"{name} {weight:.2f}" for name, weight in selection.mix)
    return f" · adapters mixed ({selection.gate_mode}): {mix}"


def _ollama_text(result: Any) -> str:
    outcome = result.ollama
    if outcome is None:
        return "Ollama was not asked to add the model."
    if outcome.status == "created":
        return f"Ollama now knows this model as {outcome.name}."
    if outcome.status == "skipped" and outcome.version == "":
        return ("Ollama is not installed on this computer. The files are ready: install Ollama from "
                "ollama.com, then run the command below in a terminal.")
    return outcome.message
