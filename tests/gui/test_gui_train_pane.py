"""The Train pane drives a real training run on the tiny model through its buttons and keyboard shortcuts:
the plan before start, the offer to save first, a failing base that leaves the pane usable, then start →
live progress and loss → cancel (a checkpoint is kept) → resume → finished, with the run in the history and
a version in the store."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from dlm_desktop.core.store.versions import resolve_current
from dlm_desktop.core.training import StepCompleted, read_checkpoint_meta, train_document
from dlm_desktop.gui.main_window import PANE_TRAIN
from dlm_desktop.gui.panes.train_pane import TrainPane
from tests.core.training.training_helpers import store_for, tiny_document
from tests.gui.gui_helpers import open_and_check
from tests.tiny_models import tiny_chat_model_dir  # noqa: F401  (fixture)

TIMEOUT = 60_000


class HeldTrainer:
    """The real trainer, held after its first optimizer step until the test lets it go: so Cancel lands
    mid-run however fast or slow this machine is (no sleeps, no timing)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.hold = True
        self.requests = []

    def __call__(self, request, *, should_stop):
        self.requests.append(request)
        return self._run(train_document(request, should_stop=should_stop))

    def _run(self, job):
        held = False
        while True:
            try:
                event = next(job)
            except StopIteration as done:
                return done.value
            yield event
            if self.hold and not held and isinstance(event, StepCompleted):
                held = True
                assert self.release.wait(TIMEOUT / 1000)


@pytest.fixture
def held_trainer(make_window):
    """Depends on make_window so it is torn down first: a held worker is always let go before the join."""
    trainer = HeldTrainer()
    yield trainer
    trainer.release.set()


@pytest.fixture
def pane_on_document(qtbot, make_window, tmp_path, held_trainer):
    window = make_window()
    pane: TrainPane = window.train_pane
    pane.trainer = held_trainer
    window.show_pane(PANE_TRAIN)
    doc = tiny_document(tmp_path / "doc")
    with qtbot.waitSignal(pane.overview_updated, timeout=TIMEOUT):
        open_and_check(qtbot, window, doc)
    return window, pane, doc


def _set_base(qtbot, pane: TrainPane, text: str) -> None:
    """Type a base into the pane's option field and wait for the plan made with it."""
    edit = pane.plan_card.base_edit
    with qtbot.waitSignal(pane.overview_updated, timeout=TIMEOUT):
        edit.clear()
        qtbot.keyClicks(edit, text)


def test_plan_is_shown_before_start(pane_on_document):
    _window, pane, _doc = pane_on_document
    values = {name: label.text() for name, label in pane.plan_card.values.items()}
    assert values["Base model"].startswith("smollm2-135m") and "135M parameters" in values["Base model"]
    assert values["Rows"].startswith("11 for training, 2 for validation")
    assert values["Steps"].startswith("6 (2 epochs)")
    assert pane.plan_card.start_button.isEnabled() and not pane.plan_card.cancel_button.isEnabled()
    assert pane.plan_card.resume_button.isHidden()
    assert pane.history_model.rowCount() == 0


def test_failure_is_readable_then_train_cancel_resume(qtbot, pane_on_document, tiny_chat_model_dir, tmp_path):
    window, pane, doc = pane_on_document
    card = pane.plan_card

    # Unsaved changes: the pane offers to save, then a base that does not exist fails readably.
    _set_base(qtbot, pane, str(tmp_path / "no-such-model"))
    edit = window.editor.document().find("It was lit in 1871.")
    edit.insertText("It was lit in 1871. Its lantern room has eight windows.")  # the rows and their split stay
    card.start_button.click()
    assert not pane.is_training() and "Save the document first" in pane.banner.text()
    with qtbot.waitSignal(pane.training_failed, timeout=TIMEOUT) as failed:
        pane.banner.trigger_action("Save and train")
    assert not window.session.is_modified() and "eight windows" in doc.read_text(encoding="utf-8")
    assert type(failed.args[0]).__name__ == "BaseModelFolderError"
    assert pane.banner.severity() == "error"
    assert "Training could not start" in pane.banner.text() and "No model folder" in pane.banner.text()
    assert card.start_button.isEnabled() and not pane.is_training()

    # A real run: live progress and loss, then Cancel (Esc) keeps a checkpoint.
    _set_base(qtbot, pane, str(tiny_chat_model_dir))

    def has_a_point() -> bool:
        return bool(pane.live.chart.points("train"))

    with qtbot.waitSignal(pane.progress_updated, timeout=TIMEOUT, check_params_cb=has_a_point):
        with qtbot.waitSignal(pane.training_started, timeout=TIMEOUT):
            card.start_button.click()
    assert pane.is_training() and not card.start_button.isEnabled() and card.cancel_button.isEnabled()
    assert pane.live.progress.value() > 0 and pane.live.numbers["Tokens/s"].text() != "—"
    assert pane.live.chart.points("train")[0][0] == 1
    pane.setFocus()
    with qtbot.waitSignal(pane.training_finished, timeout=TIMEOUT) as cancelled:
        qtbot.keyClick(pane, Qt.Key.Key_Escape)
        assert card.cancel_button.text() == "Cancelling…" and not card.cancel_button.isEnabled()
        pane.trainer.release.set()
    result = cancelled.args[0]
    assert result.status == "cancelled" and result.checkpoint is not None
    assert read_checkpoint_meta(store_for(_dlm_home())) is not None
    assert "Training cancelled" in pane.banner.text()
    assert card.resume_button.isVisible() and card.resume_button.isEnabled()
    assert card.start_button.text() == "Start over"
    card.start_button.click()  # would discard the saved progress: the pane asks first
    assert not pane.is_training() and "Start over?" in pane.banner.text()
    assert pane.banner.action_labels() == ["Start over", "Resume"]

    # Resume from the keyboard (Ctrl+Return runs the primary action): it finishes where the plan said.
    pane.trainer.hold = False
    pane.setFocus()

    def lists_the_finished_run(overview) -> bool:
        return any(run.status == "ok" for run in overview.store.runs)

    with qtbot.waitSignals([pane.training_finished, pane.overview_updated], timeout=TIMEOUT,
                           check_params_cbs=[None, lists_the_finished_run]):
        qtbot.keyClick(card.steps_spin, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert pane.trainer.requests[-1].resume is True
    finished = pane.last_result
    assert finished.status == "ok" and finished.adapters
    assert pane.plan_card.values["Steps"].text().startswith(f"{finished.steps} (2 epochs)")
    assert [step for step, _ in pane.live.chart.points("train")] == list(range(1, finished.steps + 1))
    assert pane.live.chart.points("val") and pane.live.progress.value() == pane.live.progress.maximum()
    assert "Training finished" in pane.banner.text() and card.resume_button.isHidden()

    # The history lists the run, the store has its version.
    runs = pane.history_model.runs()
    assert [(run.status, run.steps) for run in runs] == [("ok", finished.steps)]
    assert pane.history_model.status_text(runs[0]) == "Completed"
    paths = store_for(_dlm_home())
    assert resolve_current(paths) == paths.version_dir(1) and paths.version_dir(1).is_dir()
    assert read_checkpoint_meta(paths) is None


def _dlm_home() -> Path:
    return Path(os.environ["DLM_HOME"])



def test_each_adapter_and_the_gate_get_a_stage_and_a_curve(qtbot):
    """A two-adapter run with a gate, as the trainer reports it: each adapter has its own stage and loss curve,
    the gate a stage of its own, and the progress bar covers the three stages in turn."""
    from dlm_desktop.core.training import RunFinished, StageStarted
    from dlm_desktop.gui.train_progress import DONE, RUNNING, RunProgress
    from dlm_desktop.gui.widgets.loss_chart import LossChart

    def step(n, total, adapter, loss):
        return StepCompleted(n, total, loss, 1e-3, 0.0 if adapter is None else 50.0, 1.0, 1.0, adapter)

    progress = RunProgress(["astro", "keeper"], gate=True)
    chart = LossChart()
    qtbot.addWidget(chart)
    first = progress.apply([StageStarted("adapter", "astro", 2, 0, 3), step(1, 2, "astro", 3.0)])
    chart.add_points("train", first.train_points)
    assert [s.state for s in progress.stages] == [RUNNING, "waiting", "waiting"]
    assert progress.fraction() == pytest.approx(1 / 6)
    assert progress.status_text() == "Training adapter “astro”: step 1 of 2"
    later = progress.apply([step(2, 2, "astro", 2.0), StageStarted("adapter", "keeper", 4, 1, 3),
                            step(1, 4, "keeper", 4.0), StageStarted("gate", None, 20, 2, 3), step(5, 20, None, 0.7)])
    chart.add_points("train", later.train_points)
    assert [s.state for s in progress.stages] == [DONE, DONE, RUNNING]
    assert progress.stages[2].title().startswith("Gate")
    assert progress.status_text() == "Training the gate: step 5 of 20"
    assert progress.fraction() == pytest.approx((2 + 5 / 20) / 3)
    assert chart.points("train", "astro") == [(1, 3.0), (2, 2.0)] and chart.points("train", "keeper") == [(1, 4.0)]
    assert progress.loss == 4.0  # the gate's routing loss is not the adapters' loss
    progress.apply([RunFinished("ok", 26, 4.0, None, 12.0)])
    assert all(s.state == DONE for s in progress.stages) and progress.fraction() == 1.0


def test_the_cores_overfitting_warning_reaches_the_log_and_the_banner_text():
    from dlm_desktop.core.training import OverfitWarning
    from dlm_desktop.gui.train_progress import RunProgress

    progress = RunProgress()
    warning = OverfitWarning("Validation loss is rising (…)", "warning", adapter="default", best_step=10)
    assert progress.apply([warning]).log == [("warning", "Validation loss is rising (…)")]
    assert progress.overfitting == {"default": "Validation loss is rising (…)"}


def test_the_batch_line_says_when_every_step_sees_all_the_rows():
    from types import SimpleNamespace

    from dlm_desktop.gui.panes.train_cards import _batch_text

    plan = SimpleNamespace(micro_batch_size=16, grad_accum=1, effective_batch_size=16)
    small = SimpleNamespace(adapters=[SimpleNamespace(train_rows=7)], seq_len=512)
    large = SimpleNamespace(adapters=[SimpleNamespace(train_rows=40)], seq_len=512)
    assert _batch_text(plan, small) == "all 7 rows in every step (room for 16) · up to 512 tokens a row"
    assert _batch_text(plan, large) == "16 × 1 = 16 rows per step · up to 512 tokens a row"


def test_an_unexpected_error_is_explained_with_its_traceback_on_demand():
    from dlm_desktop.core.models import BaseModelFolderError
    from dlm_desktop.gui.train_overview import describe_failure

    try:
        raise RuntimeError("the disk went away")
    except RuntimeError as exc:
        title, body, details = describe_failure(exc, started=True)
    assert title == "Training stopped" and "RuntimeError: the disk went away" in body and "report this" in body
    assert "Traceback" in details and "test_an_unexpected_error" in details
    title, body, details = describe_failure(BaseModelFolderError("No model folder at `/x`.", fix="check the path"),
                                            started=False)
    assert (title, body) == ("Training could not start", "No model folder at `/x`. Check the path")
