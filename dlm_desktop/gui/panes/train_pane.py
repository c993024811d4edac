"""The Train pane: the plan before start, Start / Cancel / Resume, live progress and loss, run history.

The run is the core's `train_document` generator drained by an `EventJobRunner` on its own thread: the GUI
thread only folds the batched events into widgets (`RunProgress`), so the window never freezes. Cancel sets
the runner's stop flag directly; the trainer then saves a checkpoint and returns a `cancelled` result, and
Resume continues it exactly. The plan and the store's history are read on a second background job
(`inspect_training`) whenever the document, the hardware, the options or the store change.

Training reads the document from disk, so unsaved changes are saved first (the pane offers it). Failures come
back as values: the core's typed errors carry a message and a fix, shown in the pane's message bar with the
details on demand; the pane can start again at once.

Signals: `training_started()`, `training_finished(TrainResult)` (status `ok` or `cancelled`, emitted once the
worker thread is joined), `training_failed(exception)`, `overview_updated(TrainOverview)` (plan and history
shown), `progress_updated()` (a batch of run events shown).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from dlm_desktop.core.training import TrainRequest, TrainResult, train_document
from dlm_desktop.gui.document_check import CheckResult
from dlm_desktop.gui.panes.train_cards import HistoryCard, LiveCard, PlanCard
from dlm_desktop.gui.runtime_status import RuntimeSummary
from dlm_desktop.gui.theme import ThemeColors
from dlm_desktop.gui.train_overview import (
    DocumentHooks, TrainOverview, describe_failure, describe_result, history_text, inspect_training,
)
from dlm_desktop.gui.train_job import background_job
from dlm_desktop.gui.train_plan import format_duration
from dlm_desktop.gui.train_progress import GATE, RunProgress
from dlm_desktop.gui.widgets.message_banner import ERROR, INFO, SUCCESS, WARNING, MessageBanner
from dlm_desktop.gui.workers import EventJobRunner, JobRunner

OPTIONS_DELAY_MS = 350  # pause after an option edit before the plan is made again


class TrainPane(QWidget):
    """See the module docstring. `trainer` is the core capability the pane runs (replaceable by tests and
    benchmarks with a wrapper around it)."""

    training_started = Signal()
    training_finished = Signal(object)
    training_failed = Signal(object)
    overview_updated = Signal(object)
    progress_updated = Signal()

    def __init__(self, hooks: DocumentHooks | None = None, backend: Callable[[], str | None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TrainPane")
        self.hooks = hooks or DocumentHooks(lambda: self._document, lambda: False, lambda: False)
        self.trainer: Callable[..., Any] = train_document
        self._backend = backend or (lambda: None)
        self._report: Any = None
        self._document: Path | None = None
        self._caps: Any = None
        self.overview: TrainOverview | None = None
        self.progress: RunProgress | None = None
        self.last_result: TrainResult | None = None
        self._outcome: tuple[str, object] | None = None
        self._resumable = False
        self._overview_pending = False
        self._runner = EventJobRunner("training", self)
        self._inspector = JobRunner("train-overview", self)
        self._options_timer = QTimer(self, singleShot=True, interval=OPTIONS_DELAY_MS)
        self._clock = QTimer(self, interval=1000)
        self._build()
        self._connect()
        self._update_controls()

    # ----- layout ---------------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.plan_card = PlanCard(self)
        self.plan_card.setFixedWidth(410)
        self.live = LiveCard(self)
        top = QWidget(self)
        row = QHBoxLayout(top)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(14)
        row.addWidget(self.plan_card)
        row.addWidget(self.live, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(top)
        self.history_card = HistoryCard(self)
        self.history, self.history_model, self.history_note = (
            self.history_card.table, self.history_card.model, self.history_card.note)
        self.splitter.addWidget(self.history_card)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setSizes([520, 170])
        self.banner = MessageBanner(self)
        column = QVBoxLayout(self)
        column.setContentsMargins(20, 16, 20, 12)
        column.setSpacing(10)
        column.addLayout(self._build_header())
        column.addWidget(self.banner)
        column.addWidget(self.splitter, 1)
        self._shortcuts = [QShortcut(QKeySequence(keys), self) for keys in ("Ctrl+Return", "Ctrl+Enter", "Esc")]
        for shortcut in self._shortcuts:
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def _build_header(self) -> QVBoxLayout:
        title = QLabel("Train", self)
        title.setObjectName("PaneTitle")
        self.intro = QLabel(self)
        self.intro.setProperty("role", "muted")
        self.intro.setWordWrap(True)
        header = QVBoxLayout()
        header.setSpacing(2)
        header.addWidget(title)
        header.addWidget(self.intro)
        return header

    def _connect(self) -> None:
        card = self.plan_card
        card.start_button.clicked.connect(self._on_start_button_clicked)
        card.resume_button.clicked.connect(self._on_resume_button_clicked)
        card.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        card.base_edit.textEdited.connect(self._on_options_changed)
        card.steps_spin.valueChanged.connect(self._on_options_changed)
        self._options_timer.timeout.connect(self.refresh_overview)
        self._clock.timeout.connect(self._on_clock_timeout)
        self._shortcuts[0].activated.connect(self._on_start_shortcut_activated)
        self._shortcuts[1].activated.connect(self._on_start_shortcut_activated)
        self._shortcuts[2].activated.connect(self._on_cancel_button_clicked)
        self._runner.events_arrived.connect(self._on_runner_events_arrived)
        self._runner.job_succeeded.connect(self._on_runner_job_succeeded)
        self._runner.job_failed.connect(self._on_runner_job_failed)
        self._runner.job_finished.connect(self._on_runner_job_finished)
        self._inspector.job_succeeded.connect(self._on_inspector_job_succeeded)
        self._inspector.job_failed.connect(self._on_inspector_job_failed)
        self._inspector.job_finished.connect(self._on_inspector_job_finished)

    def set_colors(self, colors: ThemeColors) -> None:
        self.plan_card.set_colors(colors)
        self.live.set_colors(colors)
        self.history_model.set_colors(colors)
        if self.progress is not None:
            self.live.show_stages(self.progress.stages)

    # ----- inputs from the window -------------------------------------------------------------------------------

    def show_result(self, result: CheckResult) -> None:
        """A fresh check of the document (MainWindow.document_checked)."""
        self._document, self._report = result.document_path, result.report
        if result.report is not None:
            self.refresh_overview()  # a document with errors keeps showing its last plan and history
        self._update_controls()

    def show_runtime(self, summary: RuntimeSummary) -> None:
        """The hardware is known (MainWindow.runtime_detected): plan precision, batch and memory for it."""
        self._caps = summary.report.capabilities if summary.report is not None else None
        self.refresh_overview()

    def refresh_overview(self) -> None:
        """Re-plan and re-read the store in the background (coalesced while a read is under way)."""
        if self._report is None:
            return
        if self._inspector.is_running():
            self._overview_pending = True
            return
        self._overview_pending = False
        report, caps, base, steps = self._report, self._caps, self.base_override(), self.max_steps()
        self._inspector.start(lambda: inspect_training(report, caps, base, steps))

    def base_override(self) -> str:
        return self.plan_card.base_edit.text().strip()

    def max_steps(self) -> int | None:
        return self.plan_card.steps_spin.value() or None

    # ----- commands ---------------------------------------------------------------------------------------------

    def is_training(self) -> bool:
        return self._runner.is_running()

    def can_resume(self) -> bool:
        return self._resumable and not self.is_training()

    def start_training(self) -> bool:
        """Train from the beginning (an interrupted run's checkpoint is discarded). False when not started."""
        return self._start(resume=False)

    def resume_training(self) -> bool:
        """Continue the interrupted run exactly where it stopped."""
        return self._start(resume=True)

    def cancel_training(self) -> None:
        """Stop at the next step; the trainer saves a checkpoint first, so Resume can continue."""
        if self.is_training() and not self._runner.is_cancelling():
            self._runner.cancel()
            self.live.status.setText("Cancelling: saving the progress…")
            self._update_controls()

    def shutdown(self) -> None:
        """Cancel a run (it checkpoints), then join both background threads (window close)."""
        self._options_timer.stop()
        self._clock.stop()
        self._runner.shutdown()
        self._inspector.shutdown()

    def _start(self, resume: bool, *, discard_confirmed: bool = False) -> bool:
        if self.is_training() or self._report is None:
            return False
        if self._resumable and not resume and not discard_confirmed:
            self._confirm_start_over()
            return False
        path = self._saved_document(resume)
        if path is None:
            return False
        request = TrainRequest(path, max_steps=None if resume else self.max_steps(), resume=resume,
                               base=self.base_override() or None, backend=self._backend_choice())
        if not self._runner.start(background_job(self.trainer, request)):
            return False
        self._begin_run(path, resume)
        return True

    def _saved_document(self, resume: bool) -> Path | None:
        """The document's path when what is on disk is what the user sees; otherwise offer to save."""
        path = self.hooks.path()
        if path is not None and not self.hooks.is_modified():
            return path
        what = "Resume" if resume else "Training"
        self.banner.show_message(
            WARNING, "Save the document first",
            f"{what} reads the document from disk, so your latest changes must be saved.",
            actions=[("Save and train", lambda: self._save_then_start(resume)), ("Not now", lambda: None)],
        )
        return None

    def _confirm_start_over(self) -> None:
        checkpoint = self.overview.store.checkpoint if self.overview is not None else None
        where = f" ({checkpoint.describe()})" if checkpoint is not None else ""
        self.banner.show_message(
            WARNING, "Start over?", f"The interrupted run's saved progress{where} will be discarded. Resume "
            "continues it instead.", actions=[("Start over", lambda: self._start(False, discard_confirmed=True)),
                                              ("Resume", self.resume_training)],
        )

    def _save_then_start(self, resume: bool) -> None:
        if self.hooks.save():
            self._start(resume, discard_confirmed=True)

    def _backend_choice(self) -> str | None:
        choice = self._backend()
        return None if choice in (None, "", "auto") else choice

    def _begin_run(self, path: Path, resume: bool) -> None:
        plan = self.overview.plan if self.overview is not None else None
        names = [line.name for line in plan.adapters] if plan is not None and plan.adapters else ["default"]
        self.progress = RunProgress(names, gate=bool(plan and plan.gate_steps))
        self._outcome = None
        self.banner.dismiss()
        if not resume:
            self.live.chart.clear()
            self.live.log.clear()
        self.live.reset("Starting…")
        self.live.add_log("info", f"{'Resuming' if resume else 'Training'} {path.name}")
        self._clock.start()
        self._update_controls()
        self._refresh_live()
        self.training_started.emit()

    # ----- run events -------------------------------------------------------------------------------------------

    @Slot(list)
    def _on_runner_events_arrived(self, events: list) -> None:
        if self.progress is None:
            return
        update = self.progress.apply(events)
        chart = self.live.chart
        for series, step in update.truncated:
            chart.truncate(series, step)
        chart.add_points("train", update.train_points)
        chart.add_points("val", update.val_points)
        if self.progress.current is not None and self.progress.stages[self.progress.current].kind != GATE:
            chart.set_expected_steps(self.progress.stages[self.progress.current].total)
        for level, text in update.log:
            self.live.add_log(level, text)
        self._refresh_live()
        self.progress_updated.emit()

    def _refresh_live(self) -> None:
        progress = self.progress
        if progress is None:
            return
        if not self._runner.is_cancelling() or progress.finished is not None:
            self.live.status.setText(progress.status_text())
        self.live.set_fraction(progress.fraction() if progress.current is not None or progress.finished
                               else progress.loading_fraction)
        numbers = self.live.numbers
        numbers["Loss"].setText("—" if progress.loss is None else f"{progress.loss:.3f}")
        numbers["Validation loss"].setText("—" if progress.val_loss is None else f"{progress.val_loss:.3f}")
        numbers["Tokens/s"].setText("—" if not progress.tokens_per_second else f"{progress.tokens_per_second:,.0f}")
        numbers["Time left"].setText(progress.eta_text() if progress.finished is None else "—")
        numbers["Elapsed"].setText(format_duration(progress.elapsed_s()))
        self.live.show_stages(progress.stages)

    @Slot()
    def _on_clock_timeout(self) -> None:
        if self.progress is not None:
            self.live.numbers["Elapsed"].setText(format_duration(self.progress.elapsed_s()))

    @Slot(object)
    def _on_runner_job_succeeded(self, result: TrainResult) -> None:
        self.last_result = result
        self._outcome = ("finished", result)
        self._resumable = result.status == "cancelled" and result.checkpoint is not None
        title, body, details = describe_result(result)
        if self.progress is not None and self.progress.overfitting:
            body = f"{body} {next(iter(self.progress.overfitting.values()))}".strip()
        resume = [("Resume", self.resume_training)] if self._resumable else []
        self.banner.show_message(SUCCESS if result.status == "ok" else INFO, title, body, actions=resume,
                                 details=details)

    @Slot(object)
    def _on_runner_job_failed(self, error: BaseException) -> None:
        started = self.progress is not None and self.progress.current is not None
        if self.progress is not None:
            self.progress.fail()
        title, body, details = describe_failure(error, started)
        self.live.status.setText(title)
        self.live.add_log("error", f"{title}: {body}")
        self.banner.show_message(ERROR, title, body, details=details)
        self._outcome = ("failed", error)

    @Slot()
    def _on_runner_job_finished(self) -> None:
        self._clock.stop()
        self._refresh_live()
        self._update_controls()
        self.refresh_overview()
        outcome, self._outcome = self._outcome, None
        if outcome is not None:
            kind, value = outcome
            (self.training_finished if kind == "finished" else self.training_failed).emit(value)

    # ----- overview ---------------------------------------------------------------------------------------------

    @Slot(object)
    def _on_inspector_job_succeeded(self, overview: TrainOverview) -> None:
        if self._overview_pending or self._report is None or overview.dlm_id != self._report.frontmatter.dlm_id:
            return  # a newer request follows, or the document changed meanwhile
        self.overview = overview
        self.plan_card.show_plan(overview.plan)
        if overview.problem:
            self.plan_card.problem.setText(f"⚠ {overview.problem}")
            self.plan_card.problem.show()
        store = overview.store
        self.history_model.set_runs(store.runs, live=self.is_training())
        self.history_note.setText(history_text(store))
        if not self.is_training():
            self._resumable = store.checkpoint is not None
        self._update_controls()
        self.overview_updated.emit(overview)

    @Slot(object)
    def _on_inspector_job_failed(self, error: BaseException) -> None:
        self.plan_card.show_plan(None)
        self.plan_card.problem.setText(f"⚠ Could not plan the run: {error}")
        self.plan_card.problem.show()

    @Slot()
    def _on_inspector_job_finished(self) -> None:
        if self._overview_pending:
            self.refresh_overview()

    # ----- controls ---------------------------------------------------------------------------------------------

    def _update_controls(self) -> None:
        ready = self._report is not None
        self.plan_card.show_state(ready=ready, running=self.is_training(), cancelling=self._runner.is_cancelling(),
                                  resumable=self._resumable)
        if not ready:
            self.intro.setText("Open a document without errors to train a model on it.")
            return
        name = self._document.name if self._document is not None else "this document"
        self.intro.setText(
            f"Fine-tunes a small adapter on “{name}”. Training runs in the background: keep editing or chatting. "
            "Cancel saves the progress, and Resume continues exactly where it stopped."
        )

    @Slot()
    def _on_start_button_clicked(self) -> None:
        self.start_training()

    @Slot()
    def _on_resume_button_clicked(self) -> None:
        self.resume_training()

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        self.cancel_training()

    @Slot()
    def _on_start_shortcut_activated(self) -> None:
        if self._resumable:
            self.resume_training()
        else:
            self.start_training()

    def _on_options_changed(self, *_args) -> None:
        self._options_timer.start()
