"""Helpers for the GUI tests: documents, scripted answers to modal questions, real drag-and-drop events."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from dlm_desktop.core.runtime import HostFacts
from dlm_desktop.gui.main_window import MainWindow
from dlm_desktop.gui.prompts import DISCARD

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "resources" / "examples"

GOOD_DOCUMENT = """---
dlm_id: 01JDXMDESKTQPEXAMP1E000009
dlm_version: 15
base_model: smollm2-135m
# a comment that must survive
training:
  seed: 3
---

The first paragraph of prose.

::instruction::
### Q
What colour is the door?
### A
Blue.

### Q
How many windows?
### A
Four.
"""


class ScriptedPrompts:
    """Answers the window's modal questions from attributes a test sets, and records what was asked."""

    def __init__(self) -> None:
        self.unsaved_answer = DISCARD
        self.open_path: Path | None = None
        self.folder_path: Path | None = None
        self.save_path: Path | None = None
        self.asked: list[str] = []

    def ask_unsaved_changes(self, document_name: str) -> str:
        self.asked.append(f"unsaved:{document_name}")
        return self.unsaved_answer

    def ask_open_path(self, start: Path) -> Path | None:
        self.asked.append("open")
        return self.open_path

    def ask_folder_path(self, start: Path) -> Path | None:
        self.asked.append("folder")
        return self.folder_path

    def ask_save_path(self, suggested: Path) -> Path | None:
        self.asked.append(f"save:{suggested.name}")
        return self.save_path


def cpu_facts() -> HostFacts:
    return HostFacts(cpu_name="Test CPU", cpu_cores=2)


def open_and_check(qtbot, window: MainWindow, path: Path, timeout: int = 10_000):
    """Open `path` and wait until its first check reached every pane; returns the CheckResult."""
    with qtbot.waitSignal(window.document_checked, timeout=timeout) as blocker:
        assert window.open_path(path), window.banner.text()
    return blocker.args[0]


def edit_and_check(qtbot, window: MainWindow, change, timeout: int = 10_000):
    """Run `change()` (an edit of the editor text) and wait for the check of the result."""
    with qtbot.waitSignal(window.document_checked, timeout=timeout) as blocker:
        change()
    return blocker.args[0]


def drag_enter_event(x: int, y: int, mime: QMimeData) -> QDragEnterEvent:
    """A drag-enter event at (x, y), whichever point type this PySide6 takes."""
    point = QPoint(x, y) if _takes_qpoint(QDragEnterEvent) else QPointF(x, y)
    return QDragEnterEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)


def _takes_qpoint(event_type) -> bool:
    try:
        event_type(QPoint(0, 0), Qt.DropAction.CopyAction, QMimeData(), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    except TypeError:
        return False
    return True


def drop_urls(target, urls: list[QUrl]) -> tuple[bool, bool]:
    """A real drag enter + drop of `urls` on `target` through QApplication.sendEvent; returns (entered, dropped)."""
    mime = QMimeData()
    mime.setUrls(urls)
    actions = Qt.DropAction.CopyAction | Qt.DropAction.LinkAction
    center = target.rect().center()
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    # Drag enter/move take a QPoint in PySide6 <= 6.11 and a QPointF from 6.12; the drop takes a QPointF.
    point = center if _takes_qpoint(QDragEnterEvent) else QPointF(center)
    enter = QDragEnterEvent(point, actions, mime, buttons, modifiers)
    QApplication.sendEvent(target, enter)
    QApplication.sendEvent(target, QDragMoveEvent(point, actions, mime, buttons, modifiers))
    drop = QDropEvent(QPointF(center), actions, mime, buttons, modifiers)
    QApplication.sendEvent(target, drop)
    return enter.isAccepted(), drop.isAccepted()


def drop_paths(target, *paths: Path) -> tuple[bool, bool]:
    return drop_urls(target, [QUrl.fromLocalFile(str(p)) for p in paths])
