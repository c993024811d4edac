"""How the Train pane's run is handed to its worker thread: the trainer, on a thread that yields the CPU to the
window's thread first. Qt-free (the factory is called on the `EventJobRunner`'s worker thread)."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable

from dlm_desktop.core.training import TrainRequest

# Added to the training thread's nice value: the window's thread wins the CPU at once, while training still
# gets most of it next to other busy programs (+10 starved it to a few percent on a loaded machine).
BACKGROUND_NICENESS = 3


def lower_thread_priority() -> None:
    """Make the calling thread (and the compute threads it starts) yield the CPU to the window's thread.

    Linux only (a thread's nice value; the OpenMP threads torch starts from it inherit it); elsewhere the
    scheduler already favours the foreground app's UI thread.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + BACKGROUND_NICENESS))
    except OSError:  # not allowed here: training simply runs at the normal priority
        pass


def background_job(trainer: Callable[..., Any], request: TrainRequest) -> Callable[[Callable[[], bool]], Any]:
    """The factory the runner calls on its worker thread: lower that thread's priority, then train."""

    def job(should_stop: Callable[[], bool]) -> Any:
        lower_thread_priority()
        return trainer(request, should_stop=should_stop)

    return job

