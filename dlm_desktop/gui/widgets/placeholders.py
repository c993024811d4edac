"""Places kept for panes that come later, and the welcome page shown when no document is open.

A pending pane says what it will show and what the user does to get there; it never shows made-up data.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


def _centered(label: QLabel, width: int = 560) -> QHBoxLayout:
    """A wrapped paragraph of at most `width` pixels, centred (alignment flags break word-wrap heights)."""
    label.setMaximumWidth(width)
    label.setMinimumWidth(min(width, 320))
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(label, 10)
    row.addStretch(1)
    return row


class PendingPane(QWidget):
    """An empty pane with an icon, a title and one or two sentences."""

    def __init__(self, title: str, body: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("PendingPane")
        self.icon = QLabel(self)
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(title, self)
        self.title.setObjectName("PendingTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body = QLabel(body, self)
        self.body.setObjectName("PendingBody")
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.setWordWrap(True)
        column = QVBoxLayout(self)
        column.addStretch(2)
        column.addWidget(self.icon)
        column.addSpacing(8)
        column.addWidget(self.title)
        column.addLayout(_centered(self.body))
        column.addStretch(3)

    def set_icon(self, icon) -> None:
        self.icon.setPixmap(icon.pixmap(QSize(56, 56)))


class WelcomePage(QWidget):
    """Shown in place of the editor while no document is open."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("WelcomePage")
        self.icon = QLabel(self)
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("Drop a .dlm document or a folder of notes here", self)
        title.setObjectName("WelcomeTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        body = QLabel(
            "A folder becomes a document that trains on the text files inside it. "
            "You can also open a document, start a new one, or try the example.", self
        )
        body.setObjectName("WelcomeBody")
        body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        body.setWordWrap(True)
        self.open_button = QPushButton("Open…", self)
        self.new_button = QPushButton("New document", self)
        self.example_button = QPushButton("Open the example", self)
        self.example_button.setObjectName("PrimaryButton")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.example_button, self.open_button, self.new_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.addStretch(2)
        column.addWidget(self.icon)
        column.addWidget(title)
        column.addLayout(_centered(body))
        column.addSpacing(12)
        column.addLayout(buttons)
        column.addStretch(3)

    def set_icon(self, icon) -> None:
        self.icon.setPixmap(icon.pixmap(QSize(72, 72)))


class DropOverlay(QFrame):
    """A dashed frame over the window while files are dragged over it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("DropOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.label = QLabel("Drop to open", self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        self.hide()

    def cover(self, text: str) -> None:
        self.label.setText(text)
        self.setGeometry(self.parentWidget().rect().adjusted(16, 16, -16, -16))
        self.raise_()
        self.show()
