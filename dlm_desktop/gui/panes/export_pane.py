"""The Export pane: one button, "Export to Ollama", that turns the trained document into GGUF files and an
Ollama Modelfile beside the document, checks the exported model against the app's own, and says how to run it.

The export is the core's `run_export` generator, drained on a worker thread by `EventJobRunner`; its events
arrive here in batches (stage names, a progress bar, a details log). Cancel sets the job's stop flag; the core
then discards its staging folder, so a stopped or failed export never leaves a partial file. A failure is
shown as the core's message and fix, and the pane is ready for the next try.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton, QScrollArea, QStackedWidget,
    QVBoxLayout, QWidget,
)

from dlm_desktop.core.errors import DlmDesktopError
from dlm_desktop.gui.document_check import CheckResult
from dlm_desktop.gui.export_logic import ExportTarget, build_request, export_target, ollama_installed, stage_name
from dlm_desktop.gui.panes.export_form import ExportForm
from dlm_desktop.gui.panes.export_result import ExportResultView
from dlm_desktop.gui.theme import LIGHT, ThemeColors, themed_icon
from dlm_desktop.gui.widgets.message_banner import ERROR, INFO, WARNING, MessageBanner
from dlm_desktop.gui.widgets.placeholders import PendingPane
from dlm_desktop.gui.workers import EventJobRunner

EMPTY_PAGE, READY_PAGE = range(2)


class ExportPane(QWidget):
    """Signals: `export_started(ExportRequest)`, `stage_changed(str)` (a core stage such as `convert-base`),
    `export_finished(ExportResult)`, `export_failed(str)` (the readable message), `export_cancelled()`,
    `train_requested()` (the user wants the Train tab: there is nothing to export yet)."""

    export_started = Signal(object)
    stage_changed = Signal(str)
    export_finished = Signal(object)
    export_failed = Signal(str)
    export_cancelled = Signal()
    train_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, home: Path | None = None, parity: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("ExportPane")
        self._home = home
        self._parity = parity
        self._document: Path | None = None
        self._frontmatter = None
        self._target: ExportTarget | None = None
        self._stage = ""
        self._colors = LIGHT
        self.result = None
        self.runner = EventJobRunner("export", self)
        self.runner.events_arrived.connect(self._on_runner_events_arrived)
        self.runner.job_succeeded.connect(self._on_runner_job_succeeded)
        self.runner.job_failed.connect(self._on_runner_job_failed)
        self.runner.job_finished.connect(self._on_runner_job_finished)
        self._build()
        self._refresh()

    # ----- layout ---------------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.empty = PendingPane("", "", self)
        self.train_button = QPushButton("Go to Train", self.empty)
        self.train_button.setObjectName("PrimaryButton")
        self.train_button.setToolTip("Open the Train tab to train this document")
        self.train_button.clicked.connect(self.train_requested)
        self.empty.layout().insertWidget(self.empty.layout().count() - 1, self.train_button, 0,
                                         Qt.AlignmentFlag.AlignHCenter)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self._build_ready_page())
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.stack)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.start_export,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Escape"), self, self.cancel, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def _build_ready_page(self) -> QScrollArea:
        title = QLabel("Export to Ollama", self)
        title.setObjectName("PaneTitle")
        intro = QLabel("Makes a GGUF model and an Ollama Modelfile from your trained document, then checks that "
                       "the exported model answers like the one in this app.", self)
        intro.setProperty("role", "muted")
        intro.setWordWrap(True)
        self.banner = MessageBanner(self)
        self.result_view = ExportResultView(self)
        self.result_view.hide()
        page = QWidget(self)
        column = QVBoxLayout(page)
        column.setContentsMargins(20, 16, 20, 16)
        column.setSpacing(12)
        for widget in (title, intro, self.banner, self._build_settings_card(), self._build_progress(),
                       self.result_view):
            column.addWidget(widget)
        column.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(page)
        return scroll

    def _build_settings_card(self) -> QFrame:
        card = QFrame(self)
        card.setObjectName("Card")
        self.form = ExportForm(card)
        self.form.validity_changed.connect(self._on_form_validity_changed)
        self.ollama_hint = QLabel(card)
        self.ollama_hint.setProperty("role", "muted")
        self.ollama_hint.setWordWrap(True)
        self.export_button = QPushButton("Export to Ollama", card)
        self.export_button.setObjectName("PrimaryButton")
        self.export_button.setToolTip("Write the GGUF files and the Modelfile, check them, and add the model to "
                                      "Ollama (Ctrl+Enter)")
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.cancel_button = QPushButton("Cancel", card)
        self.cancel_button.setToolTip("Stop the export; nothing is written (Esc)")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.ollama_hint, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.export_button)
        column = QVBoxLayout(card)
        column.setContentsMargins(16, 14, 16, 14)
        column.addWidget(self.form)
        column.addLayout(buttons)
        return card

    def _build_progress(self) -> QFrame:
        self.progress_box = QFrame(self)
        self.progress_box.setObjectName("Card")
        self.stage_label = QLabel(self.progress_box)
        self.stage_label.setObjectName("SectionTitle")
        self.stage_label.setAccessibleName("Export stage")
        self.progress_bar = QProgressBar(self.progress_box)
        self.progress_bar.setAccessibleName("Export progress")
        self.progress_message = QLabel(self.progress_box)
        self.progress_message.setProperty("role", "muted")
        self.progress_message.setWordWrap(True)
        self.details_button = QPushButton("Show details", self.progress_box)
        self.details_button.setObjectName("LinkButton")
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._on_details_button_toggled)
        self.log = QPlainTextEdit(self.progress_box)
        self.log.setReadOnly(True)
        self.log.setAccessibleName("Export log")
        self.log.setMaximumBlockCount(2000)
        self.log.setMinimumHeight(140)
        self.log.hide()
        column = QVBoxLayout(self.progress_box)
        column.setContentsMargins(16, 12, 16, 12)
        for widget in (self.stage_label, self.progress_bar, self.progress_message):
            column.addWidget(widget)
        column.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.log)
        self.progress_box.hide()
        return self.progress_box

    def set_colors(self, colors: ThemeColors) -> None:
        self._colors = colors
        # Text fields sit on cards of the base colour: give them the window colour and a border to stand out.
        self.setStyleSheet(f"QLineEdit {{ background: {colors.window}; color: {colors.text}; border: 1px solid "
                           f"{colors.border}; border-radius: 5px; padding: 3px 6px; }} "
                           f"QLineEdit:focus {{ border-color: {colors.accent}; }}")
        self.result_view.set_colors(colors)
        self.empty.set_icon(themed_icon("export", colors.muted, 112))

    # ----- document ---------------------------------------------------------------------------------------------

    def show_result(self, result: CheckResult) -> None:
        """A new check of the open document (MainWindow's `document_checked`)."""
        if result.report is None and result.document_path == self._document:
            return  # a typing error: keep exporting the last readable version
        if result.document_path != self._document and not self.runner.is_running():
            self.result_view.hide()  # another document: the last export's result is not about it
            self.banner.dismiss()
        self._document = result.document_path
        self._frontmatter = result.report.frontmatter if result.report is not None else None
        self._refresh()

    def adapters_changed(self, *_args) -> None:
        """The store changed (a training run finished): look for trained adapters again."""
        self._refresh()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Look again whenever the tab is shown: the document may have been trained meanwhile (even by the CLI)."""
        super().showEvent(event)
        self._refresh()

    def _refresh(self) -> None:
        if self.runner.is_running():
            return  # the running export keeps its page; `_on_runner_job_finished` looks again
        self._target = export_target(self._document, self._frontmatter, self._home)
        target = self._target
        if target is None or not target.has_adapter:
            self._show_empty(target)
            return
        self.stack.setCurrentIndex(READY_PAGE)
        self.form.set_target(target)
        self.ollama_hint.setText("" if ollama_installed() else
                                 "Ollama was not found on this computer: the export gives you the command to "
                                 "add the model once it is installed.")
        self._update_buttons()

    def _show_empty(self, target: ExportTarget | None) -> None:
        self.form.set_target(None)
        if self._document is None:
            title, body = "Open a saved document to export it", "Exports are written beside the document."
        elif target is None:
            title, body = "Fix the document's errors to export it", "The Document tab lists what is wrong."
        elif target.problem:
            title, body = "This document's trained adapters cannot be read", target.problem
        else:
            title, body = ("Train this document first", "There is no trained adapter to export yet. Train it "
                           "in the Train tab; the export then makes a GGUF model and an Ollama Modelfile.")
        self.train_button.setVisible(target is not None and not target.problem and not target.has_adapter)
        self.empty.title.setText(title)
        self.empty.body.setText(body)
        self.stack.setCurrentIndex(EMPTY_PAGE)
        self._update_buttons()

    def is_ready(self) -> bool:
        """A document with a trained adapter is open and the settings are valid."""
        return self.stack.currentIndex() == READY_PAGE and self.form.is_valid()

    def empty_title(self) -> str:
        return self.empty.title.text() if self.stack.currentIndex() == EMPTY_PAGE else ""

    # ----- the job ----------------------------------------------------------------------------------------------

    def start_export(self) -> bool:
        """Start exporting with the form's settings; False (with the reason shown) when it cannot start."""
        if self.runner.is_running() or self._target is None or not self._target.has_adapter:
            return False
        problem = self.form.problem()
        if problem:
            self.banner.show_message(ERROR, "The export cannot start", problem)
            return False
        from dlm_desktop.core.export.run import run_export

        request = build_request(self._target, quant=self.form.quant(), name=self.form.model_name(),
                                out_dir=self.form.destination(), choice=self.form.mix_choice(), parity=self._parity)
        if not self.runner.start(lambda should_stop: run_export(request, should_stop=should_stop)):
            return False
        self._begin_progress()
        self.export_started.emit(request)
        return True

    def cancel(self) -> None:
        """Stop the running export at its next check; nothing is published."""
        if self.runner.is_running() and not self.runner.is_cancelling():
            self.runner.cancel()
            self.cancel_button.setEnabled(False)
            self.progress_message.setText("Stopping…")

    def is_running(self) -> bool:
        return self.runner.is_running()

    def shutdown(self) -> None:
        """Stop a running export and join its thread (the window is closing)."""
        self.runner.shutdown()

    def _begin_progress(self) -> None:
        self.banner.dismiss()
        self.result_view.hide()
        self.result = None
        self._stage = ""
        self.log.clear()
        self.stage_label.setText("Starting…")
        self.progress_bar.setRange(0, 0)
        self.progress_message.setText("")
        self.progress_box.show()
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.runner.is_running()
        self.form.setEnabled(not running)
        self.export_button.setEnabled(not running and self.is_ready())
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running and not self.runner.is_cancelling())

    # ----- slots ----------------------------------------------------------------------------------------------------

    @Slot()
    def _on_export_button_clicked(self) -> None:
        self.start_export()

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        self.cancel()

    @Slot(bool)
    def _on_form_validity_changed(self, _valid: bool) -> None:
        self._update_buttons()

    @Slot(bool)
    def _on_details_button_toggled(self, shown: bool) -> None:
        self.log.setVisible(shown)
        self.details_button.setText("Hide details" if shown else "Show details")

    @Slot(list)
    def _on_runner_events_arrived(self, events: list) -> None:
        from dlm_desktop.core.export.events import ExportLog, ExportNotice, ExportProgress

        for event in events:
            if isinstance(event, ExportProgress):
                self._show_progress(event)
            elif isinstance(event, ExportLog):
                self.log.appendPlainText(f"[{event.stage}] {event.line}")
            elif isinstance(event, ExportNotice):
                self.log.appendPlainText(event.message)

    def _show_progress(self, event) -> None:
        if event.stage != self._stage:
            self._stage = event.stage
            self.stage_label.setText(stage_name(event.stage))
            self.log.appendPlainText(f"— {stage_name(event.stage)}")
            self.stage_changed.emit(event.stage)
        if not self.runner.is_cancelling():
            self.progress_message.setText(event.message)
        if event.total:
            self.progress_bar.setRange(0, event.total)
            self.progress_bar.setValue(event.done)
        else:
            self.progress_bar.setRange(0, 0)

    @Slot(object)
    def _on_runner_job_succeeded(self, result) -> None:
        self.result = result
        self.progress_box.hide()
        self.result_view.show_result(result)
        self.result_view.set_colors(self._colors)
        self.result_view.show()
        notices = " ".join(result.notices)
        if notices:
            self.banner.show_message(INFO, "Exported", notices)
        self.export_finished.emit(result)

    @Slot(object)
    def _on_runner_job_failed(self, error: BaseException) -> None:
        from dlm_desktop.core.export.errors import ExportCancelled

        self.progress_box.hide()
        if isinstance(error, ExportCancelled):
            self.banner.show_message(WARNING, "Export stopped", "Nothing was written to the destination folder.")
            self.export_cancelled.emit()
            return
        message, fix = _readable(error)
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self.banner.show_message(ERROR, "The export failed", f"{message} {fix}".strip(), details=details,
                                 actions=[("Try again", self.start_export)])
        self.export_failed.emit(message)

    @Slot()
    def _on_runner_job_finished(self) -> None:
        self._refresh()
        self._update_buttons()


def _readable(error: BaseException) -> tuple[str, str]:
    """`(message, fix)` for the user: the engine's own words, or a plain sentence for anything unexpected."""
    if isinstance(error, DlmDesktopError):
        message = error.message[:1].upper() + error.message[1:]
        fix = f"{error.fix[:1].upper()}{error.fix[1:]}".rstrip(".") + "." if error.fix else ""
        return message.rstrip(".") + ".", fix
    if isinstance(error, OSError):
        return f"A file could not be written or read: {error}.", "Check the destination folder and the free disk space."
    return f"Something unexpected went wrong ({type(error).__name__}: {error}).", "Please report this with the details."
