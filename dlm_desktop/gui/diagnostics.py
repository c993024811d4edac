"""Diagnostics as you type: a debounce timer, one check at a time on a worker thread, stale results dropped.

Every edit bumps a revision and restarts the timer; when typing pauses (`delay_ms`, ~300 ms) the text is
checked on a `JobRunner`. A request that arrives while a check runs is remembered and run right after it;
a result whose revision is no longer current is dropped, so the window only ever shows diagnostics of the
text on screen (or of the text a moment ago, while a newer check is on its way).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from dlm_desktop.gui.document_check import CheckResult, check_document_text
from dlm_desktop.gui.workers import JobRunner


@dataclass(frozen=True)
class CheckRequest:
    """The text to check and where it lives (`untitled`: `path` is only a scratch location)."""

    text: str
    path: Path
    untitled: bool = False


class DiagnosticsController(QObject):
    """Schedules checks of the document text and emits `check_finished(CheckResult)` for current text only."""

    check_finished = Signal(object)

    def __init__(self, snapshot: Callable[[], CheckRequest | None], delay_ms: int = 300, parent=None) -> None:
        super().__init__(parent)
        self._snapshot = snapshot
        self._revision = 0
        self._pending = False
        self._dispatched_at = 0.0
        self.last_result: CheckResult | None = None
        self.last_latency_ms = 0.0
        self.checks_dispatched = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(max(0, delay_ms))
        self._timer.timeout.connect(self._on_timer_timeout)
        self._runner = JobRunner("diagnostics", self)
        self._runner.job_succeeded.connect(self._on_runner_job_succeeded)
        self._runner.job_finished.connect(self._on_runner_job_finished)

    def schedule(self) -> None:
        """The text changed: check it once typing pauses."""
        self._revision += 1
        self._timer.start()

    def check_now(self) -> None:
        """Check the current text right away (F5, a document just opened)."""
        self._revision += 1
        self._timer.stop()
        self._dispatch()

    def is_busy(self) -> bool:
        return self._runner.is_running() or self._timer.isActive() or self._pending

    def shutdown(self) -> None:
        self._timer.stop()
        self._pending = False
        self._runner.shutdown()

    @Slot()
    def _on_timer_timeout(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        if self._runner.is_running():
            self._pending = True
            return
        request = self._snapshot()
        if request is None:
            return
        self._dispatched_at = time.perf_counter()
        self.checks_dispatched += 1
        job = partial(check_document_text, request.text, request.path, self._revision, untitled=request.untitled)
        self._runner.start(job)

    @Slot(object)
    def _on_runner_job_succeeded(self, result: CheckResult) -> None:
        if self._pending or result.revision != self._revision:
            return  # the text changed while it was being checked; a newer check follows
        self.last_latency_ms = (time.perf_counter() - self._dispatched_at) * 1000.0
        self.last_result = result
        self.check_finished.emit(result)

    @Slot()
    def _on_runner_job_finished(self) -> None:
        if self._pending:
            self._pending = False
            self._dispatch()
