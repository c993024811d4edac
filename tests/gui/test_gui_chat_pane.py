"""The chat pane on a document trained for real on the tiny chat model (two adapters and a learned gate):
questions asked through the pane's own widgets stream both answers side by side with the gate weights, Stop
(Esc) ends a running answer, λ = 0 answers like the base, "did it learn?" shows a coloured verdict, an
untrained document shows "train first", and a failure is a readable message in a window that stays usable."""

from __future__ import annotations

import math
import threading

import pytest
from PySide6.QtCore import Qt

from dlm_desktop.core.inference.generation import TokenEvent
from dlm_desktop.core.training import TrainRequest, train_document
from dlm_desktop.gui import chat_logic
from dlm_desktop.gui.main_window import PANE_CHAT, PANE_TRAIN
from dlm_desktop.gui.panes.chat_pane import PAGE_CHAT, PAGE_EMPTY
from tests.core.training.training_helpers import drain, two_adapter_document
from tests.gui.gui_helpers import open_and_check
from tests.tiny_models import tiny_chat_model_dir  # noqa: F401  (fixture)

QUESTION = "How tall is the tower?"
SYSTEM = "You answer briefly."
ANSWER_TIMEOUT = 120_000


@pytest.fixture(scope="module")
def trained_store(tmp_path_factory, tiny_chat_model_dir):  # noqa: F811
    """A two-adapter document whose base is the tiny model, trained for real (both LoRAs, then the gate) with
    a learning rate high enough that the fine-tuned greedy answer differs from the base's. (document, home)"""
    root = tmp_path_factory.mktemp("chat-pane")
    doc = two_adapter_document(root / "doc")
    text = doc.read_text(encoding="utf-8")
    text = text.replace("base_model: smollm2-135m\n", f"base_model: {tiny_chat_model_dir}\nsystem_prompt: {SYSTEM}\n")
    text = text.replace("learning_rate: 0.01", "learning_rate: 0.1")
    text = text.replace("lora_alpha: 8\n", "lora_alpha: 8\n      learning_rate: 0.1\n")
    doc.write_text(text, encoding="utf-8")
    home = root / "home"
    _, result = drain(train_document(TrainRequest(doc, home=home)))
    assert result.status == "ok"
    return doc, home


@pytest.fixture
def trained_doc(trained_store, monkeypatch):
    doc, home = trained_store
    monkeypatch.setenv("DLM_HOME", str(home))
    return doc


def open_chat(qtbot, window, path):
    open_and_check(qtbot, window, path)
    window.show_pane(PANE_CHAT)
    assert window.tabs.currentWidget() is window.chat_pane
    return window.chat_pane


def ask(qtbot, pane, question: str = QUESTION):
    """Type the question and press Ctrl+Return; returns the ChatResult."""
    pane.question_box.clear()
    qtbot.keyClicks(pane.question_box, question)
    with qtbot.waitSignal(pane.answer_finished, timeout=ANSWER_TIMEOUT) as finished:
        qtbot.keyClick(pane.question_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: pane.ask_button.isEnabled(), timeout=10_000)
    return finished.args[0]


def greedy(pane, max_tokens: int) -> None:
    pane.controls.temperature.setValue(0.0)
    pane.controls.max_tokens.setValue(max_tokens)


def test_both_answers_stream_side_by_side_with_the_gate_weights(qtbot, window, trained_doc):
    pane = open_chat(qtbot, window, trained_doc)
    assert pane.stack.currentIndex() == PAGE_CHAT
    assert SYSTEM in pane.system_prompt.text()
    labels = [pane.controls.route.itemText(i) for i in range(pane.controls.route.count())]
    assert labels == ["Learned gate (per question)", "Only “astro”", "Only “keeper”", "Static mix (as exported)"]
    greedy(pane, 40)

    result = ask(qtbot, pane)
    assert pane.base_view.text() == result.base.text and pane.finetuned_view.text() == result.finetuned.text
    assert len(result.base.token_ids) == 40  # the tiny base never ends its turn
    # streamed: every token reached the cards through the batched events, not only the final result
    assert pane.base_view.tokens == 40 and pane.finetuned_view.tokens == len(result.finetuned.token_ids)
    assert pane.base_view.appended_batches >= 1 and pane.finetuned_view.appended_batches >= 1
    gate = pane.finetuned_view.gate_bar
    assert gate.isVisible() and result.routed.gate_mode == "trained"
    assert set(gate.weights) == {"astro", "keeper"} and math.isclose(sum(gate.weights.values()), 1.0, abs_tol=1e-6)
    assert gate.text().startswith("Learned gate: astro")
    assert "Answered in" in pane.status.text() and "40 tokens" in pane.base_view.status.text()

    loaded = pane.session.loaded
    pane.controls.select_route("adapter:keeper")
    second = ask(qtbot, pane)
    assert second.routed.weights == {"astro": 0.0, "keeper": 1.0}
    assert gate.text().startswith("One adapter: astro 0%, keeper 100%")
    assert pane.session.loaded is loaded  # the model stayed loaded: the second question does not reload it

    pane.controls.select_route("static")
    third = ask(qtbot, pane)
    assert third.routed.gate_mode == "static" and gate.text().startswith("Static mix")
    assert math.isclose(sum(third.routed.weights.values()), 1.0, abs_tol=1e-6)


def test_lambda_zero_answers_exactly_like_the_base(qtbot, window, trained_doc):
    pane = open_chat(qtbot, window, trained_doc)
    greedy(pane, 16)
    tuned = ask(qtbot, pane)
    assert tuned.finetuned.token_ids != tuned.base.token_ids  # training changed the greedy answer

    pane.controls.strength.setFocus()
    qtbot.keyClick(pane.controls.strength, Qt.Key.Key_Home)  # λ slider to 0
    assert pane.controls.strength_label.text() == "λ 0.00"
    base_like = ask(qtbot, pane)
    assert base_like.routed.strength == 0.0
    assert base_like.finetuned.token_ids == base_like.base.token_ids
    assert pane.finetuned_view.text() == pane.base_view.text()
    assert pane.finetuned_view.gate_bar.text().endswith("λ 0.00")


def test_stop_ends_a_running_answer(qtbot, window, trained_doc, monkeypatch):
    """The real job is held after its first token, so the test sees the answer streaming while it runs."""
    released = threading.Event()
    real = chat_logic.prompt_document

    def held_after_first_token(request, **kwargs):
        """The real chat job, holding after its first token until the test has pressed Esc."""
        job = real(request, **kwargs)
        try:
            while True:
                event = next(job)
                yield event
                if isinstance(event, TokenEvent):
                    released.wait(30)
        except StopIteration as done:
            return done.value

    monkeypatch.setattr(chat_logic, "prompt_document", held_after_first_token)
    pane = open_chat(qtbot, window, trained_doc)
    greedy(pane, 200)
    qtbot.keyClicks(pane.question_box, QUESTION)
    try:
        qtbot.mouseClick(pane.ask_button, Qt.MouseButton.LeftButton)
        assert pane.progress.isVisible() and pane.status.text() == "Loading the model…"  # loading takes seconds
        qtbot.waitUntil(lambda: pane.base_view.tokens > 0, timeout=ANSWER_TIMEOUT)
        assert pane.is_busy() and pane.stop_button.isEnabled() and not pane.ask_button.isEnabled()
        assert pane.base_view.status.text().startswith("Writing…")  # the first token is shown while it runs
        qtbot.keyClick(pane.question_box, Qt.Key.Key_Escape)
        assert pane.status.text() == "Stopping…"
        with qtbot.waitSignal(pane.answer_finished, timeout=ANSWER_TIMEOUT) as finished:
            released.set()
    finally:
        released.set()
    result = finished.args[0]
    assert result.cancelled and result.finetuned.finish_reason == "cancelled"
    assert len(result.base.token_ids) < 200
    assert pane.status.text() == "Stopped." and "stopped by you" in pane.finetuned_view.status.text()
    qtbot.waitUntil(lambda: not pane.is_busy() and pane.ask_button.isEnabled(), timeout=10_000)


def test_did_it_learn_shows_a_coloured_verdict_section_bars_and_the_lambda_curve(qtbot, window, trained_doc):
    pane = open_chat(qtbot, window, trained_doc)
    panel = pane.probe_panel
    assert panel.run_button.isEnabled() and not panel.verdict.isVisible()
    with qtbot.waitSignal(pane.check_finished, timeout=ANSWER_TIMEOUT) as finished:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        assert not panel.run_button.isEnabled() and panel.progress.isVisible()
    report = finished.args[0]
    assert report.status == "ok" and panel.verdict_key == report.verdict in ("green", "yellow", "red")
    assert panel.verdict.isVisible() and panel.verdict.text() == chat_logic.VERDICTS[report.verdict][0]
    colors = window.theme.colors
    strong = {"green": colors.success, "yellow": colors.warning, "red": colors.error}[report.verdict]
    assert f"color: {strong}" in panel.verdict.styleSheet()
    assert "σ above random adapters" in panel.explanation.text()
    rows = panel.section_bars.rows()
    assert len(rows) == len(report.sections) > 1 and rows[0][0].startswith("Line ")
    # a bar left of the centre is explained: relative, or a loss that really rose
    assert panel.sections_caption.isVisible()
    assert panel.sections_caption.text() == chat_logic.sections_caption(report)
    assert any(word in panel.sections_caption.text() for word in ("not forgotten", "got worse"))
    points = panel.curve.points()
    assert [x for x, _ in points] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25] and points[0][1] == pytest.approx(0.0)
    assert points[-1][1] > points[1][1]  # a stronger adapter moves further from the base
    qtbot.waitUntil(lambda: panel.run_button.isEnabled(), timeout=10_000)


def test_an_untrained_document_shows_train_first_until_training_finishes(qtbot, window, trained_store,
                                                                         tmp_path, monkeypatch):
    doc, home = trained_store
    copy = tmp_path / "copy" / "two.dlm"
    copy.parent.mkdir()
    copy.write_text(doc.read_text(encoding="utf-8"), encoding="utf-8")  # this test's own (empty) store
    pane = open_chat(qtbot, window, copy)
    assert pane.stack.currentIndex() == PAGE_EMPTY
    assert pane.empty_page.title.text() == "Train first" and "no trained adapter" in pane.empty_page.body.text()
    assert pane.empty_page.train_button.isVisible() and not pane.ask()
    qtbot.mouseClick(pane.empty_page.train_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentIndex() == PANE_TRAIN

    monkeypatch.setenv("DLM_HOME", str(home))  # as if a training run had just filled the store
    window.train_pane.training_finished.emit(None)
    assert pane.stack.currentIndex() == PAGE_CHAT and pane.ask_button.isEnabled()


def test_a_failure_is_a_readable_message_and_the_window_stays_usable(qtbot, window, trained_doc, tmp_path):
    broken = tmp_path / "broken" / "two.dlm"
    broken.parent.mkdir()
    text = trained_doc.read_text(encoding="utf-8")
    start = text.index("base_model: ")
    end = text.index("\n", start)
    broken.write_text(text[:start] + "base_model: " + str(tmp_path / "no-such-model") + text[end:], encoding="utf-8")
    pane = open_chat(qtbot, window, broken)
    assert pane.stack.currentIndex() == PAGE_CHAT  # the adapters exist; only the base is missing
    greedy(pane, 8)
    qtbot.keyClicks(pane.question_box, QUESTION)
    with qtbot.waitSignal(pane.failure_shown, timeout=ANSWER_TIMEOUT) as failed:
        qtbot.keyClick(pane.question_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "No model folder" in failed.args[0]
    assert pane.banner.isVisible() and pane.banner.severity() == "error"
    assert "no-such-model" in pane.banner.text() and "Traceback" not in pane.banner.text()
    assert "Check the path" in pane.banner.body.text()
    qtbot.waitUntil(lambda: not pane.is_busy() and pane.ask_button.isEnabled(), timeout=10_000)

    open_chat(qtbot, window, trained_doc)  # the same pane answers for a good document
    assert pane.base_view.text() == "" and pane.asked.text() == ""
    result = ask(qtbot, pane)
    assert not result.cancelled and not pane.banner.isVisible()
