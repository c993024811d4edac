"""The window's menus and keyboard shortcuts (Ctrl+N/O/S/Shift+S/Z/Y, F5), built in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu


@dataclass
class WindowActions:
    new: QAction
    open: QAction
    open_folder: QAction
    open_example: QAction
    save: QAction
    save_as: QAction
    quit: QAction
    undo: QAction
    redo: QAction
    check: QAction
    show_outline: QAction
    recent_menu: QMenu
    scheme_group: QActionGroup


def _action(window: QMainWindow, text: str, slot: Callable, *shortcuts, tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcuts:
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    if tip:
        action.setStatusTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    return action


def build_menus(window, commands, editor, show_pane: Callable[[int], None], pane_names: list[str]) -> WindowActions:
    """Create the menu bar of `window` (a MainWindow) and return the actions other code enables/disables."""
    bar = window.menuBar()
    file_actions = _file_menu(window, bar.addMenu("&File"), commands)
    undo, redo = _edit_menu(window, bar.addMenu("&Edit"), editor)
    check, show_outline, scheme_group = _view_menu(window, bar.addMenu("&View"), show_pane, pane_names)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(_action(window, "&About DLM Desktop", window.show_about))
    new, open_, open_folder, recent_menu, open_example, save, save_as, quit_ = file_actions
    return WindowActions(new, open_, open_folder, open_example, save, save_as, quit_, undo, redo, check,
                         show_outline, recent_menu, scheme_group)


def _file_menu(window, menu: QMenu, commands) -> tuple:
    new = _action(window, "&New document", commands.new_document, QKeySequence.StandardKey.New,
                  tip="Start a document from a commented template")
    open_ = _action(window, "&Open…", commands.open_with_dialog, QKeySequence.StandardKey.Open)
    open_folder = _action(window, "Open a &folder of notes…", commands.open_folder_with_dialog,
                          tip="Make a document that trains on the text files of a folder")
    recent_menu = QMenu("Open &recent", window)
    open_example = _action(window, "Open the &example", commands.open_example)
    save = _action(window, "&Save", commands.save, QKeySequence.StandardKey.Save)
    save_as = _action(window, "Save &as…", commands.save_as, "Ctrl+Shift+S")
    quit_ = _action(window, "&Quit", window.close, QKeySequence.StandardKey.Quit)
    menu.addActions([new, open_, open_folder])
    menu.addMenu(recent_menu)
    menu.addAction(open_example)
    menu.addSeparator()
    menu.addActions([save, save_as])
    menu.addSeparator()
    menu.addAction(quit_)
    return new, open_, open_folder, recent_menu, open_example, save, save_as, quit_


def _edit_menu(window, menu: QMenu, editor) -> tuple[QAction, QAction]:
    undo = _action(window, "&Undo", editor.undo, QKeySequence.StandardKey.Undo)
    redo = _action(window, "&Redo", editor.redo, "Ctrl+Y", "Ctrl+Shift+Z")
    undo.setEnabled(False)
    redo.setEnabled(False)
    editor.undoAvailable.connect(undo.setEnabled)
    editor.redoAvailable.connect(redo.setEnabled)
    menu.addActions([undo, redo])
    menu.addSeparator()
    menu.addAction(_action(window, "Cu&t", editor.cut, QKeySequence.StandardKey.Cut))
    menu.addAction(_action(window, "&Copy", editor.copy, QKeySequence.StandardKey.Copy))
    menu.addAction(_action(window, "&Paste", editor.paste, QKeySequence.StandardKey.Paste))
    menu.addAction(_action(window, "Select &all", editor.selectAll, QKeySequence.StandardKey.SelectAll))
    return undo, redo


def _view_menu(window, menu: QMenu, show_pane: Callable[[int], None], pane_names: list[str]) -> tuple:
    check = _action(window, "&Check the document now", window.check_now, "F5")
    menu.addAction(check)
    show_outline = QAction("Show the &outline", window)
    show_outline.setCheckable(True)
    show_outline.setChecked(True)
    show_outline.setShortcut(QKeySequence("Ctrl+Shift+L"))
    show_outline.toggled.connect(window.set_outline_visible)
    menu.addAction(show_outline)
    menu.addSeparator()
    for number, name in enumerate(pane_names):
        menu.addAction(_action(window, name, lambda n=number: show_pane(n), f"Ctrl+{number + 1}"))
    menu.addSeparator()
    scheme_group = _scheme_menu(window, menu.addMenu("&Appearance"))
    return check, show_outline, scheme_group


def _scheme_menu(window, menu: QMenu) -> QActionGroup:
    group = QActionGroup(window)
    group.setExclusive(True)
    for value, text in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
        action = QAction(text, window)
        action.setCheckable(True)
        action.setData(value)
        action.setChecked(window.settings.color_scheme == value)
        action.triggered.connect(lambda _checked=False, v=value: window.set_color_scheme(v))
        group.addAction(action)
        menu.addAction(action)
    return group


def fill_recent_menu(menu: QMenu, recent: list[str], open_recent: Callable[[Path], None]) -> None:
    """Rebuild the Open recent submenu (missing files stay listed; opening one explains and drops it)."""
    menu.clear()
    for number, name in enumerate(recent, start=1):
        path = Path(name)
        action = menu.addAction(f"&{number % 10}  {path.name}  —  {path.parent}")
        action.setToolTip(str(path))
        action.triggered.connect(lambda _checked=False, p=path: open_recent(p))
    menu.setEnabled(bool(recent))
