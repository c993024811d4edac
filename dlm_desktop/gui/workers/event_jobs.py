"""Run one core event generator at a time on a QThread; its events reach the GUI thread in batches.

The core's long jobs (`train_document`, `prompt_document`, `run_export`, `probe_document`) are generators
that take a `should_stop` callable, yield frozen events and return a result. `EventJobRunner.start(factory)`
calls `factory(should_stop)` on a worker thread (through `JobRunner`) and drains the generator there. Every
event is appended to a queue; a GUI-thread timer hands the queued events over as one list at most every
`interval_ms` (so a token stream never floods the event loop, and no event is ever dropped: the loss curve
needs every step); an event waits at most `interval_ms`. The rest of the queue is handed over before the
result, so `events_arrived` always precedes `job_succeeded`/`job_failed` and holds everything in order.

`cancel()` sets a `threading.Event` directly from the GUI thread (a queued signal would never reach a worker
busy in its loop); the core sees it through `should_stop` and returns its own "cancelled" result.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Generator

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from dlm_desktop.gui.workers.jobs import JobRunner

DEFAULT_INTERVAL_MS = 50  # ~20 Hz

EventFactory = Callable[[Callable[[], bool]], Generator[Any, None, Any]]


class _EventQueue:
    """What one job's thread appends to and the GUI thread drains (deque appends and pops are thread-safe)."""

    def __init__(self) -> None:
        self.events: deque[Any] = deque()
        self.stop = threading.Event()

    def drain(self) -> list[Any]:
        taken: list[Any] = []
        while True:
            try:
                taken.append(self.events.popleft())
            except IndexError:
                return taken


def _drain_generator(factory: EventFactory, queue: _EventQueue) -> Any:
    generator = factory(queue.stop.is_set)
    while True:
        try:
            event = next(generator)
        except StopIteration as done:
            return done.value
        queue.events.append(event)


class EventJobRunner(QObject):
    """One event-generator job at a time. Signals (GUI thread): `events_arrived(list)`, then
    `job_succeeded(result)` or `job_failed(exception)`, then `job_finished` when the thread has been joined."""

    events_arrived = Signal(list)
    job_succeeded = Signal(object)
    job_failed = Signal(object)
    job_finished = Signal()

    def __init__(self, name: str, parent: QObject | None = None, interval_ms: int = DEFAULT_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._runner = JobRunner(name, self)
        self._queue: _EventQueue | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._runner.job_succeeded.connect(self._on_runner_job_succeeded)
        self._runner.job_failed.connect(self._on_runner_job_failed)
        self._runner.job_finished.connect(self._on_runner_job_finished)

    def is_running(self) -> bool:
        return self._runner.is_running()

    def is_cancelling(self) -> bool:
        return self._queue is not None and self._queue.stop.is_set()

    def start(self, factory: EventFactory) -> bool:
        """Start `factory(should_stop)` on a new thread; False (and nothing happens) while a job runs."""
        if self._runner.is_running():
            return False
        queue = _EventQueue()
        if not self._runner.start(lambda: _drain_generator(factory, queue)):
            return False
        self._queue = queue
        self._timer.start()
        return True

    def cancel(self) -> None:
        """Ask the running job to stop at its next check (it then returns its own cancelled result)."""
        if self._queue is not None:
            self._queue.stop.set()

    def shutdown(self) -> None:
        """Cancel, join the thread and drop everything the job still had in flight."""
        self.cancel()
        self._timer.stop()
        self._runner.shutdown()
        self._queue = None

    def _deliver(self) -> None:
        if self._queue is None:
            return
        events = self._queue.drain()
        if events:
            self.events_arrived.emit(events)

    @Slot()
    def _on_timer_timeout(self) -> None:
        self._deliver()

    @Slot(object)
    def _on_runner_job_succeeded(self, result: object) -> None:
        self._deliver()
        self.job_succeeded.emit(result)

    @Slot(object)
    def _on_runner_job_failed(self, error: object) -> None:
        self._deliver()
        self.job_failed.emit(error)

    @Slot()
    def _on_runner_job_finished(self) -> None:
        self._timer.stop()
        self._deliver()
        self._queue = None
        self.job_finished.emit()
