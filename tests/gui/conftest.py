"""GUI test fixtures: a window with scripted answers to its questions, real drag-and-drop events, and a guard
that fails any test leaving a QThread running."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QThread

from dlm_desktop.gui.main_window import MainWindow
from dlm_desktop.gui.settings import AppSettings
from tests.gui.gui_helpers import EXAMPLES, GOOD_DOCUMENT, ScriptedPrompts, cpu_facts


@pytest.fixture(autouse=True)
def _no_dangling_qthreads(monkeypatch):
    """Every QThread a test starts must be finished when the test (and its fixtures) end."""
    started: list[QThread] = []
    original_start = QThread.start

    def recording_start(self, *args, **kwargs):
        started.append(self)
        return original_start(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", recording_start)
    yield
    running = []
    for thread in started:
        try:
            if thread.isRunning():
                running.append(thread.objectName() or repr(thread))
                thread.quit()
                thread.wait(10_000)
        except RuntimeError:  # the C++ object is gone, so the thread is not running
            continue
    if running:
        pytest.fail(f"the test left QThread(s) running: {running}")


@pytest.fixture(autouse=True)
def _gui_homes(tmp_path_factory, monkeypatch):
    """The user's documents folder (example copies, new documents) points at a temporary folder too."""
    monkeypatch.setenv("DLM_DESKTOP_DOCUMENTS_DIR", str(tmp_path_factory.mktemp("documents")))
    monkeypatch.delenv("DLM_DESKTOP_BACKEND", raising=False)


@pytest.fixture
def prompts() -> ScriptedPrompts:
    return ScriptedPrompts()


@pytest.fixture
def make_window(qtbot, prompts):
    """Build MainWindows (offscreen, shown, hardware probe faked); each is shut down and closed afterwards."""
    windows: list[MainWindow] = []

    def factory(settings: AppSettings | None = None, facts_probe=cpu_facts, **kwargs) -> MainWindow:
        window = MainWindow(settings or AppSettings(), prompts=prompts, facts_probe=facts_probe, **kwargs)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield factory
    for window in windows:
        window.shutdown()
        window.editor.document().setModified(False)
        window.close()


@pytest.fixture
def window(make_window) -> MainWindow:
    return make_window()


@pytest.fixture
def good_document(tmp_path) -> Path:
    folder = tmp_path / "good"
    folder.mkdir()
    path = folder / "notes.dlm"
    path.write_text(GOOD_DOCUMENT, encoding="utf-8")
    return path


@pytest.fixture
def example_copy(tmp_path):
    """A copy of a bundled example in its own folder (tests write its .dlm/training.yaml)."""

    def copy(name: str = "getting-started.dlm") -> Path:
        folder = tmp_path / f"example-{Path(name).stem}"
        folder.mkdir(exist_ok=True)
        target = folder / name
        shutil.copyfile(EXAMPLES / name, target)
        return target

    return copy


@pytest.fixture
def permissions_enforced(monkeypatch):
    """chmod is ignored for root: when running as root, make `os.access` answer as for the file's owner
    without root's override, so permission problems can be tested in containers too."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        real_stat = os.stat

        def owner_access(path, mode, *args, **kwargs):
            try:
                bits = (real_stat(path).st_mode >> 6) & 0o7
            except OSError:
                return False
            need = (4 if mode & os.R_OK else 0) | (2 if mode & os.W_OK else 0) | (1 if mode & os.X_OK else 0)
            return bits & need == need

        monkeypatch.setattr(os, "access", owner_access)
    yield
