"""A message bar across the top of the window: what happened, what to do, and optional action buttons.

Used instead of modal dialogs for things the user did not ask a question about (a file that cannot be
opened, a save that failed, a file changed on disk): the window stays usable and the message stays visible
until it is dismissed or replaced.
"""

from __future__ import annotations

from typing import Callable, Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout

ERROR, WARNING, INFO, SUCCESS = "error", "warning", "info", "success"
Action = tuple[str, Callable[[], None]]


class MessageBanner(QFrame):
    """Shows one message at a time. `dismissed` when the user closes it or presses one of its actions."""

    dismissed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBanner")
        self.title = QLabel(self)
        self.title.setObjectName("BannerTitle")
        self.title.setWordWrap(True)
        self.body = QLabel(self)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QLabel(self)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setProperty("role", "muted")
        self.details.hide()
        self._details_button = QPushButton("Details", self)
        self._details_button.setObjectName("LinkButton")
        self._details_button.clicked.connect(self._on_details_button_clicked)
        self._close = QToolButton(self)
        self._close.setText("✕")
        self._close.setAutoRaise(True)
        self._close.setToolTip("Dismiss")
        self._close.clicked.connect(self._on_close_clicked)
        self._buttons: list[QPushButton] = []
        self._actions_row = QHBoxLayout()
        self._actions_row.setSpacing(6)
        self._lay_out()
        self.setProperty("severity", INFO)
        self.hide()

    def _lay_out(self) -> None:
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title)
        text.addWidget(self.body)
        text.addWidget(self.details)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 8, 8)
        row.addLayout(text, 1)
        row.addLayout(self._actions_row)
        row.addWidget(self._details_button, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self._close, 0, Qt.AlignmentFlag.AlignTop)

    def show_message(
        self, severity: str, title: str, body: str = "", *, actions: Sequence[Action] = (), details: str = ""
    ) -> None:
        """Replace the current message (if any) with this one."""
        self.setProperty("severity", severity)
        self.style().unpolish(self)
        self.style().polish(self)
        self.title.setText(title)
        self.body.setText(body)
        self.body.setVisible(bool(body))
        self.details.setText(details)
        self.details.hide()
        self._details_button.setVisible(bool(details))
        self._set_actions(actions)
        self.show()

    def severity(self) -> str:
        return str(self.property("severity"))

    def text(self) -> str:
        """Title and body as one string (what a screen reader would say)."""
        return f"{self.title.text()} {self.body.text()}".strip() if self.isVisibleTo(self.parentWidget()) else ""

    def action_labels(self) -> list[str]:
        return [button.text() for button in self._buttons]

    def trigger_action(self, label: str) -> None:
        """Press the action button called `label` (keyboard users and tests)."""
        for button in self._buttons:
            if button.text() == label:
                button.click()
                return
        raise KeyError(label)

    def dismiss(self) -> None:
        self.hide()
        self._set_actions(())
        self.dismissed.emit()

    def _set_actions(self, actions: Sequence[Action]) -> None:
        for button in self._buttons:
            self._actions_row.removeWidget(button)
            button.deleteLater()
        self._buttons = []
        for label, callback in actions:
            button = QPushButton(label, self)
            button.clicked.connect(lambda _checked=False, run=callback: self._run_action(run))
            self._actions_row.addWidget(button)
            self._buttons.append(button)
        if self._buttons:
            self._buttons[0].setObjectName("PrimaryButton")

    def _run_action(self, callback: Callable[[], None]) -> None:
        self.dismiss()
        callback()

    @Slot()
    def _on_details_button_clicked(self) -> None:
        self.details.setVisible(not self.details.isVisible())

    @Slot()
    def _on_close_clicked(self) -> None:
        self.dismiss()
