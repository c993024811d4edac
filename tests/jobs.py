"""Helpers for the core's long jobs (generators that yield events and return a result), shared by the tests.

Import them into a test module: `from tests.jobs import drain`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any


def drain(job: Generator[Any, Any, Any]) -> tuple[list[Any], Any]:
    """Run a job generator to its end: `(events, returned value)`."""
    events = []
    while True:
        try:
            events.append(next(job))
        except StopIteration as finished:
            return events, finished.value
