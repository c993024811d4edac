"""Starting the window: `run_app` (what `dlm-desktop [PATH]` and `dlm-desktop --self-test` call).

Order of events, so the window appears at once: QApplication → theme → window shown → first paint → open the
document → probe the hardware on a worker thread (that imports torch, which takes seconds). The event loop is
qasync's, so later panes can `await` I/O (downloads, `ollama`) on the GUI thread; compute never runs there.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from dlm_desktop.gui.settings import APP_NAME, ORGANIZATION, AppSettings, load_settings, window_state_store

FIRST_PAINT_FALLBACK_MS = 1500


def run_app(argv_path: str | None, *, self_test: bool = False, screenshots_dir: str | None = None) -> int:
    """Open the window (on `argv_path`, else the last document, else the user's copy of the example) and run
    until it closes. With `self_test`, open it offscreen on a temporary copy of the example, exercise and
    render every pane (PNGs into `screenshots_dir` when given) and return 0 when everything worked."""
    if self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = create_application()
    if self_test:
        from dlm_desktop.gui.self_test import run_self_test

        return run_self_test(app, Path(screenshots_dir) if screenshots_dir else None)
    from dlm_desktop.gui.main_window import MainWindow
    from dlm_desktop.gui.theme import ThemeController

    settings, warning = load_settings()
    theme = ThemeController(app, settings.color_scheme)
    relay = FileOpenRelay(app)
    window = MainWindow(settings, window_state=window_state_store(), theme=theme)
    window.show()

    def open_first() -> None:
        open_initial_document(window, relay.take_pending() or argv_path, warning)
        relay.attach(window.open_path)

    call_after_first_paint(window, open_first)
    return _run_event_loop(app, window)


def create_application() -> QApplication:
    """The QApplication (reused when one exists, e.g. under pytest-qt), named for settings and the desktop."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "dlm-desktop"])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setDesktopFileName("dlm-desktop")
    return app


def initial_document(argv_path: str | None, settings: AppSettings) -> Path | None:
    """The document to open at startup: the argument, else the last one (if it still exists); None means the
    user's copy of the bundled example."""
    if argv_path:
        return Path(argv_path).expanduser()
    if settings.last_document and Path(settings.last_document).is_file():
        return Path(settings.last_document)
    return None


def open_initial_document(window, argv_path: str | None, settings_warning: str | None = None) -> bool:
    """Open the startup document, then start the background hardware probe."""
    path = initial_document(argv_path, window.settings)
    opened = window.open_path(path) if path is not None else window.commands.open_example()
    if settings_warning:
        window.statusBar().showMessage(settings_warning, 10000)
    window.start_background_work()
    return opened


class FileOpenRelay(QObject):
    """macOS hands a document double-clicked in Finder or dropped on the Dock icon to the app as a `FileOpen`
    event, not as an argument. One that arrives before the window has opened its first document is kept and
    opened instead of the last/example document; later ones open at once."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._open: Callable[[str], object] | None = None
        self._pending: str | None = None
        app.installEventFilter(self)

    def attach(self, open_path: Callable[[str], object]) -> None:
        self._open = open_path

    def take_pending(self) -> str | None:
        pending, self._pending = self._pending, None
        return pending

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() != QEvent.Type.FileOpen or not event.file():
            return False
        if self._open is None:
            self._pending = event.file()
        else:
            self._open(event.file())
        return True


class _FirstPaint(QObject):
    """Calls `callback` once, right after the watched widget's first paint (or after a fallback delay)."""

    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self._callback: Callable[[], None] | None = callback
        widget.installEventFilter(self)
        QTimer.singleShot(FIRST_PAINT_FALLBACK_MS, self._fire)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint and self._callback is not None:
            QTimer.singleShot(0, self._fire)  # let the paint finish first
        return False

    def _fire(self) -> None:
        callback, self._callback = self._callback, None
        if callback is not None:
            self.parent().removeEventFilter(self)
            callback()


def call_after_first_paint(widget: QWidget, callback: Callable[[], None]) -> None:
    _FirstPaint(widget, callback)


def _run_event_loop(app: QApplication, window) -> int:
    import qasync  # after PySide6, so qasync binds to it

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    app.aboutToQuit.connect(window.shutdown)
    with loop:
        result = loop.run_forever()
    return int(result or 0)
