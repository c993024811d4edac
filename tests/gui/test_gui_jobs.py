"""The background-job runner: one job at a time, results on the GUI thread, stale results dropped on shutdown."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from dlm_desktop.gui.workers import JobRunner


def test_a_job_runs_off_the_gui_thread_and_its_result_arrives(qtbot):
    runner = JobRunner("test")
    gui_thread = threading.get_ident()
    with qtbot.waitSignal(runner.job_finished, timeout=5_000):
        with qtbot.waitSignal(runner.job_succeeded, timeout=5_000) as blocker:
            assert runner.start(threading.get_ident)
    assert blocker.args[0] != gui_thread
    assert not runner.is_running()


def test_a_second_start_is_refused_while_a_job_runs(qtbot):
    runner = JobRunner("test")
    release = threading.Event()
    assert runner.start(lambda: release.wait(10))
    assert not runner.start(lambda: "second")
    with qtbot.waitSignal(runner.job_finished, timeout=5_000):
        release.set()
    with qtbot.waitSignal(runner.job_finished, timeout=5_000):
        with qtbot.waitSignal(runner.job_succeeded, timeout=5_000) as blocker:
            assert runner.start(lambda: "second")
    assert blocker.args[0] == "second"


def test_an_exception_comes_back_as_job_failed(qtbot):
    runner = JobRunner("test")

    def broken():
        raise ValueError("bad input")

    with qtbot.waitSignal(runner.job_finished, timeout=5_000):
        with qtbot.waitSignal(runner.job_failed, timeout=5_000) as blocker:
            runner.start(broken)
    assert isinstance(blocker.args[0], ValueError)


def test_shutdown_joins_the_thread_and_drops_the_result(qtbot):
    runner = JobRunner("test")
    started, release = threading.Event(), threading.Event()

    def job():
        started.set()
        release.wait(10)
        return "late"

    runner.start(job)
    started.wait(5)
    release.set()
    with qtbot.assertNotEmitted(runner.job_succeeded):
        runner.shutdown()
        assert not runner.is_running()
        QApplication.processEvents()  # deliver whatever the joined job had queued: none may reach job_succeeded
    with qtbot.waitSignal(runner.job_succeeded, timeout=5_000) as blocker:
        runner.start(lambda: "fresh")
    assert blocker.args[0] == "fresh"
    runner.shutdown()


def test_the_worker_object_is_destroyed_on_the_gui_thread_not_its_own(qtbot):
    """Destroying a Python-made QObject on a worker thread can deadlock against the GUI thread (Qt lock vs
    GIL); the worker must come back to the GUI thread to die."""
    runner = JobRunner("test")
    gui_thread = threading.get_ident()
    destroyed_on: list[int] = []
    with qtbot.waitSignal(runner.job_finished, timeout=5_000):
        assert runner.start(lambda: "done")
        runner._worker.destroyed.connect(lambda *_: destroyed_on.append(threading.get_ident()),
                                         Qt.ConnectionType.DirectConnection)
    qtbot.waitUntil(lambda: bool(destroyed_on), timeout=5_000)
    assert destroyed_on == [gui_thread]
