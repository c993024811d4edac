"""The Export pane on the real offline SmolLM2 with a real PEFT adapter in a real store: one click exports
(Ollama absent, so the pane shows the command to run later), progress names its stages, the result lists the
files and the parity verdict, Copy puts `ollama run NAME` on the clipboard; Cancel mid-conversion publishes
nothing; an invalid name is refused before anything starts; no adapter means "train first"; a broken adapter
becomes a readable message and the pane stays usable; several adapters offer the mix choices."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.gui.document_check import check_document_text
from dlm_desktop.gui.main_window import PANE_EXPORT
from dlm_desktop.gui.panes.export_pane import ExportPane
from tests.core.export.export_documents import EXPORT_DLM_ID as DLM_ID
from tests.core.export.export_documents import FRANCE_DOCUMENT as DOCUMENT
from tests.core.export.export_helpers import commit_adapter
from tests.gui.gui_helpers import EXAMPLES, open_and_check

pytestmark = pytest.mark.slow
EXPORT_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def peft_adapter(offline_smollm2_dir, tmp_path_factory) -> Path:
    """A real PEFT LoRA folder (r=4 on q_proj and v_proj of every layer) for SmolLM2, written from random arrays
    the way PEFT initialises A, with a non-zero B so the adapter changes the model (no model load needed)."""
    import numpy as np

    from dlm_desktop.core.export.lora_weights import LoraModule, LoraWeights, write_peft_adapter

    config = json.loads((offline_smollm2_dir / "config.json").read_text(encoding="utf-8"))
    hidden, rank, rng = config["hidden_size"], 4, np.random.default_rng(5)
    head_dim = config.get("head_dim") or hidden // config["num_attention_heads"]
    outputs = {"q_proj": config["num_attention_heads"] * head_dim, "v_proj": config["num_key_value_heads"] * head_dim}
    modules = {
        f"model.layers.{layer}.self_attn.{target}.weight": LoraModule(
            a=rng.uniform(-1, 1, (rank, hidden)).astype(np.float32) / np.sqrt(hidden),
            b=rng.normal(0.0, 0.02, (out, rank)).astype(np.float32), scaling=2.0)
        for layer in range(config["num_hidden_layers"]) for target, out in outputs.items()
    }
    return write_peft_adapter(LoraWeights(modules), tmp_path_factory.mktemp("gui-export") / "peft",
                              base_model=str(offline_smollm2_dir))


@pytest.fixture
def no_ollama(monkeypatch):
    """Ollama is absent: not on PATH and not in any of its usual install folders."""
    folders = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and not (Path(p) / "ollama").exists()]
    monkeypatch.setenv("PATH", os.pathsep.join(folders))
    monkeypatch.setattr("dlm_desktop.core.export.ollama.candidate_paths", lambda: [])
    assert shutil.which("ollama") is None


def write_document(folder: Path, text: str = DOCUMENT, name: str = "notes.dlm") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def fake_adapter(tmp_path: Path, name: str = "fake") -> Path:
    """A folder that is not a usable PEFT adapter (for tests that never get to read it, or must fail to)."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "README.txt").write_text("not an adapter", encoding="utf-8")
    return folder


@pytest.fixture
def trained_document(tmp_path, offline_base_env, peft_adapter, no_ollama) -> Path:
    document = write_document(tmp_path / "notes")
    commit_adapter(StorePaths.for_dlm(DLM_ID), peft_adapter)
    return document


@pytest.fixture
def make_pane(qtbot):
    """ExportPanes fed with the check of a document, shut down (threads joined) afterwards."""
    panes: list[ExportPane] = []

    def factory(document: Path) -> ExportPane:
        pane = ExportPane()
        qtbot.addWidget(pane)
        pane.resize(1000, 760)
        pane.show()
        pane.show_result(check_document_text(document.read_text(encoding="utf-8"), document))
        panes.append(pane)
        return pane

    yield factory
    for pane in panes:
        pane.shutdown()


def published(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


class FakeDesktopServices:
    """Records the URLs the pane asks the desktop to open (a test must not start a file manager)."""

    opened: list = []

    @classmethod
    def openUrl(cls, url) -> bool:  # noqa: N802 - Qt's name
        cls.opened.append(url.toLocalFile())
        return True


def test_export_from_the_window_shows_files_parity_and_the_command(qtbot, window, trained_document, monkeypatch):
    open_and_check(qtbot, window, trained_document)
    window.show_pane(PANE_EXPORT)
    pane = window.export_pane
    assert window.tabs.currentWidget() is pane and pane.is_ready()
    name = "notes:v0001"  # the document is notes.dlm
    assert pane.form.model_name() == name
    assert pane.form.destination() == trained_document.parent / "notes-export"
    assert "Ollama was not found" in pane.ollama_hint.text()
    pane.form.quant_combo.setCurrentIndex(pane.form.quant_combo.findData("F16"))
    seen: list[tuple[str, bool, str]] = []
    pane.stage_changed.connect(lambda stage: seen.append((stage, pane.progress_box.isVisible(),
                                                         pane.stage_label.text())))
    with qtbot.waitSignal(pane.runner.job_finished, timeout=EXPORT_TIMEOUT_MS):
        with qtbot.waitSignal(pane.export_finished, timeout=EXPORT_TIMEOUT_MS) as finished:
            qtbot.mouseClick(pane.export_button, Qt.MouseButton.LeftButton)
            assert pane.is_running() and not pane.export_button.isEnabled() and pane.cancel_button.isVisible()
    result = finished.args[0]
    stages = [stage for stage, _, _ in seen]
    assert stages.index("convert-base") < stages.index("parity") < stages.index("publish")
    assert all(visible for _, visible, _ in seen)
    assert ("parity", True, "Checking the export against the app's model") in seen

    out = trained_document.parent / "notes-export"
    assert published(out) == ["Modelfile", "adapter.gguf", "base.F16.gguf", "export_manifest.json"]
    view = pane.result_view
    assert view.isVisible() and not pane.progress_box.isVisible()
    rows = {row[0]: row for row in view.file_rows()}
    assert set(rows) == set(published(out))
    assert rows["base.F16.gguf"][1].endswith("MB") and float(rows["base.F16.gguf"][1].split()[0]) > 100
    assert json.loads((out / "export_manifest.json").read_text())["parity"]["passed"] is True
    assert view.verdict_level() == "success" and "Matches the app's model" in view.verdict.text()
    assert "Next-token agreement" in view.verdict_details.text()
    assert result.ollama.status == "skipped" and "not installed" in view.ollama_message.text()
    assert view.create_command.isVisible()
    assert view.create_command.command() == f"cd {out} && ollama create {name} -f Modelfile"
    qtbot.mouseClick(view.run_command.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == f"ollama run {name}"
    assert view.run_command.copy_button.text() == "Copied ✓"
    assert pane.export_button.isEnabled() and pane.form.isEnabled() and not pane.cancel_button.isVisible()
    monkeypatch.setattr("dlm_desktop.gui.panes.export_result.QDesktopServices", FakeDesktopServices)
    with qtbot.waitSignal(view.folder_opened, timeout=1000):
        qtbot.mouseClick(view.open_button, Qt.MouseButton.LeftButton)
    assert FakeDesktopServices.opened == [str(out)]


def test_cancel_during_conversion_publishes_nothing(qtbot, make_pane, trained_document, tmp_path, monkeypatch):
    monkeypatch.setenv("DLM_DESKTOP_GGUF_CACHE", str(tmp_path / "fresh-gguf-cache"))  # a real conversion runs
    pane = make_pane(trained_document)
    pane.form.quant_combo.setCurrentIndex(pane.form.quant_combo.findData("F16"))
    stages: list[str] = []

    def on_stage(stage: str) -> None:
        stages.append(stage)
        if stage == "convert-base":
            qtbot.mouseClick(pane.cancel_button, Qt.MouseButton.LeftButton)

    pane.stage_changed.connect(on_stage)
    with qtbot.waitSignal(pane.runner.job_finished, timeout=EXPORT_TIMEOUT_MS):
        with qtbot.waitSignal(pane.export_cancelled, timeout=EXPORT_TIMEOUT_MS):
            assert pane.start_export()
    assert stages[-1] == "convert-base" and "parity" not in stages
    assert published(trained_document.parent / "notes-export") == []
    assert pane.banner.severity() == "warning" and "Export stopped" in pane.banner.text()
    assert pane.result_view.isHidden() and pane.export_button.isEnabled()


def test_an_invalid_name_is_refused_before_starting(qtbot, make_pane, tmp_path):
    document = write_document(tmp_path / "doc")
    commit_adapter(StorePaths.for_dlm(DLM_ID), fake_adapter(tmp_path))
    pane = make_pane(document)
    assert pane.export_button.isEnabled()
    pane.form.name_edit.clear()
    qtbot.keyClicks(pane.form.name_edit, "my model!")
    assert pane.form.name_error.isVisible() and "not a valid Ollama model name" in pane.form.name_error.text()
    assert not pane.export_button.isEnabled()
    qtbot.keyClick(pane.form.name_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not pane.start_export() and not pane.is_running()
    assert "not a valid Ollama model name" in pane.banner.text()
    assert not (document.parent / "doc-export").exists()
    pane.form.name_edit.clear()
    qtbot.keyClicks(pane.form.name_edit, "my-notes:v1")
    assert pane.form.name_error.isHidden() and pane.export_button.isEnabled()


def test_without_an_adapter_the_pane_says_train_first(qtbot, make_pane, tmp_path):
    document = write_document(tmp_path / "doc")
    pane = make_pane(document)
    assert pane.empty_title() == "Train this document first" and not pane.is_ready()
    assert not pane.start_export()
    assert pane.train_button.isVisible()
    with qtbot.waitSignal(pane.train_requested, timeout=1000):
        qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    commit_adapter(StorePaths.for_dlm(DLM_ID), fake_adapter(tmp_path))
    pane.adapters_changed()
    assert pane.empty_title() == "" and pane.is_ready() and pane.export_button.isEnabled()


def test_a_broken_adapter_becomes_a_readable_message(qtbot, make_pane, tmp_path, offline_base_env, no_ollama):
    document = write_document(tmp_path / "doc")
    commit_adapter(StorePaths.for_dlm(DLM_ID), fake_adapter(tmp_path))
    pane = make_pane(document)
    with qtbot.waitSignal(pane.runner.job_finished, timeout=EXPORT_TIMEOUT_MS):
        with qtbot.waitSignal(pane.export_failed, timeout=EXPORT_TIMEOUT_MS) as failed:
            qtbot.mouseClick(pane.export_button, Qt.MouseButton.LeftButton)
    assert pane.banner.severity() == "error" and "The export failed" in pane.banner.text()
    assert failed.args[0] in pane.banner.text() and "Traceback" not in pane.banner.text()
    assert pane.banner.action_labels() == ["Try again"]
    assert pane.export_button.isEnabled() and pane.form.isEnabled() and not pane.progress_box.isVisible()
    assert not (document.parent / "doc-export").exists() or published(document.parent / "doc-export") == []


def test_several_adapters_offer_the_mix_choices(qtbot, make_pane, tmp_path):
    document = tmp_path / "two" / "two.dlm"
    document.parent.mkdir()
    shutil.copy(EXAMPLES / "two-adapters.dlm", document)
    store = StorePaths.for_dlm("01JDXMDESKTQPEXAMP1E000002")
    commit_adapter(store, fake_adapter(tmp_path, "a"), "astronomy")
    commit_adapter(store, fake_adapter(tmp_path, "b"), "baking")
    pane = make_pane(document)
    combo = pane.form.mix_combo
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert combo.isVisible() and labels == ["Equal weights (uniform)", "Only the adapter “astronomy”",
                                            "Only the adapter “baking”"]
    combo.setCurrentIndex(2)
    assert pane.form.mix_choice().adapter == "baking" and "baking adapter alone" in pane.form.mix_help.text()
    store.gate_config.parent.mkdir(parents=True, exist_ok=True)
    store.gate_config.write_text("{}", encoding="utf-8")  # a trained gate: its mean mix can be frozen
    pane.adapters_changed()
    assert combo.itemText(0) == "Gate's average mix (static mean)"
    assert pane.form.mix_choice().adapter == "baking"  # the user's choice survives a re-check
    combo.setCurrentIndex(1)
    assert pane.form.mix_choice().mix == {"astronomy": 0.5, "baking": 0.5}


def test_results_are_put_in_plain_words():
    from dlm_desktop.gui.export_logic import human_size, name_problem, parity_verdict

    report = {"prompts": 4, "greedy_exact": 0.75, "top1_agreement": 0.97, "threshold": 0.9, "quant": "Q8_0"}
    good = parity_verdict(report | {"passed": True})
    bad = parity_verdict(report | {"top1_agreement": 0.5, "passed": False})
    assert (good.level, good.headline) == ("success", "Matches the app's model")
    assert "97.0%" in good.details and "3 of 4" in good.details
    assert (bad.level, bad.headline) == ("error", "Differs from the app's model") and "Q8_0" in bad.details
    assert parity_verdict(None).level == "warning"
    assert [human_size(n) for n in (512, 1500, 145_000_000, 2_300_000_000)] == ["512 B", "1.5 kB", "145.0 MB",
                                                                               "2.3 GB"]
    assert name_problem("my-notes:v1") == "" and "Give the model a name" in name_problem("  ")
    assert "not a valid Ollama model name" in name_problem("a..b")


def test_the_proposed_name_comes_from_the_file_name():
    from dlm_desktop.gui.export_logic import ExportTarget, default_name

    def target(file_name: str, version: int = 3) -> ExportTarget:
        return ExportTarget(Path("/docs") / file_name, DLM_ID, (), ("default",), version, "Q8_0", False)

    assert default_name(target("My Lab Notes (2026).dlm")) == "my-lab-notes-2026:v0003"
    assert default_name(target("getting-started.dlm", 0)) == "getting-started:v0001"
    assert default_name(target("a..b.dlm")) == "a.b:v0003"
    # nothing Ollama accepts in the name: upstream's default
    assert default_name(target("日本語.dlm")) == f"dlm-{DLM_ID.lower()}:v0003"
