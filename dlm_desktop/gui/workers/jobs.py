"""Run one plain function at a time on a QThread and hand its result back to the GUI thread.

The pattern of ARCHITECTURE.md "Long-running work": a `QObject` worker is moved to a fresh `QThread`; the
runner (living on the GUI thread) relays the worker's signals as its own and refuses `start()` while a job
runs. `worker.finished → thread.quit` (direct, so no GUI event is needed to stop the thread);
`thread.finished → runner._on_thread_finished`, which joins the thread before dropping both references.
`shutdown()` disconnects the relays first, so a result can never land after it.

The worker is never destroyed on its own thread (no `deleteLater` there): when its function returns it moves
itself back to the GUI thread, and the runner's dropped reference deletes it there. Destroying a
Python-made QObject on a worker thread takes a Qt connection lock and then waits for the GIL, while the GUI
thread may hold the GIL and wait for that same lock (Qt shares those locks between unrelated objects): the
whole app hung that way in a test run.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot


class _FunctionWorker(QObject):
    """Calls one function in its thread; reports its return value or the exception it raised."""

    succeeded = Signal(int, object)
    failed = Signal(int, object)
    finished = Signal()

    def __init__(self, job_id: int, function: Callable[[], Any]) -> None:
        super().__init__()
        self._job_id = job_id
        self._function = function

    @Slot()
    def run(self) -> None:
        try:
            result = self._function()
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the GUI as a value
            self.failed.emit(self._job_id, exc)
        else:
            self.succeeded.emit(self._job_id, result)
        finally:
            self._function = None  # release what the job captured as soon as it is done
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())  # to be destroyed on the GUI thread (see the module docstring)
            self.finished.emit()


class JobRunner(QObject):
    """Runs `function()` on a background thread, one job at a time.

    `job_succeeded(result)` or `job_failed(exception)` arrives on the GUI thread, then `job_finished` once the
    thread has been joined and the runner accepts a new job.
    """

    job_succeeded = Signal(object)
    job_failed = Signal(object)
    job_finished = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._thread: QThread | None = None
        self._worker: _FunctionWorker | None = None
        self._job_id = 0  # results carry the id of their job; only the live job's are relayed

    def is_running(self) -> bool:
        """True from `start()` until the thread has been joined."""
        return self._thread is not None

    def start(self, function: Callable[[], Any]) -> bool:
        """Start `function` in a new thread; returns False (and does nothing) while a job is running."""
        if self._thread is not None:
            return False
        self._job_id += 1
        thread = QThread()
        thread.setObjectName(f"dlm-desktop-{self._name}")
        worker = _FunctionWorker(self._job_id, function)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.succeeded.connect(self._on_worker_succeeded)
        worker.failed.connect(self._on_worker_failed)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        thread.start()
        return True

    def shutdown(self) -> None:
        """Drop any pending result, let the running function return, and join its thread."""
        thread, worker = self._thread, self._worker
        if thread is None:
            return
        _disconnect_relays(worker, self)
        thread.finished.disconnect(self._on_thread_finished)
        thread.quit()
        thread.wait()
        self._thread = self._worker = None
        self._job_id += 1  # anything the joined job already posted is stale now

    # Queued calls already posted survive a disconnect (and may arrive after the worker was deleted), so
    # results are matched by job id and thread notices by their sender (threads are never deleted early).

    @Slot(int, object)
    def _on_worker_succeeded(self, job_id: int, result: object) -> None:
        if job_id == self._job_id:
            self.job_succeeded.emit(result)

    @Slot(int, object)
    def _on_worker_failed(self, job_id: int, error: object) -> None:
        if job_id == self._job_id:
            self.job_failed.emit(error)

    @Slot()
    def _on_thread_finished(self) -> None:
        thread = self._thread
        if thread is None or self.sender() is not thread:
            return  # a queued notice from a job that `shutdown()` already joined
        thread.wait()
        self._thread = self._worker = None
        self.job_finished.emit()


def _disconnect_relays(worker: _FunctionWorker | None, runner: JobRunner) -> None:
    if worker is None:
        return
    for signal, slot in ((worker.succeeded, runner._on_worker_succeeded), (worker.failed, runner._on_worker_failed)):
        try:
            signal.disconnect(slot)
        except (RuntimeError, TypeError):  # already deleted or never connected
            pass
