"""Driving the core's event generators from the terminal: a progress line on stderr, Ctrl-C as a clean cancel."""

from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Generator, Iterator, TextIO


def drive(job: Generator[Any, None, Any], on_event: Callable[[Any], None]) -> Any:
    """Run a core job generator to the end, handing each event to `on_event`; returns the job's result."""
    while True:
        try:
            event = next(job)
        except StopIteration as finished:
            return finished.value
        on_event(event)


@contextmanager
def ctrl_c_cancels() -> Iterator[threading.Event]:
    """The first Ctrl-C sets the returned event (the job stops at its next check and saves a checkpoint);
    a second Ctrl-C interrupts at once."""
    stop = threading.Event()

    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        sys.stderr.write("\ncancelling: finishing the current step and saving a checkpoint (Ctrl-C again to abort)\n")

    previous = signal.signal(signal.SIGINT, handler) if threading.current_thread() is threading.main_thread() else None
    try:
        yield stop
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class ProgressLine:
    """One self-rewriting status line on a terminal (plain lines, throttled, when stderr is not a terminal)."""

    def __init__(self, stream: TextIO | None = None, *, width: int = 28, min_interval_s: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.width = width
        self.min_interval_s = min_interval_s if self.tty else 5.0
        self._last = 0.0
        self._dirty = False

    def bar(self, fraction: float | None, text: str, *, eta_s: float | None = None, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.min_interval_s:
            return
        self._last = now
        if fraction is None:
            line = f"{text}"
        else:
            filled = int(max(0.0, min(1.0, fraction)) * self.width)
            line = f"[{'#' * filled}{'.' * (self.width - filled)}] {fraction * 100:5.1f}%  {text}  ETA {_duration(eta_s)}"
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            self._dirty = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        """A line that stays (ends the current progress line first)."""
        self.finish()
        self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self._dirty:
            self.stream.write("\n")
            self._dirty = False
