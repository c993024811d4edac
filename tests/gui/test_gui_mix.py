"""The training-mix pane: sliders per tag (implicit `section` / `adapter` included), a live preview computed as
training computes it, and `.dlm/training.yaml` written with its comments kept."""

from __future__ import annotations

from PySide6.QtCore import Qt

from dlm_desktop.core.document.pipeline import load_document
from dlm_desktop.gui.main_window import PANE_MIX
from tests.gui.gui_helpers import edit_and_check, open_and_check

COMMENTED_YAML = """# Training settings for this folder — keep this comment
dlm_training_version: 1
metadata:
  owner: museum   # who wrote these notes
weights:
  section:
    prose: 1.0    # a weight the user wrote by hand
"""


def _rows(window):
    return window.mix_pane.groups.rows()


def test_sliders_cover_implicit_section_and_adapter_tags(qtbot, window, example_copy):
    open_and_check(qtbot, window, example_copy("two-adapters.dlm"))
    rows = _rows(window)
    assert set(rows) == {
        ("section", "prose"), ("section", "instruction"), ("adapter", "astronomy"), ("adapter", "baking"),
    }
    assert rows[("section", "instruction")].rows.text() == "12 rows"
    assert rows[("section", "prose")].rows.text() == "1 row"
    assert rows[("adapter", "astronomy")].rows.text() == "6 rows"
    slider = rows[("adapter", "baking")].slider
    assert (slider.minimum(), slider.maximum()) == (0, 80)  # 0× … 4× in 0.05× steps
    assert slider.tickPosition() != slider.TickPosition.NoTicks


def test_moving_a_slider_writes_training_yaml_keeping_comments_and_updates_the_preview(
    qtbot, window, example_copy
):
    document = example_copy()
    config = document.parent / ".dlm" / "training.yaml"
    config.parent.mkdir()
    config.write_text(COMMENTED_YAML, encoding="utf-8")
    open_and_check(qtbot, window, document)
    window.show_pane(PANE_MIX)
    slider = _rows(window)[("section", "instruction")].slider
    slider.setFocus()
    with qtbot.waitSignal(window.mix_pane.weights_saved, timeout=10_000):
        with qtbot.waitSignal(window.mix_pane.preview_updated, timeout=5_000) as preview:
            qtbot.keyClick(slider, Qt.Key.Key_End)  # all the way: 4×
    tag = next(t for t in preview.args[0].tags if (t.key, t.value) == ("section", "instruction"))
    assert (tag.rows_before, tag.rows_after) == (7, 28)
    assert _rows(window)[("section", "instruction")].spin.value() == 4.0
    text = config.read_text(encoding="utf-8")
    assert "# Training settings for this folder — keep this comment" in text
    assert "owner: museum   # who wrote these notes" in text
    assert "prose: 1.0    # a weight the user wrote by hand" in text
    assert "instruction: 4.0" in text
    report = load_document(document)  # what training will see agrees with the preview
    assert len(report.expanded_rows) == preview.args[0].rows_after == 29


def test_spin_box_and_slider_agree(qtbot, window, example_copy):
    open_and_check(qtbot, window, example_copy())
    row = _rows(window)[("section", "prose")]
    row.spin.setValue(2.5)
    assert row.slider.value() == 50
    row.slider.setValue(10)
    assert row.spin.value() == 0.5
    assert window.mix_pane.weight_of("section", "prose") == 0.5


def test_zero_drops_rows_and_a_mix_without_rows_is_not_saved(qtbot, window, example_copy):
    document = example_copy()
    open_and_check(qtbot, window, document)
    rows = _rows(window)
    with qtbot.waitSignal(window.mix_pane.weights_saved, timeout=10_000):
        rows[("section", "prose")].slider.setValue(0)
    prose = window.mix_pane.preview_model.tag_preview("section", "prose")
    assert prose.rows_after == 0 and prose.tokens_after == 0
    assert rows[("section", "prose")].name.property("role") == "dropped"
    config = document.parent / ".dlm" / "training.yaml"
    saved = config.read_text(encoding="utf-8")
    assert "prose: 0.0" in saved
    rows[("section", "instruction")].slider.setValue(0)
    assert "nothing left to train" in window.mix_pane.preview.error or "drop every row" in window.mix_pane.preview.error
    assert window.mix_pane.preview_error.isVisibleTo(window.mix_pane)
    window.mix_pane.flush()
    assert config.read_text(encoding="utf-8") == saved
    assert window.mix_pane.status.text().startswith("Not saved")


def test_reset_removes_the_weights_and_keeps_the_rest(qtbot, window, example_copy):
    document = example_copy()
    config = document.parent / ".dlm" / "training.yaml"
    config.parent.mkdir()
    config.write_text(COMMENTED_YAML, encoding="utf-8")
    open_and_check(qtbot, window, document)
    assert _rows(window)[("section", "prose")].weight() == 1.0
    with qtbot.waitSignal(window.mix_pane.weights_saved, timeout=10_000):
        _rows(window)[("section", "instruction")].spin.setValue(3.0)
    with qtbot.waitSignal(window.document_checked, timeout=10_000):
        window.mix_pane.reset_button.click()
    text = config.read_text(encoding="utf-8")
    assert "weights" not in text
    assert "owner: museum   # who wrote these notes" in text
    assert all(row.weight() == 1.0 for row in _rows(window).values())
    assert window.mix_pane.preview.rows_after == window.mix_pane.preview.rows_before == 8


def test_moving_a_slider_back_to_1x_leaves_no_line_behind(qtbot, window, example_copy):
    document = example_copy()
    open_and_check(qtbot, window, document)
    row = _rows(window)[("section", "prose")]
    with qtbot.waitSignal(window.mix_pane.weights_saved, timeout=10_000):
        row.spin.setValue(2.0)
    with qtbot.waitSignal(window.mix_pane.weights_saved, timeout=10_000):
        row.spin.setValue(1.0)
    assert "prose" not in (document.parent / ".dlm" / "training.yaml").read_text(encoding="utf-8")


def test_editing_the_document_updates_row_counts_but_keeps_weights(qtbot, window, example_copy):
    open_and_check(qtbot, window, example_copy())
    row = _rows(window)[("section", "instruction")]
    with qtbot.waitSignal(window.mix_pane.weights_saved, timeout=10_000):
        row.spin.setValue(2.0)
    edit_and_check(qtbot, window, lambda: window.editor.appendPlainText("\n### Q\nIs it open today?\n\n### A\nYes."))
    row = _rows(window)[("section", "instruction")]
    assert row.rows.text() == "8 rows"
    assert row.weight() == 2.0
    assert window.mix_pane.preview_model.tag_preview("section", "instruction").rows_after == 16


def test_an_untitled_document_asks_to_be_saved_first(qtbot, window):
    with qtbot.waitSignal(window.document_checked, timeout=10_000):
        window.commands.new_document()
    assert _rows(window) == {}
    assert "Save the document first" in window.mix_pane.status.text()
    assert not window.mix_pane.reset_button.isEnabled()


def test_tags_from_source_metadata_get_their_own_sliders(qtbot, window, tmp_path):
    folder = tmp_path / "notes"
    (folder / "faq" / ".dlm").mkdir(parents=True)
    (folder / "faq" / "hours.txt").write_text("Open daily from 10 to 17.\n", encoding="utf-8")
    (folder / "faq" / ".dlm" / "training.yaml").write_text(
        "dlm_training_version: 1\nmetadata:\n  topic: faq\nweights:\n  topic:\n    faq: 3.0\n", encoding="utf-8"
    )
    (folder / "history.txt").write_text("Lit in 1871.\n", encoding="utf-8")
    with qtbot.waitSignal(window.document_checked, timeout=10_000):
        window.open_path(folder)
    rows = _rows(window)
    assert ("topic", "faq") in rows
    assert rows[("topic", "faq")].note.isVisibleTo(window.mix_pane)  # set by the folder's own training.yaml
    assert window.mix_pane.preview_model.tag_preview("topic", "faq").rows_after == 3


def test_f5_rereads_a_training_yaml_edited_elsewhere(qtbot, window, example_copy):
    document = example_copy()
    open_and_check(qtbot, window, document)
    config = document.parent / ".dlm" / "training.yaml"
    config.parent.mkdir(exist_ok=True)
    config.write_text("dlm_training_version: 1\nweights:\n  section:\n    prose: 3.0\n", encoding="utf-8")
    with qtbot.waitSignal(window.document_checked, timeout=10_000):
        window.check_now()
    assert _rows(window)[("section", "prose")].weight() == 3.0
    assert window.mix_pane.preview_model.tag_preview("section", "prose").rows_after == 3
