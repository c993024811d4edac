"""The chat pane's Qt-free decisions: when a document can chat, the fine-tuned side's choices, the sentences
of a verdict and of a failure, and where the model is placed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from dlm_desktop.core.inference.errors import AdapterLoadError
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.store.versions import allocate_version, set_current
from dlm_desktop.gui.chat_logic import (
    INVALID, READY, UNTRAINED, chat_availability, describe_failure, rich_text, route_choices, section_rows,
    sections_caption,
    session_placement, verdict_sentences,
)
from dlm_desktop.gui.document_check import check_document_text
from tests.gui.gui_helpers import GOOD_DOCUMENT

DLM_ID = "01JDXMDESKTQPEXAMP1E000009"  # GOOD_DOCUMENT's
TWO = GOOD_DOCUMENT.replace("training:\n  seed: 3\n",
                            "system_prompt: Be brief.\ntraining:\n  adapters:\n    alpha: {}\n    beta: {}\n")


def checked(tmp_path: Path, text: str = GOOD_DOCUMENT):
    path = tmp_path / "doc.dlm"
    path.write_text(text, encoding="utf-8")
    return check_document_text(text, path)


def commit(name: str | None) -> None:
    store = StorePaths.for_dlm(DLM_ID)
    folder = allocate_version(store, name)
    (folder / "adapter_config.json").write_text("{}", encoding="utf-8")
    set_current(store, folder, name=name)


def test_a_document_is_ready_once_every_adapter_has_a_current_version(tmp_path):
    assert chat_availability(None).title == "Open a document to chat with it"
    assert chat_availability(checked(tmp_path, "---\nnot yaml: [\n---\n")).state == INVALID
    flat = chat_availability(checked(tmp_path))
    assert flat.state == UNTRAINED and "no trained adapter" in flat.message
    commit(None)
    flat = chat_availability(checked(tmp_path))
    assert flat.state == READY and flat.adapters == ("default",) and not flat.declared
    assert [c.key for c in route_choices(flat)] == ["single"]

    commit("alpha")
    two = chat_availability(checked(tmp_path, TWO))
    assert two.state == UNTRAINED and "Adapter “beta” has no trained version" in two.message and two.system_prompt == "Be brief."
    commit("beta")
    two = chat_availability(checked(tmp_path, TWO))
    assert two.ready and not two.gate_trained
    choices = route_choices(two)
    assert [c.key for c in choices] == ["gate", "adapter:alpha", "adapter:beta", "static"]
    assert choices[0].label == "Equal mix (gate not trained)" and choices[2].adapter == "beta"


def test_verdicts_sections_failures_and_placement_read_well():
    report = SimpleNamespace(status="ok", verdict="green", z=4.25, notices=[], sections=[
        {"section_id": "a", "type": "instruction", "start_line": 12, "adapter": "alpha", "nll_base": 3.0,
         "nll_finetuned": 2.0, "drop": 1.0, "internalization": 0.75},
        {"section_id": "b", "type": "prose", "start_line": 0, "adapter": None, "nll_base": 3.0,
         "nll_finetuned": 2.75, "drop": 0.25, "internalization": None},
    ])
    headline, explanation = verdict_sentences(report)
    assert headline == "Yes, it learned your document" and "4.2σ above random adapters" in explanation
    assert verdict_sentences(SimpleNamespace(status="cancelled"))[0] == "Check stopped"
    rows = section_rows(report)
    assert rows[0][:2] == ("Line 12 · Q&A · alpha", 0.75) and rows[1][:2] == ("Source file · prose", 0.25)
    assert [row[3] for row in rows] == [False, False]  # both losses fell
    # both losses fell: the caption says a short bar is relative, not a loss
    assert "Every section's loss dropped (by 0.25 to 1.00)" in sections_caption(report)
    report.sections[1]["drop"] = -0.4
    assert [row[3] for row in section_rows(report)] == [False, True]
    assert sections_caption(report).startswith("The model got worse on its own text for a source file")
    assert sections_caption(SimpleNamespace(sections=[])) == ""

    title, body, details = describe_failure(AdapterLoadError("adapter 'x' is broken", fix="train it again",
                                                             path="/tmp/x"))
    assert (title, body, details) == ("Adapter 'x' is broken", "Train it again", "/tmp/x")
    try:
        raise ValueError("boom")
    except ValueError as exc:
        title, body, details = describe_failure(exc)
    assert body == "ValueError: boom" and "Traceback" in details
    assert rich_text("a <b> & c\nd") == "a &lt;b&gt; &amp; c<br>d"

    cuda = SimpleNamespace(report=SimpleNamespace(backend=SimpleNamespace(value="cuda")))
    assert session_placement(cuda) == ("cuda", "float32") and session_placement(None) == ("cpu", "float32")


def test_a_short_bar_is_red_only_when_the_sections_loss_rose(qtbot):
    from PySide6.QtGui import QColor

    from dlm_desktop.gui.theme import LIGHT
    from dlm_desktop.gui.widgets.section_bars import LABEL_SHARE, ROW_HEIGHT, SectionBars

    bars = SectionBars()
    qtbot.addWidget(bars)
    bars.resize(400, 3 * ROW_HEIGHT)
    bars.set_rows([("learned most", 1.0, "", False), ("learned less", -1.0, "", False), ("got worse", -1.0, "", True)])
    image = bars.grab().toImage()
    label_width = 400 * LABEL_SHARE
    zero = label_width + 6 + (400 - label_width - 6) / 2

    def color_at(x: float, row: int) -> str:
        pixel = image.pixelColor(int(x * image.width() / 400), int((row + 0.5) * ROW_HEIGHT * image.height() / bars.height()))
        return pixel.name()

    assert color_at(zero + 20, 0) == QColor(LIGHT.success).name()
    assert color_at(zero - 20, 1) == QColor(LIGHT.muted).name()
    assert color_at(zero - 20, 2) == QColor(LIGHT.error).name()
