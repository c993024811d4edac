"""The event-generator runner: every event arrives in order on the GUI thread, batched, before the result;
cancel reaches the generator through `should_stop`; failures come back as values; shutdown joins."""

from __future__ import annotations

import threading

from dlm_desktop.gui.workers import EventJobRunner


def _collect(runner: EventJobRunner) -> list:
    received: list = []
    runner.events_arrived.connect(lambda batch: received.append(list(batch)))
    return received


def test_every_event_arrives_in_order_batched_before_the_result(qtbot):
    runner = EventJobRunner("test", interval_ms=20)
    batches = _collect(runner)
    threads: list[int] = []

    def job(should_stop):
        threads.append(threading.get_ident())
        for index in range(5000):
            yield index
        return "done"

    with qtbot.waitSignal(runner.job_finished, timeout=10_000):
        with qtbot.waitSignal(runner.job_succeeded, timeout=10_000) as result:
            assert runner.start(job)
    assert result.args == ["done"]
    assert [event for batch in batches for event in batch] == list(range(5000))
    assert len(batches) < 5000  # handed over in batches, not one signal per event
    assert threads and threads[0] != threading.get_ident()
    assert not runner.is_running()


def test_cancel_reaches_the_generator_and_its_own_result_comes_back(qtbot):
    runner = EventJobRunner("test", interval_ms=20)
    batches = _collect(runner)
    first = threading.Event()

    def job(should_stop):
        step = 0
        while not should_stop():
            step += 1
            yield step
            first.set()
        return ("cancelled", step)

    runner.start(job)
    assert first.wait(10)
    assert runner.is_running() and not runner.start(job)
    with qtbot.waitSignal(runner.job_finished, timeout=10_000):
        with qtbot.waitSignal(runner.job_succeeded, timeout=10_000) as result:
            runner.cancel()
            assert runner.is_cancelling()
    status, steps = result.args[0]
    assert status == "cancelled"
    assert [event for batch in batches for event in batch] == list(range(1, steps + 1))


def test_a_failure_keeps_the_events_before_it(qtbot):
    runner = EventJobRunner("test", interval_ms=20)
    batches = _collect(runner)

    def job(should_stop):
        yield "loading"
        yield "step 1"
        raise RuntimeError("the model ran out of memory")

    with qtbot.waitSignal(runner.job_finished, timeout=10_000):
        with qtbot.waitSignal(runner.job_failed, timeout=10_000) as failure:
            runner.start(job)
    assert str(failure.args[0]) == "the model ran out of memory"
    assert [event for batch in batches for event in batch] == ["loading", "step 1"]


def test_shutdown_stops_a_running_job_and_nothing_arrives_afterwards(qtbot):
    runner = EventJobRunner("test", interval_ms=20)
    late: list = []
    started = threading.Event()

    def job(should_stop):
        started.set()
        while not should_stop():
            yield "tick"
        return "stopped"

    runner.start(job)
    assert started.wait(10)
    runner.shutdown()
    assert not runner.is_running()
    runner.events_arrived.connect(late.append)
    runner.job_succeeded.connect(late.append)
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    assert late == []
