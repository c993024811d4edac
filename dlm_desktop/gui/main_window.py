"""The main window: document workspace (editor, outline, diagnostics), training mix, train, chat and export
panes; the runtime in the status bar; drag and drop of documents and folders."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QByteArray, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QApplication, QLabel, QMainWindow, QMessageBox, QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget,
)

from dlm_desktop import __version__
from dlm_desktop.core.runtime import HostFacts, probe_host
from dlm_desktop.gui.diagnostics import CheckRequest, DiagnosticsController
from dlm_desktop.gui.document_check import CheckResult
from dlm_desktop.gui.document_commands import DocumentCommands
from dlm_desktop.gui.document_session import DocumentSession
from dlm_desktop.gui.panes.chat_pane import ChatPane
from dlm_desktop.gui.panes.diagnostics_strip import DiagnosticsStrip
from dlm_desktop.gui.panes.editor import DocumentEditor
from dlm_desktop.gui.panes.export_pane import ExportPane
from dlm_desktop.gui.panes.mix_pane import TrainingMixPane
from dlm_desktop.gui.panes.outline_pane import OutlinePane
from dlm_desktop.gui.panes.train_pane import DocumentHooks, TrainPane
from dlm_desktop.gui.prompts import Prompts
from dlm_desktop.gui.runtime_status import RuntimeSummary, detect_runtime, unknown_runtime
from dlm_desktop.gui.settings import AppSettings, save_settings
from dlm_desktop.gui.theme import ThemeColors, ThemeController, themed_icon
from dlm_desktop.gui.user_files import untitled_document_path
from dlm_desktop.gui.widgets.message_banner import MessageBanner
from dlm_desktop.gui.widgets.placeholders import DropOverlay, WelcomePage
from dlm_desktop.gui.window_actions import build_menus, fill_recent_menu
from dlm_desktop.gui.workers import JobRunner

PANE_DOCUMENT, PANE_MIX, PANE_TRAIN, PANE_CHAT, PANE_EXPORT = range(5)
PANE_NAMES = ["Document", "Training mix", "Train", "Chat", "Export"]
PANE_ICONS = ["document", "mix", "train", "chat", "export"]
DEFAULT_SIZE = (1280, 800)
OUTLINE_WIDTH = 360
OUTLINE_SHARE = 0.27  # of the window's width on first show, within the bounds below
OUTLINE_BOUNDS = (320, 520)


class MainWindow(QMainWindow):
    """Signals: `document_checked(CheckResult)` once a check reached every pane; `runtime_detected(RuntimeSummary)`."""

    document_checked = Signal(object)
    runtime_detected = Signal(object)

    def __init__(
        self,
        settings: AppSettings | None = None,
        *,
        prompts: Prompts | None = None,
        facts_probe: Callable[[], HostFacts] = probe_host,
        window_state=None,
        persist_settings: bool = True,
        theme: ThemeController | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings if settings is not None else AppSettings()
        self.prompts = prompts if prompts is not None else Prompts(self)
        self._facts_probe = facts_probe
        self._window_state = window_state
        self._persist = persist_settings
        self._shut_down = False
        self._sized_outline = False  # the outline gets its width from the window on first show
        self.theme = theme if theme is not None else ThemeController(QApplication.instance(), self.settings.color_scheme, self)
        self.setObjectName("DlmMainWindow")
        self.setWindowTitle("DLM Desktop")
        self.setAcceptDrops(True)
        self._build_workspace()
        self._build_status_bar()
        self.commands = DocumentCommands(self.session, self.banner, self.prompts, self.settings, self.persist_settings, self)
        self.actions = build_menus(self, self.commands, self.editor, self.show_pane, PANE_NAMES)
        self.runtime_runner = JobRunner("runtime", self)
        self.diagnostics = DiagnosticsController(self._check_request, self.settings.diagnostics_delay_ms, self)
        self._connect()
        self._apply_colors(self.theme.colors)
        self._refresh_recent_menu()
        self._restore_geometry()

    # ----- construction -----------------------------------------------------------------------------------------------

    def _build_workspace(self) -> None:
        self.editor = DocumentEditor(self)
        self.session = DocumentSession(self.editor, self)
        self.strip = DiagnosticsStrip(self)
        self.outline = OutlinePane(self)
        self.welcome = WelcomePage(self)
        self.document_stack = QStackedWidget(self)
        self.document_stack.addWidget(self.welcome)
        self.document_stack.addWidget(self._build_document_splitter())
        self.mix_pane = TrainingMixPane(self.settings.mix_save_delay_ms, self)
        hooks = DocumentHooks(lambda: self.session.path, self.session.is_modified, lambda: self.commands.save())
        self.train_pane = TrainPane(hooks, lambda: self.settings.backend, self)
        self.chat_pane = ChatPane(self)
        self.export_pane = ExportPane(self)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.tabBar().setDrawBase(False)
        pages = {PANE_DOCUMENT: self.document_stack, PANE_MIX: self.mix_pane, PANE_TRAIN: self.train_pane,
                 PANE_CHAT: self.chat_pane, PANE_EXPORT: self.export_pane}
        for index, name in enumerate(PANE_NAMES):
            self.tabs.addTab(pages[index], name)
        self.banner = MessageBanner(self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        banner_box = QVBoxLayout()
        banner_box.setContentsMargins(10, 8, 10, 0)
        banner_box.addWidget(self.banner)
        layout.addLayout(banner_box)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.drop_overlay = DropOverlay(self)

    def _build_document_splitter(self) -> QSplitter:
        """Outline | editor over the diagnostics strip."""
        editor_column = QWidget(self)
        column = QVBoxLayout(editor_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.editor, 1)
        column.addWidget(self.strip)
        self.document_splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.document_splitter.setObjectName("DocumentSplitter")
        self.document_splitter.addWidget(self.outline)
        self.document_splitter.addWidget(editor_column)
        self.document_splitter.setStretchFactor(1, 1)
        self.document_splitter.setSizes([OUTLINE_WIDTH, DEFAULT_SIZE[0] - OUTLINE_WIDTH])
        return self.document_splitter

    def _build_status_bar(self) -> None:
        self.cursor_status = QLabel(self)
        self.cursor_status.setObjectName("CursorStatus")
        self.document_status = QLabel(self)
        self.document_status.setObjectName("CursorStatus")
        self.runtime_status = QLabel("Checking this computer…", self)
        self.runtime_status.setObjectName("RuntimeStatus")
        self.runtime_status.setToolTip("Finding out which hardware training will use")
        bar = self.statusBar()
        bar.addPermanentWidget(self.document_status)
        bar.addPermanentWidget(self.cursor_status)
        bar.addPermanentWidget(self.runtime_status)

    def _connect(self) -> None:
        self.session.document_loaded.connect(self._on_session_document_loaded)
        self.session.document_saved.connect(self._on_session_document_saved)
        self.session.document_reloaded.connect(self._on_session_document_reloaded)
        self.editor.textChanged.connect(self._on_editor_text_changed)
        self.editor.cursor_line_changed.connect(self._on_editor_cursor_line_changed)
        self.editor.document().modificationChanged.connect(self._on_document_modification_changed)
        self.diagnostics.check_finished.connect(self._on_diagnostics_check_finished)
        self.strip.line_activated.connect(self._on_strip_line_activated)
        self.outline.line_activated.connect(self._on_outline_line_activated)
        self.mix_pane.weights_saved.connect(self._on_mix_pane_weights_saved)
        self.document_checked.connect(self.export_pane.show_result)
        self.document_checked.connect(self.train_pane.show_result)
        self.runtime_detected.connect(self.train_pane.show_runtime)
        self.document_checked.connect(self.chat_pane.show_result)
        self.runtime_detected.connect(self.chat_pane.set_runtime)
        self.chat_pane.train_requested.connect(self._on_chat_pane_train_requested)
        self.export_pane.train_requested.connect(partial(self.show_pane, PANE_TRAIN))
        self.train_pane.training_finished.connect(self._on_train_pane_training_finished)
        self.runtime_runner.job_succeeded.connect(self._on_runtime_runner_job_succeeded)
        self.runtime_runner.job_failed.connect(self._on_runtime_runner_job_failed)
        self.commands.recent_documents_changed.connect(self._refresh_recent_menu)
        self.theme.theme_changed.connect(self._apply_colors)
        self.welcome.open_button.clicked.connect(self.commands.open_with_dialog)
        self.welcome.new_button.clicked.connect(self.commands.new_document)
        self.welcome.example_button.clicked.connect(self.commands.open_example)

    def _apply_colors(self, colors: ThemeColors) -> None:
        self.editor.set_colors(colors)
        self.strip.set_colors(colors)
        self.mix_pane.set_colors(colors)
        self.export_pane.set_colors(colors)
        self.train_pane.set_colors(colors)
        self.chat_pane.set_colors(colors)
        for index, name in enumerate(PANE_ICONS):
            self.tabs.setTabIcon(index, themed_icon(name, colors.muted))
        self.welcome.set_icon(themed_icon("drop", colors.accent, 144))
        self.setWindowIcon(themed_icon("app", colors.accent, 256))

    # ----- public API -------------------------------------------------------------------------------------------------

    def open_path(self, path: Path | str) -> bool:
        return self.commands.open_path(path)

    def show_pane(self, index: int) -> None:
        self.tabs.setCurrentIndex(index)

    def theme_icon(self, name: str, size: int = 48):
        return themed_icon(name, self.theme.colors.muted, size)

    def check_now(self) -> None:
        """F5: check the document again, re-reading its source files and training.yaml from disk."""
        if self.session.is_open:
            self.mix_pane.reread_weights_on_next_result()
            self.diagnostics.check_now()

    def start_background_work(self) -> None:
        """Probe the hardware in the background (it imports torch: never before the first paint)."""
        if not self.runtime_runner.is_running() and self.runtime_status.property("detected") is None:
            self.runtime_runner.start(partial(detect_runtime, self.settings.backend, self._facts_probe))

    def set_outline_visible(self, visible: bool) -> None:
        self.outline.setVisible(visible)
        if self.actions.show_outline.isChecked() != visible:
            self.actions.show_outline.setChecked(visible)

    def set_color_scheme(self, scheme: str) -> None:
        self.settings.color_scheme = scheme
        self.theme.set_setting(scheme)
        self.persist_settings()

    def persist_settings(self) -> None:
        if not self._persist:
            return
        try:
            save_settings(self.settings)
        except OSError as exc:
            self.statusBar().showMessage(f"Could not save the settings: {exc}", 8000)

    def shutdown(self) -> None:
        """Write pending changes and join every background thread (idempotent)."""
        if self._shut_down:
            return
        self._shut_down = True
        self.mix_pane.flush()
        self.diagnostics.shutdown()
        self.runtime_runner.shutdown()
        self.train_pane.shutdown()
        self.chat_pane.shutdown()
        self.export_pane.shutdown()
        self._save_geometry()
        self.persist_settings()

    def show_about(self) -> None:
        QMessageBox.about(
            self, "About DLM Desktop",
            f"<b>DLM Desktop {__version__}</b><p>Fine-tune a small local language model on a .dlm document, "
            "compare it with the base model, and export it to Ollama or llama.cpp.</p>",
        )

    # ----- window events ----------------------------------------------------------------------------------------------

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._sized_outline:
            self._sized_outline = True
            low, high = OUTLINE_BOUNDS
            outline = int(min(high, max(low, self.width() * OUTLINE_SHARE)))
            self.document_splitter.setSizes([outline, max(1, self.width() - outline)])

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.commands.confirm_discard_changes():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if not urls:
            event.ignore()
            return
        local = urls[0].toLocalFile()
        folder = bool(local) and Path(local).is_dir()
        self.drop_overlay.cover("Drop to make a document for this folder" if folder else "Drop to open")
        event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.drop_overlay.hide()
        event.accept()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.drop_overlay.hide()
        if not event.mimeData().hasUrls():
            event.ignore()
            return
        event.acceptProposedAction()
        self.commands.open_urls(event.mimeData().urls())

    # ----- slots --------------------------------------------------------------------------------------------------------

    def _check_request(self) -> CheckRequest | None:
        if not self.session.is_open:
            return None
        path = self.session.path
        untitled = path is None
        return CheckRequest(self.session.text(), untitled_document_path() if untitled else path, untitled)

    @Slot(object)
    def _on_session_document_loaded(self, path: Path | None) -> None:
        self.document_stack.setCurrentIndex(1)
        self.strip.show_checking()
        self.outline.clear()
        self._update_title()
        self.diagnostics.check_now()
        self.editor.setFocus()

    @Slot(Path)
    def _on_session_document_saved(self, path: Path) -> None:
        self._update_title()
        self.statusBar().showMessage(f"Saved {path}", 5000)
        self.diagnostics.check_now()  # a Save as moves the document: its sources and training.yaml move too

    @Slot(Path)
    def _on_session_document_reloaded(self, path: Path) -> None:
        self.statusBar().showMessage(f"Reloaded {path.name}: it was changed by another program (Ctrl+Z undoes)", 8000)

    @Slot()
    def _on_editor_text_changed(self) -> None:
        if self.session.is_open:
            self.diagnostics.schedule()

    @Slot(int)
    def _on_editor_cursor_line_changed(self, line: int) -> None:
        self.cursor_status.setText(f"Line {line}")
        self.outline.select_line(line)

    @Slot(bool)
    def _on_document_modification_changed(self, _modified: bool) -> None:
        self._update_title()

    @Slot(object)
    def _on_diagnostics_check_finished(self, result: CheckResult) -> None:
        self.editor.set_diagnostics(result.diagnostics)
        self.strip.show_diagnostics(result.diagnostics)
        self.outline.show_result(result)
        self.mix_pane.show_result(result)
        if result.report is not None:
            sections, rows = len(result.report.sections), len(result.report.rows)
            self.document_status.setText(f"{sections} sections · {rows} training rows")
        self.document_checked.emit(result)

    @Slot(int)
    def _on_strip_line_activated(self, line: int) -> None:
        self.editor.go_to_line(line)

    @Slot(int)
    def _on_outline_line_activated(self, line: int) -> None:
        self.show_pane(PANE_DOCUMENT)
        self.editor.go_to_line(line)

    @Slot(Path)
    def _on_mix_pane_weights_saved(self, _path: Path) -> None:
        self.diagnostics.check_now()

    @Slot()
    def _on_chat_pane_train_requested(self) -> None:
        self.show_pane(PANE_TRAIN)

    @Slot(object)
    def _on_train_pane_training_finished(self, _result) -> None:
        self.chat_pane.adapters_changed()  # the chat loads the new adapters on its next question
        self.export_pane.adapters_changed()

    @Slot(object)
    def _on_runtime_runner_job_succeeded(self, summary: RuntimeSummary) -> None:
        self._show_runtime(summary)

    @Slot(object)
    def _on_runtime_runner_job_failed(self, error: BaseException) -> None:
        self._show_runtime(unknown_runtime(error))

    def _show_runtime(self, summary: RuntimeSummary) -> None:
        self.runtime_status.setText(summary.label)
        self.runtime_status.setToolTip(summary.details)
        self.runtime_status.setProperty("detected", True)
        self.runtime_detected.emit(summary)

    def _update_title(self) -> None:
        name = self.session.display_name() if self.session.is_open else ""
        self.setWindowTitle(f"{name}[*] — DLM Desktop" if name else "DLM Desktop")
        self.setWindowModified(self.session.is_modified())

    def _refresh_recent_menu(self) -> None:
        fill_recent_menu(self.actions.recent_menu, self.settings.recent_documents, self.commands.open_recent)

    # ----- geometry -----------------------------------------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        self.resize(*DEFAULT_SIZE)
        if self._window_state is None:
            return
        geometry = self._window_state.value("geometry")
        state = self._window_state.value("state")
        splitter = self._window_state.value("document_splitter")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)
        if isinstance(splitter, QByteArray) and self.document_splitter.restoreState(splitter):
            self._sized_outline = True  # the user's own split wins
        self.set_outline_visible(str(self._window_state.value("outline_visible", "true")).lower() == "true")

    def _save_geometry(self) -> None:
        if self._window_state is None:
            return
        self._window_state.setValue("geometry", self.saveGeometry())
        self._window_state.setValue("state", self.saveState())
        self._window_state.setValue("document_splitter", self.document_splitter.saveState())
        self._window_state.setValue("outline_visible", not self.outline.isHidden())
        self._window_state.sync()
