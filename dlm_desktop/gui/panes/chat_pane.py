"""The chat pane: one question answered by the base model and by the fine-tuned model side by side, streamed
from one batched generation on ONE loaded copy of the weights, with the adapter weights of the answer, λ,
the "did it learn?" panel, and a "train first" page while the document has no trained adapter.

Both jobs (`prompt_document`, `probe_document`) run one at a time on one `EventJobRunner` and share one
`InferenceSession` per document, so the model loads once and the second question is fast. Tokens arrive in
batches (~20 Hz) and are appended per batch. A new document or new adapters drop the old answers; a job
still running for the old document is cancelled and its result ignored.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QPushButton, QScrollArea, QSplitter, QStackedWidget, QVBoxLayout, QWidget,
)

from dlm_desktop.core.inference.chat import ChatRouted
from dlm_desktop.core.inference.generation import TokenEvent
from dlm_desktop.core.inference.probes import ProbeProgress
from dlm_desktop.core.inference.session import InferenceNotice, InferenceSession, InferenceStatus
from dlm_desktop.core.models.events import ModelProgress
from dlm_desktop.gui.chat_logic import (
    UNTRAINED, ChatAvailability, chat_availability, chat_job, describe_failure, probe_job, rich_text,
    route_choices, session_placement,
)
from dlm_desktop.gui.panes.chat_parts import ChatControls, QuestionBox, StatusLine, TrainFirstPage, rich_label
from dlm_desktop.gui.panes.probe_panel import ProbePanel
from dlm_desktop.gui.theme import ThemeColors, themed_icon
from dlm_desktop.gui.widgets.answer_view import AnswerView
from dlm_desktop.gui.widgets.message_banner import ERROR, MessageBanner
from dlm_desktop.gui.workers.event_jobs import EventJobRunner

PAGE_EMPTY, PAGE_CHAT = 0, 1
CHAT, PROBE = "chat", "probe"


class ChatPane(QWidget):
    """Signals: `train_requested` (show the Train tab), `answer_finished(ChatResult)`,
    `check_finished(ProbeReport)`, `failure_shown(str)` (the message of a failed job)."""

    train_requested = Signal()
    answer_finished = Signal(object)
    check_finished = Signal(object)
    failure_shown = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, home: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatPane")
        self._home = home
        self._document_path: Path | None = None
        self._availability: ChatAvailability = chat_availability(None)
        self._last_result = None
        self._placement = ("cpu", "float32")
        self.session = InferenceSession(device=self._placement[0], dtype=self._placement[1])
        self._retired: list[InferenceSession] = []  # sessions of an old document, closed once the job ends
        self._job: str | None = None
        self._job_stale = False
        self._adapters_pending = False
        self.runner = EventJobRunner("chat", self)
        self._build()
        self._connect()
        self._apply_availability(self._availability)

    # ----- layout ---------------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.banner = MessageBanner(self)
        self.empty_page = TrainFirstPage(self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty_page)
        self.stack.addWidget(self._build_chat_page())
        column = QVBoxLayout(self)
        column.setContentsMargins(20, 12, 20, 12)
        column.addWidget(self.banner)
        column.addWidget(self.stack, 1)

    def _build_chat_page(self) -> QWidget:
        """The chat column | the "did it learn?" panel."""
        page = QWidget(self)
        self.probe_panel = ProbePanel(page)
        scroll = QScrollArea(page)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.probe_panel)
        scroll.setMinimumWidth(300)
        splitter = QSplitter(Qt.Orientation.Horizontal, page)
        splitter.addWidget(self._build_chat_column(page))
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([880, 340])
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        return page

    def _build_chat_column(self, page: QWidget) -> QWidget:
        """Knobs and system prompt, base | fine-tuned answers, status, question."""
        self.controls = ChatControls(page)
        self.system_prompt = rich_label(page, muted=True)
        self.system_prompt.setAccessibleName("System prompt")
        self.asked = rich_label(page)
        self.asked.setAccessibleName("Question asked")
        self.base_view = AnswerView("Base model", "Before training: the model your document starts from.",
                                    with_gate=False, parent=page)
        self.finetuned_view = AnswerView("Fine-tuned", "After training on your document.", with_gate=True,
                                         parent=page)
        answers = QHBoxLayout()
        answers.setSpacing(12)
        answers.addWidget(self.base_view, 1)
        answers.addWidget(self.finetuned_view, 1)
        column_widget = QWidget(page)
        column = QVBoxLayout(column_widget)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(self._build_header())
        column.addWidget(self.controls)
        column.addWidget(self.system_prompt)
        column.addWidget(self.asked)
        column.addLayout(answers, 1)
        self.status_line = StatusLine(page)
        self.status, self.progress = self.status_line.label, self.status_line.progress
        column.addWidget(self.status_line)
        column.addLayout(self._build_question_row())
        return column_widget

    def _build_header(self) -> QHBoxLayout:
        title = QLabel("Chat", self)
        title.setObjectName("PaneTitle")
        self.document_label = QLabel(self)
        self.document_label.setProperty("role", "muted")
        row = QHBoxLayout()
        row.addWidget(title)
        row.addWidget(self.document_label, 1)
        return row

    def _build_question_row(self) -> QHBoxLayout:
        self.question_box = QuestionBox(self)
        self.ask_button = QPushButton("Ask", self)
        self.ask_button.setObjectName("PrimaryButton")
        self.ask_button.setToolTip("Ask both models (Ctrl+Return)")
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setToolTip("Stop the answer or the check (Esc)")
        buttons = QVBoxLayout()
        buttons.addWidget(self.ask_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.question_box, 1)
        row.addLayout(buttons)
        return row

    def _connect(self) -> None:
        self.runner.events_arrived.connect(self._on_runner_events_arrived)
        self.runner.job_succeeded.connect(self._on_runner_job_succeeded)
        self.runner.job_failed.connect(self._on_runner_job_failed)
        self.runner.job_finished.connect(self._on_runner_job_finished)
        self.question_box.submitted.connect(self.ask)
        self.question_box.stop_requested.connect(self.stop)
        self.ask_button.clicked.connect(self.ask)
        self.stop_button.clicked.connect(self.stop)
        self.probe_panel.check_requested.connect(self.run_check)
        self.controls.strength_changed.connect(self.probe_panel.curve.set_marker)
        self.empty_page.train_requested.connect(self.train_requested)
        pane_only = Qt.ShortcutContext.WidgetWithChildrenShortcut  # the other panes bind the same keys
        for keys, slot in (("Ctrl+Return", self.ask), ("Ctrl+Enter", self.ask), ("Esc", self.stop)):
            QShortcut(QKeySequence(keys), self, slot, context=pane_only)
        self.probe_panel.curve.set_marker(self.controls.strength_value())

    # ----- public API -----------------------------------------------------------------------------------------------

    @property
    def availability(self) -> ChatAvailability:
        return self._availability

    def is_busy(self) -> bool:
        return self.runner.is_running()

    def show_result(self, result) -> None:
        """Follow the document (`MainWindow.document_checked`)."""
        self._last_result = result
        path = None if result is None or result.document_path is None else Path(result.document_path)
        if path != self._document_path:
            self._document_path = path
            self._drop_document_state()
        self._apply_availability(chat_availability(result, self._home))

    def adapters_changed(self) -> None:
        """A training run finished (or the store changed): re-read the adapters, drop the old report. The
        session loads the new adapters on the next question (its cache key names the adapter versions)."""
        if self.runner.is_running():
            self._adapters_pending = True
            return
        self._adapters_pending = False
        self.probe_panel.reset()
        self._apply_availability(chat_availability(self._last_result, self._home))

    def set_runtime(self, summary) -> None:
        """Place the chat's model on the detected hardware (`MainWindow.runtime_detected`)."""
        placement = session_placement(summary)
        if placement != self._placement:
            self._placement = placement
            self._replace_session()

    def ask(self) -> bool:
        """Ask the question in the box; False when there is none, the document cannot answer, or a job runs."""
        question = self.question_box.toPlainText().strip()
        if not question:
            self.status.setText("Type a question first.")
            self.question_box.setFocus()
            return False
        if not self._availability.ready or self.runner.is_running():
            return False
        settings = self.controls.settings(question)
        if self.banner.isVisible():
            self.banner.dismiss()
        self.asked.setText(f"<b>You asked:</b> {rich_text(question)}")
        self.base_view.start()
        self.finetuned_view.start()
        return self._start(CHAT, chat_job(self._availability, settings, self.session, self._home))

    def run_check(self) -> bool:
        """Run "did it learn?" on the document's own prompts."""
        if not self._availability.ready or self.runner.is_running():
            return False
        route = self.controls.settings("-").route
        self.probe_panel.show_started()
        return self._start(PROBE, probe_job(self._availability, route, self.session, self._home))

    def stop(self) -> None:
        """Stop the running answer or check (Esc); what was written so far stays."""
        if self.runner.is_running() and not self.runner.is_cancelling():
            self.runner.cancel()
            self.status.setText("Stopping…")

    def set_colors(self, colors: ThemeColors) -> None:
        self.base_view.set_colors(colors)
        self.finetuned_view.set_colors(colors)
        self.probe_panel.set_colors(colors)
        self.empty_page.set_icon(themed_icon("chat", colors.muted, 112))

    def shutdown(self) -> None:
        """Cancel and join the running job, then free the loaded model (idempotent)."""
        self.runner.shutdown()
        for session in [*self._retired, self.session]:
            session.close()
        self._retired.clear()

    # ----- internals ------------------------------------------------------------------------------------------------

    def _start(self, kind: str, factory) -> bool:
        self._job, self._job_stale = kind, False
        self.status_line.busy("Loading the model…" if self.session.loaded is None else "Starting…")
        started = self.runner.start(factory)
        if not started:
            self._job = None
            self.status_line.done("")
        self._update_actions()
        return started

    def _apply_availability(self, availability: ChatAvailability) -> None:
        self._availability = availability
        self.stack.setCurrentIndex(PAGE_CHAT if availability.ready else PAGE_EMPTY)
        self.empty_page.show_state(availability.title, availability.message, availability.state == UNTRAINED)
        if availability.ready:
            self.controls.set_choices(route_choices(availability))
        name = availability.document_path.name if availability.document_path else ""
        self.document_label.setText(f"— {name}" if name else "")
        system = availability.system_prompt
        self.system_prompt.setText(f"System prompt: {rich_text(system)}" if system else
                                   "System prompt: none (set system_prompt in the document's frontmatter)")
        self.system_prompt.setToolTip("Sent before every question, to both models" if system else "")
        self._update_actions()

    def _drop_document_state(self) -> None:
        """A different document: forget the answers and the report, and load its model afresh."""
        if self.runner.is_running():
            self._job_stale = True
            self.runner.cancel()
        self.base_view.start("")
        self.finetuned_view.start("")
        self.asked.clear()
        self.status_line.done("")
        self.probe_panel.reset()
        self._replace_session()

    def _replace_session(self) -> None:
        old = self.session
        self.session = InferenceSession(device=self._placement[0], dtype=self._placement[1])
        if self.runner.is_running():
            self._retired.append(old)  # the worker may still be using it
        else:
            old.close()

    def _update_actions(self) -> None:
        busy = self.runner.is_running()
        ready = self._availability.ready
        self.ask_button.setEnabled(ready and not busy)
        self.stop_button.setEnabled(busy)
        self.probe_panel.set_can_run(ready and not busy)

    def _show_loading(self, event) -> None:
        if isinstance(event, ModelProgress):
            self._set_progress(event.message, event.fraction)
        elif isinstance(event, InferenceStatus):
            if event.stage == "ready":
                self.status_line.done("Answering…" if self._job == CHAT else "Checking…")
            else:
                self._set_progress(event.message, None)
        elif isinstance(event, InferenceNotice):
            self.banner.show_message("info", "Note", event.message)

    def _set_progress(self, message: str, fraction: float | None) -> None:
        self.status_line.busy(message, fraction)
        if self._job == PROBE:
            self.probe_panel.show_progress(message, fraction)

    def _show_answer(self, result) -> None:
        seconds = result.timing.get("generate_s")
        for view, row in ((self.base_view, result.base), (self.finetuned_view, result.finetuned)):
            if row is not None:
                view.finish(row.text, len(row.token_ids), row.finish_reason, seconds)
        total = result.timing.get("total_s") or 0.0
        self.status.setText("Stopped." if result.cancelled else f"Answered in {total:.1f} s.")
        self.answer_finished.emit(result)

    # ----- slots ----------------------------------------------------------------------------------------------------

    @Slot(list)
    def _on_runner_events_arrived(self, events: list) -> None:
        if self._job_stale:
            return
        texts: dict[str, list[str]] = {"base": [], "finetuned": []}
        for event in events:
            if isinstance(event, TokenEvent):
                texts.setdefault(event.side, []).append(event.text)
            elif isinstance(event, ChatRouted):
                self.finetuned_view.gate_bar.show_weights(event.weights, event.gate_mode, event.strength)
            elif isinstance(event, ProbeProgress):
                self.probe_panel.show_progress(event.message, event.done / max(event.total, 1))
                self.status.setText(f"Checking: {event.message}")
            else:
                self._show_loading(event)
        for side, view in (("base", self.base_view), ("finetuned", self.finetuned_view)):
            if texts[side]:
                view.append_text("".join(texts[side]), len(texts[side]))

    @Slot(object)
    def _on_runner_job_succeeded(self, result) -> None:
        if self._job_stale:
            return
        self.status_line.done("")
        if self._job == CHAT:
            self._show_answer(result)
        else:
            self.probe_panel.show_report(result)
            self.status.setText("Check stopped." if result.status == "cancelled" else "Check finished.")
            self.check_finished.emit(result)

    @Slot(object)
    def _on_runner_job_failed(self, error) -> None:
        if self._job_stale:
            return
        title, body, details = describe_failure(error)
        self.banner.show_message(ERROR, title, body, details=details)
        self.status_line.done("No answer: see the message above." if self._job == CHAT else "The check failed.")
        if self._job == PROBE:
            self.probe_panel.show_failure(title, body)
        self.failure_shown.emit(title)
        self._apply_availability(chat_availability(self._last_result, self._home))  # e.g. adapters deleted

    @Slot()
    def _on_runner_job_finished(self) -> None:
        self._job, self._job_stale = None, False
        for session in self._retired:
            session.close()
        self._retired.clear()
        if self._adapters_pending:
            self.adapters_changed()
        self._update_actions()

