"""One side of the side-by-side chat: a titled card with the streamed answer, its adapter weights and a
status line (tokens, why it ended).

Tokens arrive in batches (`append_text` once per batch of events, never once per token) and are inserted at
the end without moving the reader's scroll position unless they were already at the bottom.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QFrame, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from dlm_desktop.gui.theme import ThemeColors
from dlm_desktop.gui.widgets.gate_bar import GateBar

FINISH_TEXTS = {"stop": "finished", "length": "stopped at the length limit", "cancelled": "stopped by you"}


class AnswerView(QFrame):
    """A card: title, subtitle, the answer text, an optional `GateBar`, and a status line."""

    def __init__(self, title: str, subtitle: str, *, with_gate: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.title = QLabel(title, self)
        self.title.setObjectName("SectionTitle")
        self.subtitle = QLabel(subtitle, self)
        self.subtitle.setProperty("role", "muted")
        self.subtitle.setWordWrap(True)
        self.answer = QPlainTextEdit(self)
        self.answer.setReadOnly(True)
        self.answer.setFrameShape(QFrame.Shape.NoFrame)
        self.answer.setAccessibleName(f"{title} answer")
        self.answer.setPlaceholderText("The answer appears here as it is written.")
        self.gate_bar = GateBar(self) if with_gate else None
        self.status = QLabel(self)
        self.status.setProperty("role", "muted")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.appended_batches = 0  # how many batches streamed into this answer (the stream's granularity)
        self.tokens = 0
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 10, 14, 10)
        column.setSpacing(6)
        column.addWidget(self.title)
        column.addWidget(self.subtitle)
        if self.gate_bar is not None:
            column.addWidget(self.gate_bar)
        column.addWidget(self.answer, 1)
        column.addWidget(self.status)

    def text(self) -> str:
        return self.answer.toPlainText()

    def set_colors(self, colors: ThemeColors) -> None:
        if self.gate_bar is not None:
            self.gate_bar.set_colors(colors)

    def start(self, status: str = "Waiting for the model…") -> None:
        """Empty the card for a new answer."""
        self.answer.clear()
        self.appended_batches = 0
        self.tokens = 0
        self.status.setText(status)
        if self.gate_bar is not None:
            self.gate_bar.clear()

    def append_text(self, text: str, tokens: int) -> None:
        """Add one batch of streamed text (`tokens` new tokens)."""
        if not text and not tokens:
            return
        bar = self.answer.verticalScrollBar()
        following = bar.value() >= bar.maximum() - 4
        cursor = QTextCursor(self.answer.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        self.appended_batches += 1
        self.tokens += tokens
        self.status.setText(f"Writing… {self.tokens} tokens")
        if following:
            bar.setValue(bar.maximum())

    def finish(self, text: str, tokens: int, finish_reason: str, seconds: float | None = None) -> None:
        """The final answer (replaces the streamed text if it differs, e.g. a held-back partial character)."""
        if text != self.text():
            self.answer.setPlainText(text)
        timing = f" in {seconds:.1f} s" if seconds else ""
        reason = FINISH_TEXTS.get(finish_reason, finish_reason)
        self.status.setText(f"{tokens} tokens{timing} · {reason}")

    def show_message(self, text: str) -> None:
        self.status.setText(text)
