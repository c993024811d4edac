"""Overfitting watch: a warning, once per adapter, when validation loss climbs well above its lowest point.

Few rows and many steps make a model recite its training rows; the validation loss then rises while the
training loss keeps falling. `watch_overfitting` forwards a run's events and adds an `OverfitWarning` after
the evaluation that shows it: the loss is `RISE` times its lowest or more, after rising `EVALS` evaluations
in a row (one noisy evaluation is not a trend).
"""

from __future__ import annotations

from typing import Generator, TypeVar

from dlm_desktop.core.training.events import EvalCompleted, OverfitWarning, TrainingEvent

RISE = 1.10
EVALS = 2
Result = TypeVar("Result")


class OverfitWatch:
    """Follows the evaluations of each adapter; `observe` returns the warning the first time it applies."""

    def __init__(self) -> None:
        self._best: dict[str, tuple[float, int]] = {}
        self._last: dict[str, float] = {}
        self._rising: dict[str, int] = {}
        self._warned: set[str] = set()

    def observe(self, event: EvalCompleted) -> OverfitWarning | None:
        adapter = event.adapter or "default"
        previous = self._last.get(adapter)
        self._rising[adapter] = self._rising.get(adapter, 0) + 1 if previous is not None and \
            event.val_loss > previous else 0
        self._last[adapter] = event.val_loss
        best = self._best.get(adapter)
        if best is None or event.val_loss < best[0]:
            self._best[adapter] = (event.val_loss, event.step)
            return None
        lowest, at_step = best
        if adapter in self._warned or self._rising[adapter] < EVALS or event.val_loss < lowest * RISE:
            return None
        self._warned.add(adapter)
        who = "" if adapter == "default" else f"Adapter “{adapter}”: "
        message = (f"{who}Validation loss is rising ({lowest:.2f} at step {at_step}, {event.val_loss:.2f} at step "
                   f"{event.step}): the model now fits its training rows better than the held-out ones. If its "
                   "answers to new questions get worse, train fewer steps or lower the learning rate; more varied "
                   "rows help most.")
        return OverfitWarning(message, "warning", adapter=adapter, best_step=at_step)


def watch_overfitting(
    events: Generator[TrainingEvent, None, Result],
) -> Generator[TrainingEvent, None, Result]:
    """`events`, each forwarded, with an `OverfitWarning` after the evaluation that shows overfitting."""
    watch = OverfitWatch()
    while True:
        try:
            event = next(events)
        except StopIteration as finished:
            return finished.value
        yield event
        if isinstance(event, EvalCompleted):
            warning = watch.observe(event)
            if warning is not None:
                yield warning
