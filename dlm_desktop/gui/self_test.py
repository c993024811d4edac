"""`dlm-desktop --self-test [--screenshots DIR]`: prove the installed (or frozen) app works, without a screen.

Opens the window offscreen on a temporary copy of the bundled example, waits for the document check and the
hardware probe, moves one training-mix slider (written to the temporary copy's training.yaml), imports torch,
PEFT and llama.cpp and trains two steps and answers one question side by side on a tiny model (`core.smoke`),
renders every pane in the light and the dark theme (PNGs when asked), and returns 0 only when every step worked. Nothing is
written to the user's settings or documents.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from dlm_desktop.gui.settings import AppSettings
from dlm_desktop.gui.user_files import EXAMPLE_NAME, example_text

CHECK_TIMEOUT_MS = 30_000
RUNTIME_TIMEOUT_MS = 180_000
SIZE = (1280, 800)


def wait_for(signal, trigger: Callable[[], object], timeout_ms: int) -> tuple[bool, object]:
    """Run `trigger`, then the event loop until `signal` fires (True, its argument) or the timeout (False, None)."""
    loop = QEventLoop()
    received: list = []

    def on_signal(*args) -> None:
        received.append(args[0] if args else None)
        loop.quit()

    signal.connect(on_signal)
    QTimer.singleShot(timeout_ms, loop.quit)
    try:
        trigger()
        if not received:
            loop.exec()
    finally:
        signal.disconnect(on_signal)
    return (True, received[0]) if received else (False, None)


class _Log:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def step(self, ok: bool, text: str) -> bool:
        print(f"self-test: {'ok  ' if ok else 'FAIL'} {text}", flush=True)
        if not ok:
            self.failures.append(text)
        return ok


def run_self_test(app: QApplication, screenshots_dir: Path | None) -> int:
    from dlm_desktop.gui.main_window import PANE_NAMES, MainWindow
    from dlm_desktop.gui.theme import ThemeController

    log = _Log()
    with tempfile.TemporaryDirectory(prefix="dlm-desktop-self-test-") as scratch:
        document = Path(scratch) / EXAMPLE_NAME
        document.write_text(example_text(), encoding="utf-8")
        theme = ThemeController(app, "light")
        window = MainWindow(AppSettings(color_scheme="light"), persist_settings=False, theme=theme)
        window.resize(*SIZE)
        window.show()
        try:
            _exercise(window, document, log)
            _engine_check(Path(scratch) / "engine", log)
            if screenshots_dir is not None:
                _screenshots(app, window, theme, screenshots_dir, PANE_NAMES, log)
        finally:
            window.shutdown()
            window.close()
    print("self-test: " + ("passed" if not log.failures else f"{len(log.failures)} step(s) failed"), flush=True)
    return 0 if not log.failures else 1


def _exercise(window, document: Path, log: _Log) -> None:
    checked, result = wait_for(window.document_checked, lambda: window.open_path(document), CHECK_TIMEOUT_MS)
    if not log.step(checked and result.report is not None and not result.errors, f"example document opened and checked ({_describe(result)})"):
        return
    outline_rows = window.outline.model.rowCount(window.outline.model.index(0, 0))
    log.step(outline_rows == len(result.report.parsed.sections), f"outline lists {outline_rows} sections")
    detected, summary = wait_for(window.runtime_detected, window.start_background_work, RUNTIME_TIMEOUT_MS)
    log.step(detected and summary is not None and summary.report is not None, f"runtime picked: {getattr(summary, 'label', 'nothing')}")
    rows = window.mix_pane.groups.rows()
    row = rows.get(("section", "instruction"))
    if not log.step(row is not None, f"training mix shows {len(rows)} slider(s), one for section = instruction"):
        return
    saved, path = wait_for(window.mix_pane.weights_saved, lambda: row.spin.setValue(2.0), CHECK_TIMEOUT_MS)
    written = saved and path is not None and "instruction: 2.0" in Path(path).read_text(encoding="utf-8")
    log.step(written, "moving a slider to 2× wrote .dlm/training.yaml")
    tag = window.mix_pane.preview_model.tag_preview("section", "instruction")
    log.step(tag is not None and tag.rows_after == 2 * tag.rows_before, "the preview doubled the instruction rows")


def _engine_check(scratch: Path, log: _Log) -> None:
    """Train two steps on the tiny model and answer one question side by side (core.smoke), so the self-test
    proves the bundled torch, PEFT and llama.cpp work, not only the window."""
    from dlm_desktop.core.smoke import run_engine_smoke

    for step in run_engine_smoke(scratch):
        log.step(step.ok, f"{step.name}: {step.detail}")
        QApplication.processEvents()


def _describe(result) -> str:
    if result is None:
        return "no result"
    if result.report is None:
        return "; ".join(d.message for d in result.errors) or "no report"
    return f"{len(result.report.sections)} sections, {len(result.report.rows)} rows"


def _screenshots(app, window, theme, folder: Path, names: list[str], log: _Log) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.step(False, f"cannot make the screenshot folder {folder}: {exc}")
        return
    for scheme in ("light", "dark"):
        theme.set_setting(scheme)
        for index, name in enumerate(names):
            window.show_pane(index)
            app.processEvents()
            target = folder / f"{scheme}-{index + 1}-{name.lower().replace(' ', '-')}.png"
            saved = window.grab().save(str(target))
            log.step(saved and target.stat().st_size > 0, f"rendered {target.name}")
    window.show_pane(0)


if __name__ == "__main__":  # pragma: no cover - `python -m dlm_desktop.gui.self_test [DIR]`
    from dlm_desktop.gui.app import run_app

    sys.exit(run_app(None, self_test=True, screenshots_dir=sys.argv[1] if len(sys.argv) > 1 else None))
