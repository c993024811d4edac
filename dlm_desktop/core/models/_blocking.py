"""Run one blocking call (a weight load, a download) in a thread while a job generator keeps yielding events.

A Python thread cannot be killed. When the user cancels during such a call, the job stops waiting and raises
`ModelJobCancelled` at once; the call finishes in the background and its result is dropped. Such abandoned
calls are remembered so that the next heavy job of this process waits for them first, instead of holding two
copies of a model in memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from typing import TypeVar

from dlm_desktop.core.models.errors import ModelJobCancelled
from dlm_desktop.core.models.events import ModelProgress, ShouldStop

T = TypeVar("T")

_ABANDONED: list[threading.Thread] = []
_ABANDONED_LOCK = threading.Lock()


class _Outcome:
    """What the worker thread produced: a value or an exception."""

    def __init__(self) -> None:
        self.value: object = None
        self.error: BaseException | None = None


def _start(fn: Callable[[], T], outcome: _Outcome) -> threading.Thread:
    def work() -> None:
        try:
            outcome.value = fn()
        except BaseException as exc:  # handed over to the waiting generator
            outcome.error = exc

    thread = threading.Thread(target=work, name="dlm-model-job", daemon=True)
    thread.start()
    return thread


def run_blocking(
    fn: Callable[[], T],
    *,
    heartbeat: Callable[[float], ModelProgress],
    should_stop: ShouldStop,
    interval_s: float = 0.5,
) -> Generator[ModelProgress, None, T]:
    """Run `fn()` in a thread; yield `heartbeat(elapsed_s)` every `interval_s` until it returns.

    Returns what `fn` returned and re-raises what it raised. Raises `ModelJobCancelled` as soon as
    `should_stop()` is True (the call is then abandoned, see the module docstring).
    """
    outcome = _Outcome()
    started = time.monotonic()
    thread = _start(fn, outcome)
    while True:
        thread.join(interval_s)
        if not thread.is_alive():
            break
        if should_stop():
            with _ABANDONED_LOCK:
                _ABANDONED.append(thread)
            raise ModelJobCancelled("Stopped on request.", fix="Start it again when you are ready.")
        yield heartbeat(time.monotonic() - started)
    if outcome.error is not None:
        raise outcome.error
    return outcome.value  # type: ignore[return-value]


def wait_for_abandoned(
    *, heartbeat: Callable[[float], ModelProgress], should_stop: ShouldStop
) -> Generator[ModelProgress, None, None]:
    """Wait until calls abandoned by earlier cancelled jobs have finished (yields heartbeats meanwhile)."""
    started = time.monotonic()
    while True:
        with _ABANDONED_LOCK:
            _ABANDONED[:] = [t for t in _ABANDONED if t.is_alive()]
            pending = list(_ABANDONED)
        if not pending:
            return
        if should_stop():
            raise ModelJobCancelled("Stopped on request.", fix="Start it again when you are ready.")
        pending[0].join(0.5)
        if pending[0].is_alive():
            yield heartbeat(time.monotonic() - started)
