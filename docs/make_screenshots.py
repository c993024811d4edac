"""Render every pane of the app with real content for the README: `docs/screenshots/<scheme>-<n>-<pane>.png`.

Runs the real window (under Xvfb on a machine without a display) on a scratch copy of a bundled example, with
the offline SmolLM2 and a scratch DLM home, and drives it like a user: open the document, move a mix slider,
train through the Train pane, ask the example's question in the Chat pane and run "did it learn?", export
through the Export pane (Q8_0; Ollama is not needed). Then it captures each pane in the light and the dark
theme at 1280×800, plus the Chat pane at 1920×1080.

    xvfb-run -a -s "-screen 0 1920x1080x24" python docs/make_screenshots.py [--steps 20] [--example NAME]

Takes a few minutes on a laptop CPU (training is most of it). Exits 1 if any step fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUESTION = {"getting-started.dlm": "How tall is the Marrowgate Lighthouse?",
            "two-adapters.dlm": "What does a sourdough starter need every day?"}
TRAIN_TIMEOUT_MS = 60 * 60 * 1000
STEP_TIMEOUT_MS = 20 * 60 * 1000


def _wait(signal, trigger: Callable[[], object], timeout_ms: int, what: str):
    from dlm_desktop.gui.self_test import wait_for

    fired, value = wait_for(signal, trigger, timeout_ms)
    if not fired:
        raise SystemExit(f"make_screenshots: timed out waiting for {what}")
    print(f"make_screenshots: {what}", flush=True)
    return value


def _until(predicate: Callable[[], bool], timeout_ms: int, what: str) -> None:
    """Run the event loop until `predicate()` holds (a pane's job is joined a moment after its result)."""
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    loop, timer, waited = QEventLoop(), QTimer(), [0]

    def check() -> None:
        waited[0] += 50
        if predicate() or waited[0] >= timeout_ms:
            loop.quit()

    timer.timeout.connect(check)
    timer.start(50)
    loop.exec()
    timer.stop()
    QApplication.processEvents()
    if not predicate():
        raise SystemExit(f"make_screenshots: timed out waiting for {what}")


def _started(started: bool, what: str) -> None:
    if not started:
        raise SystemExit(f"make_screenshots: the window refused to start {what}")


def _isolate(scratch: Path) -> None:
    """Nothing the script does reaches the user's store, settings or documents."""
    for name, sub in (("DLM_HOME", "home"), ("DLM_DESKTOP_CONFIG_DIR", "config"),
                      ("DLM_DESKTOP_DOCUMENTS_DIR", "documents")):
        os.environ[name] = str(scratch / sub)


def _drive(window, document: Path, steps: int, question: str) -> None:
    from dlm_desktop.gui.main_window import PANE_CHAT, PANE_EXPORT, PANE_MIX, PANE_TRAIN

    result = _wait(window.document_checked, lambda: window.open_path(document), 60_000, "document opened")
    if result.report is None:
        raise SystemExit("make_screenshots: the example did not check cleanly")
    _wait(window.runtime_detected, window.start_background_work, 180_000, "runtime detected")
    window.show_pane(PANE_MIX)
    rows = window.mix_pane.groups.rows()
    if rows:
        row = next(iter(rows.values()))
        _wait(window.mix_pane.weights_saved, lambda: row.spin.setValue(1.5), 30_000, "a mix slider moved")
        _wait(window.document_checked, window.check_now, 60_000, "document re-checked")
    window.show_pane(PANE_TRAIN)
    window.train_pane.plan_card.steps_spin.setValue(steps)
    _wait(window.train_pane.training_finished, lambda: _started(window.train_pane.start_training(), "training"),
          TRAIN_TIMEOUT_MS, f"trained {steps} steps")
    window.show_pane(PANE_CHAT)
    chat = window.chat_pane
    chat.controls.temperature.setValue(0.0)
    chat.question_box.setPlainText(question)
    _until(lambda: chat.availability.ready, 60_000, "the chat to see the trained adapter")
    _wait(chat.answer_finished, lambda: _started(chat.ask(), "the question"), STEP_TIMEOUT_MS, "answered side by side")
    _until(lambda: not chat.is_busy(), 60_000, "the answer's thread to end")
    _wait(chat.check_finished, lambda: _started(chat.run_check(), "the check"), STEP_TIMEOUT_MS, "did-it-learn check")
    _until(lambda: not chat.is_busy(), 60_000, "the check's thread to end")
    window.show_pane(PANE_EXPORT)
    export = window.export_pane
    _until(export.is_ready, 60_000, "the export pane to see the trained adapter")
    _wait(export.export_finished, lambda: _started(export.start_export(), "the export"), STEP_TIMEOUT_MS, "exported")
    _until(lambda: not export.is_running(), 60_000, "the export's thread to end")


def _capture(app, window, theme, out: Path) -> list[Path]:
    from dlm_desktop.gui.main_window import PANE_CHAT, PANE_NAMES

    written = []
    for scheme in ("light", "dark"):
        theme.set_setting(scheme)
        for index, name in enumerate(PANE_NAMES):
            window.show_pane(index)
            for _ in range(3):
                app.processEvents()
            target = out / f"{scheme}-{index + 1}-{name.lower().replace(' ', '-')}.png"
            if not window.grab().save(str(target)):
                raise SystemExit(f"make_screenshots: could not write {target}")
            written.append(target)
    theme.set_setting("light")
    window.resize(1920, 1080)
    window.show_pane(PANE_CHAT)
    for _ in range(3):
        app.processEvents()
    wide = out / "light-chat-1920x1080.png"
    window.grab().save(str(wide))
    written.append(wide)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="training steps (default 20)")
    parser.add_argument("--example", default="getting-started.dlm", choices=sorted(QUESTION))
    parser.add_argument("--out", type=Path, default=HERE / "screenshots")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="dlm-screenshots-"))
    _isolate(scratch)
    document = scratch / "Lighthouse museum" / args.example
    document.parent.mkdir(parents=True)
    shutil.copyfile(ROOT / "resources" / "examples" / args.example, document)

    from dlm_desktop.gui.app import create_application
    from dlm_desktop.gui.main_window import MainWindow
    from dlm_desktop.gui.settings import AppSettings
    from dlm_desktop.gui.theme import ThemeController

    app = create_application()
    theme = ThemeController(app, "light")
    window = MainWindow(AppSettings(color_scheme="light"), persist_settings=False, theme=theme)
    window.resize(1280, 800)
    window.show()
    try:
        _drive(window, document, args.steps, QUESTION[args.example])
        args.out.mkdir(parents=True, exist_ok=True)
        for path in _capture(app, window, theme, args.out):
            print(f"make_screenshots: wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    finally:
        window.shutdown()
        window.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # Every pane's thread is joined by window.shutdown(); leave without running the interpreter's teardown of
    # the loaded runtimes (torch/llama.cpp thread pools), which can hang here after the screenshots are written.
    os._exit(code)
