"""The Train pane's words and background reads, Qt-free: the plan and history of a document
(`inspect_training`), and the sentences for a finished, cancelled or failed run."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dlm_desktop.core.errors import DlmDesktopError
from dlm_desktop.core.training import TrainResult
from dlm_desktop.gui.run_history import StoreState, read_store_state
from dlm_desktop.gui.train_plan import PlanSummary, format_duration, summarize_plan


@dataclass(frozen=True)
class DocumentHooks:
    """How the pane reaches the open document: its path (None: untitled), unsaved changes, and Save."""

    path: Callable[[], Path | None]
    is_modified: Callable[[], bool]
    save: Callable[[], bool]


@dataclass(frozen=True)
class TrainOverview:
    """The plan and the store's state for one document (what `inspect_training` found)."""

    dlm_id: str
    plan: PlanSummary | None
    store: StoreState = field(default_factory=StoreState)
    problem: str | None = None


def inspect_training(report: Any, caps: Any, base_override: str, max_steps: int | None) -> TrainOverview:
    """Read the store and plan the run (background thread; see `read_store_state` and `summarize_plan`).

    The speed of the last completed run times the estimate, unless this run uses another base.
    """
    dlm_id = report.frontmatter.dlm_id
    store = read_store_state(dlm_id)
    try:
        plan = summarize_plan(report, caps, base_override=base_override, max_steps=max_steps,
                              tokens_per_second=None if base_override else store.tokens_per_second)
    except DlmDesktopError as exc:
        return TrainOverview(dlm_id, None, store, exc.one_line())
    return TrainOverview(dlm_id, plan, store)


def describe_failure(error: BaseException, started: bool) -> tuple[str, str, str]:
    """(title, body, details) for a run that raised: the core's message and fix, or a plain account."""
    title = "Training stopped" if started else "Training could not start"
    if isinstance(error, DlmDesktopError):
        fix = error.fix.strip()
        body = f"{error.message.rstrip('.')}. " + (fix[0].upper() + fix[1:] if fix else "")
        return title, body.strip(), error.one_line()
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    body = (f"An unexpected error happened: {type(error).__name__}: {error}. Your document and the versions "
            "already trained are safe; please report this with the details.")
    return title, body, details


def describe_result(result: TrainResult) -> tuple[str, str, str]:
    """(title, body, details) of a run that ended normally (finished or cancelled)."""
    loss = ""
    if result.first_loss is not None and result.final_train_loss is not None:
        loss = f" · loss {result.first_loss:.3f} → {result.final_train_loss:.3f}"
    if result.final_val_loss is not None:
        loss += f" (validation {result.final_val_loss:.3f})"
    took = f"{result.steps} steps in {format_duration(result.duration_s)}"
    if result.status != "ok" and result.checkpoint is None:
        return ("Training cancelled", "Stopped before the first step, so there is nothing to resume: Start trains "
                "from the beginning.", "")
    if result.status != "ok":
        return ("Training cancelled", f"Stopped after {took}{loss}. The progress is saved: Resume continues "
                "exactly where it stopped.", str(result.checkpoint))
    speed = f" · {result.tokens_per_second:,.0f} tokens/s" if result.tokens_per_second else ""
    saved = ", ".join(f"“{name}” as {path.name}" for name, path in result.adapters.items())
    gate = f" The gate was {result.gate.mode}." if result.gate is not None else ""
    body = f"{took}{loss}{speed}. Saved {saved}.{gate} Try it in the Chat tab, or export it."
    return "Training finished", body, "\n".join(f"{name}: {path}" for name, path in result.adapters.items())


def history_text(store: StoreState) -> str:
    """The line beside the history's title: the current versions and where the store is."""
    if store.problem:
        return store.problem
    versions = ", ".join(f"{name} v{number:04d}" for name, number in store.current_versions.items())
    where = f" · stored in {store.store}" if store.store is not None else ""
    return (f"current: {versions}" if versions else "no trained version yet") + where
