"""The overfitting watch: one warning per adapter once validation loss has clearly turned upwards."""

from __future__ import annotations

from dlm_desktop.core.training import EvalCompleted, OverfitWarning, StepCompleted
from dlm_desktop.core.training.overfitting import watch_overfitting
from tests.jobs import drain


def run(events, result="done"):
    yield from events
    return result


def evals(losses, adapter=None):
    return [EvalCompleted(5 * (i + 1), loss, 0.0, adapter) for i, loss in enumerate(losses)]


def warnings(seen):
    return [event for event in seen if isinstance(event, OverfitWarning)]


def test_a_noisy_but_falling_validation_loss_gives_no_warning():
    seen, result = drain(watch_overfitting(run(evals([2.0, 1.8, 1.85, 1.7, 1.75, 1.6]))))
    assert warnings(seen) == [] and result == "done" and len(seen) == 6


def test_a_rising_validation_loss_is_warned_about_once_right_after_the_evaluation_that_shows_it():
    step = StepCompleted(1, 30, 1.0, 1e-3, 50.0, 1.0, 1.0, None)
    events = [step, *evals([2.0, 1.9, 2.3, 2.6, 3.0, 3.5])]
    seen, result = drain(watch_overfitting(run(events, "ok")))
    found = warnings(seen)
    assert result == "ok" and len(found) == 1
    warning = found[0]
    assert seen[seen.index(warning) - 1] == EvalCompleted(20, 2.6, 0.0, None)  # 2.3 then 2.6: risen twice
    assert warning.level == "warning" and warning.best_step == 10 and warning.adapter == "default"
    assert warning.message.startswith("Validation loss is rising (1.90 at step 10, 2.60 at step 20)")
    assert "train fewer steps" in warning.message


def test_each_adapter_is_watched_on_its_own():
    events = evals([2.0, 2.5, 3.0], "astro") + evals([2.0, 1.5, 1.4], "keeper") + evals([1.0, 1.2, 1.5], "moon")
    found = warnings(drain(watch_overfitting(run(events)))[0])
    assert [w.adapter for w in found] == ["astro", "moon"]
    assert found[0].message.startswith("Adapter “astro”: Validation loss is rising")
