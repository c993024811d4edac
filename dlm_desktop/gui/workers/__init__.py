"""Background work for the window: one QObject worker on its own QThread per job (ARCHITECTURE.md)."""

from dlm_desktop.gui.workers.event_jobs import EventJobRunner
from dlm_desktop.gui.workers.jobs import JobRunner

__all__ = ["EventJobRunner", "JobRunner"]
