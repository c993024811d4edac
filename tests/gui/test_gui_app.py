"""Starting the app: `run_app` (document to open, first paint before torch, qasync loop), `--self-test`, the
runtime in the status bar, remembered window state, and the theme following the OS colour scheme."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication, QPalette

from dlm_desktop.core.runtime import HostFacts
from dlm_desktop.gui.app import initial_document
from dlm_desktop.gui.settings import WINDOW_STATE_FILE, AppSettings, config_dir, window_state_store
from dlm_desktop.gui.theme import DARK, LIGHT, ThemeController
from dlm_desktop.gui.user_files import EXAMPLE_NAME, documents_dir
from tests.gui.gui_helpers import EXAMPLES, REPO

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _run(script: str, tmp_path: Path, timeout: int = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        DLM_DESKTOP_CONFIG_DIR=str(tmp_path / "config"),
        DLM_DESKTOP_DOCUMENTS_DIR=str(tmp_path / "documents"),
        PYTHONPATH=str(REPO),
    )
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=timeout,
    )


def test_self_test_exits_0_and_renders_every_pane(tmp_path):
    shots = tmp_path / "shots"
    script = f"""
        import sys
        from dlm_desktop.gui.app import run_app
        sys.exit(run_app(None, self_test=True, screenshots_dir={str(shots)!r}))
    """
    done = _run(script, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "self-test: passed" in done.stdout
    names = sorted(p.name for p in shots.iterdir())
    panes = ["1-document", "2-training-mix", "3-train", "4-chat", "5-export"]
    assert names == sorted(f"{scheme}-{pane}.png" for scheme in ("dark", "light") for pane in panes)
    for png in shots.iterdir():
        assert png.read_bytes().startswith(PNG_SIGNATURE) and png.stat().st_size > 10_000
    assert not (tmp_path / "config" / "settings.json").exists()  # the self-test leaves no trace
    assert not (tmp_path / "documents").exists()


def test_the_window_paints_before_heavy_libraries_are_imported(tmp_path):
    script = """
        import sys
        from dlm_desktop.gui.app import create_application
        from dlm_desktop.gui.main_window import MainWindow
        from dlm_desktop.gui.settings import AppSettings
        app = create_application()
        window = MainWindow(AppSettings(), persist_settings=False)
        window.show()
        assert window.open_path(sys.argv[0] if False else {path!r})
        image = window.grab()
        app.processEvents()
        heavy = sorted(m for m in ("torch", "transformers", "peft", "accelerate", "llama_cpp", "mlx") if m in sys.modules)
        print("painted", not image.isNull(), "heavy", heavy)
        window.shutdown()
    """.format(path=str(EXAMPLES / "getting-started.dlm"))
    done = _run(script, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "painted True heavy []" in done.stdout, done.stdout


def test_run_app_opens_the_document_on_a_qasync_loop_and_exits_0(tmp_path):
    document = tmp_path / "mine.dlm"
    document.write_text((EXAMPLES / "getting-started.dlm").read_text(encoding="utf-8"), encoding="utf-8")
    script = f"""
        import asyncio, sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        from dlm_desktop.gui.app import create_application, run_app

        app = create_application()
        seen = {{}}

        def watch():
            windows = [w for w in QApplication.topLevelWidgets() if w.objectName() == "DlmMainWindow"]
            if not windows:
                return
            window = windows[0]
            ready = window.diagnostics.last_result is not None and window.runtime_status.property("detected")
            if ready and "done" not in seen:
                seen["done"] = True
                seen["loop"] = type(asyncio.get_event_loop()).__module__
                print("document", window.session.path, "runtime", window.runtime_status.text(), "loop", seen["loop"])
                window.close()

        timer = QTimer()
        timer.timeout.connect(watch)
        timer.start(50)
        code = run_app({str(document)!r})
        print("exit", code)
        sys.exit(code)
    """
    done = _run(script, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"document {document} runtime CPU · " in done.stdout
    assert "loop qasync" in done.stdout
    assert "exit 0" in done.stdout
    settings = (tmp_path / "config" / "settings.json").read_text(encoding="utf-8")
    assert str(document) in settings  # remembered as the last document
    assert (tmp_path / "config" / WINDOW_STATE_FILE).is_file()  # geometry and dock state


def test_startup_document_is_the_argument_then_the_last_one_then_the_example(tmp_path):
    doc = tmp_path / "a.dlm"
    doc.write_text("x", encoding="utf-8")
    assert initial_document(str(doc), AppSettings(last_document=str(tmp_path / "other.dlm"))) == doc
    assert initial_document(None, AppSettings(last_document=str(doc))) == doc
    assert initial_document(None, AppSettings(last_document=str(tmp_path / "deleted.dlm"))) is None
    assert initial_document(None, AppSettings()) is None


def test_the_example_is_copied_to_the_users_documents_and_the_installed_one_is_untouched(qtbot, window):
    installed = (EXAMPLES / EXAMPLE_NAME).read_bytes()
    with qtbot.waitSignal(window.document_checked, timeout=10_000):
        assert window.commands.open_example()
    copy = documents_dir() / EXAMPLE_NAME
    assert window.session.path == copy
    window.editor.appendPlainText("My own line.")
    assert window.commands.save()
    assert (EXAMPLES / EXAMPLE_NAME).read_bytes() == installed
    assert copy.read_text(encoding="utf-8").endswith("My own line.")


def test_the_status_bar_names_the_runtime_and_explains_it(qtbot, window):
    assert window.runtime_status.text() == "Checking this computer…"
    with qtbot.waitSignal(window.runtime_detected, timeout=10_000) as blocker:
        window.start_background_work()
    assert window.runtime_status.text() == "CPU · 2 cores"
    assert "no CUDA device" in window.runtime_status.toolTip()
    assert blocker.args[0].report.backend.value == "cpu"


def test_a_gpu_is_named_in_the_status_bar(qtbot, make_window):
    def gpu() -> HostFacts:
        return HostFacts(cuda_available=True, cuda_device_count=1, device_name="NVIDIA GeForce RTX 4090",
                         torch_cuda_version="12.4", compute_capability=(8, 9), vram_total_bytes=24 * 2**30,
                         vram_free_bytes=23 * 2**30)

    window = make_window(facts_probe=gpu)
    with qtbot.waitSignal(window.runtime_detected, timeout=10_000):
        window.start_background_work()
    assert window.runtime_status.text() == "CUDA · NVIDIA GeForce RTX 4090"


def test_an_unusable_backend_setting_falls_back_and_says_why(qtbot, make_window):
    window = make_window(AppSettings(backend="cuda"))
    with qtbot.waitSignal(window.runtime_detected, timeout=10_000):
        window.start_background_work()
    assert window.runtime_status.text().startswith("CPU · 2 cores")
    assert "backend setting could not be used" in window.runtime_status.toolTip()


def test_a_failing_hardware_probe_does_not_break_the_window(qtbot, make_window):
    def broken() -> HostFacts:
        raise OSError("no /proc here")

    window = make_window(facts_probe=broken)
    with qtbot.waitSignal(window.runtime_detected, timeout=10_000):
        window.start_background_work()
    assert window.runtime_status.text().startswith("Runtime unknown")
    assert "no /proc here" in window.runtime_status.toolTip()


def test_window_geometry_and_dock_state_go_to_the_config_folder(qtbot, make_window):
    store = window_state_store()
    assert Path(store.fileName()) == config_dir() / WINDOW_STATE_FILE
    window = make_window(window_state=store)
    window.resize(1000, 700)
    window.actions.show_outline.trigger()  # View › Show the outline, unticked
    assert window.outline.isHidden()
    window.shutdown()
    saved = QSettings(str(config_dir() / WINDOW_STATE_FILE), QSettings.Format.IniFormat)
    assert saved.value("geometry") is not None and saved.value("document_splitter") is not None
    restored = make_window(window_state=saved)
    assert restored.outline.isHidden() and not restored.actions.show_outline.isChecked()


def test_the_theme_follows_the_os_colour_scheme(qtbot, window):
    app = QGuiApplication.instance()
    hints = QGuiApplication.styleHints()
    theme = ThemeController(app, "system")
    window.theme.set_setting("system")
    try:
        with qtbot.waitSignal(window.theme.theme_changed, timeout=5_000):
            hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)  # what Qt emits when the OS switches to dark
        assert theme.colors is DARK and window.theme.colors is DARK
        assert app.palette().color(QPalette.ColorRole.Window).name() == DARK.window
        assert DARK.base in app.styleSheet()
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert app.palette().color(QPalette.ColorRole.Window).name() == LIGHT.window
        theme.set_setting("dark")  # a forced choice wins over the OS
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert app.palette().color(QPalette.ColorRole.Base).name() == DARK.base
    finally:
        theme.set_setting("light")
        window.theme.set_setting("light")


def test_the_appearance_menu_forces_a_scheme_and_remembers_it(qtbot, window):
    dark = next(a for a in window.actions.scheme_group.actions() if a.data() == "dark")
    with qtbot.waitSignal(window.theme.theme_changed, timeout=5_000):
        dark.trigger()
    assert window.settings.color_scheme == "dark"
    assert window.editor.highlighter.format_named("fence").foreground().color().name() == DARK.fence
    next(a for a in window.actions.scheme_group.actions() if a.data() == "light").trigger()
    assert window.theme.colors is LIGHT


def test_settings_survive_a_restart_and_a_corrupt_file_is_ignored(tmp_path):
    from dlm_desktop.gui.settings import load_settings, save_settings

    path = tmp_path / "settings.json"
    settings = AppSettings(backend="cpu", color_scheme="dark")
    for index in range(15):
        settings.remember_document(tmp_path / f"doc{index}.dlm")
    save_settings(settings, path)
    loaded, warning = load_settings(path)
    assert warning is None and loaded == settings
    assert len(loaded.recent_documents) == 10 and loaded.recent_documents[0].endswith("doc14.dlm")
    path.write_text("{not json", encoding="utf-8")
    loaded, warning = load_settings(path)
    assert loaded == AppSettings() and "not valid JSON" in warning
    path.write_text('{"backend": 3, "recent_documents": "oops", "color_scheme": "purple"}', encoding="utf-8")
    loaded, warning = load_settings(path)
    assert (loaded.backend, loaded.recent_documents, loaded.color_scheme) == ("auto", [], "system")


def test_every_pane_has_its_tab(qtbot, window):
    from dlm_desktop.gui.main_window import PANE_CHAT, PANE_EXPORT, PANE_NAMES, PANE_TRAIN

    installed = {PANE_TRAIN: window.train_pane, PANE_CHAT: window.chat_pane, PANE_EXPORT: window.export_pane}
    for index, pane in installed.items():
        assert window.tabs.widget(index) is pane
        assert window.tabs.tabText(index) == PANE_NAMES[index] and not window.tabs.tabIcon(index).isNull()
    assert window.tabs.count() == 5


def test_a_document_handed_over_by_the_os_opens_in_the_window(qtbot, make_window, good_document, tmp_path):
    """macOS: double-click in Finder / drop on the Dock icon arrive as FileOpen events on the application."""
    from PySide6.QtGui import QFileOpenEvent
    from PySide6.QtWidgets import QApplication

    from dlm_desktop.gui.app import FileOpenRelay

    app = QApplication.instance()
    relay = FileOpenRelay(app)
    try:
        early = QFileOpenEvent(str(good_document))
        QApplication.sendEvent(app, early)  # before the window is ready: kept for the first open
        assert relay.take_pending() == str(good_document)
        window = make_window()
        relay.attach(window.open_path)
        later = tmp_path / "later.dlm"
        later.write_text(good_document.read_text(encoding="utf-8"), encoding="utf-8")
        with qtbot.waitSignal(window.document_checked, timeout=30_000):
            QApplication.sendEvent(app, QFileOpenEvent(str(later)))
        assert window.session.path == later
    finally:
        app.removeEventFilter(relay)
        relay.deleteLater()
