"""The chat pane's smaller parts: the question box (Ctrl+Return asks, Esc stops), the knobs of the fine-tuned
side (selector, λ, temperature, length), the status line with its progress bar, and the page shown while the
document cannot chat yet."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton, QSlider, QSpinBox,
    QVBoxLayout, QWidget,
)

from dlm_desktop.gui.chat_logic import ChatSettings, RouteChoice

STRENGTH_STEPS = 100  # slider units per 1.0 of λ
MAX_STRENGTH = 1.5


class QuestionBox(QPlainTextEdit):
    """A few lines for the question. Signals: `submitted` on Ctrl+Return (or Ctrl+Enter), `stop_requested` on Esc."""

    submitted = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("QuestionBox")
        self.setPlaceholderText("Ask something your document answers…  (Ctrl+Return to ask, Esc to stop)")
        self.setAccessibleName("Question")
        self.setTabChangesFocus(True)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 16)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.submitted.emit()
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.stop_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class ChatControls(QWidget):
    """The fine-tuned side's selector, the λ slider, temperature and answer length.
    Signals: `strength_changed(float)` while λ moves."""

    strength_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._choices: list[RouteChoice] = []
        self.route = QComboBox(self)
        self.route.setAccessibleName("Fine-tuned side")
        self.route.setToolTip("How the fine-tuned side mixes the document's adapters")
        self.route.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.route.setMinimumContentsLength(24)
        self._build_strength()
        self._build_sampling()
        self._lay_out()
        self._on_strength_value_changed(self.strength.value())

    def _build_strength(self) -> None:
        self.strength = QSlider(Qt.Orientation.Horizontal, self)
        self.strength.setRange(0, int(MAX_STRENGTH * STRENGTH_STEPS))
        self.strength.setSingleStep(5)
        self.strength.setPageStep(25)
        self.strength.setValue(STRENGTH_STEPS)
        self.strength.setMinimumWidth(120)
        self.strength.setAccessibleName("Adapter strength lambda")
        self.strength.setToolTip("Adapter strength λ: 0 answers like the base model, 1 as trained, above 1 "
                                 "exaggerates what training changed")
        self.strength_label = QLabel(self)
        self.strength_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("λ 0.00") + 6)
        self.strength.valueChanged.connect(self._on_strength_value_changed)

    def _build_sampling(self) -> None:
        self.temperature = QDoubleSpinBox(self)
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(1)
        self.temperature.setValue(0.7)
        self.temperature.setSpecialValueText("0 (greedy)")
        self.temperature.setAccessibleName("Temperature")
        self.temperature.setToolTip("0 always picks the likeliest word (repeatable); higher values vary more")
        self.temperature.setMaximumWidth(100)
        self.max_tokens = QSpinBox(self)
        self.max_tokens.setRange(8, 2048)
        self.max_tokens.setSingleStep(32)
        self.max_tokens.setValue(256)
        self.max_tokens.setSuffix(" tokens")
        self.max_tokens.setAccessibleName("Longest answer")
        self.max_tokens.setToolTip("The longest answer, in tokens (about ¾ of a word each)")
        self.max_tokens.setMaximumWidth(110)

    def _lay_out(self) -> None:
        """Two rows, so the pane fits 1280 pixels beside the "did it learn?" panel: the selector and the
        sampling knobs, then λ across the whole width."""
        knobs = QHBoxLayout()
        knobs.setSpacing(8)
        for text, widget in (("Fine-tuned side", self.route), ("Temperature", self.temperature),
                             ("Length", self.max_tokens)):
            knobs.addWidget(self._label(text, widget))
            knobs.addWidget(widget)
            knobs.addSpacing(8)
        knobs.addStretch(1)
        strength = QHBoxLayout()
        strength.setSpacing(8)
        strength.addWidget(self._label("Adapter strength", self.strength))
        strength.addWidget(self.strength, 1)
        strength.addWidget(self.strength_label)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addLayout(knobs)
        column.addLayout(strength)

    def _label(self, text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text, self)
        label.setProperty("role", "muted")
        label.setBuddy(buddy)
        return label

    def set_choices(self, choices: list[RouteChoice]) -> None:
        """Offer `choices`, keeping the current one when it is still offered."""
        if choices == self._choices:
            return
        current = self.current_route()
        self._choices = list(choices)
        self.route.blockSignals(True)
        self.route.clear()
        for index, choice in enumerate(choices):
            self.route.addItem(choice.label, choice.key)
            self.route.setItemData(index, choice.tooltip, Qt.ItemDataRole.ToolTipRole)
        keys = [choice.key for choice in choices]
        self.route.setCurrentIndex(keys.index(current.key) if current is not None and current.key in keys else 0)
        self.route.blockSignals(False)
        self.route.setEnabled(len(choices) > 1)

    def current_route(self) -> RouteChoice | None:
        index = self.route.currentIndex()
        return self._choices[index] if 0 <= index < len(self._choices) else None

    def select_route(self, key: str) -> None:
        self.route.setCurrentIndex(self.route.findData(key))

    def strength_value(self) -> float:
        return self.strength.value() / STRENGTH_STEPS

    def set_strength(self, value: float) -> None:
        self.strength.setValue(round(value * STRENGTH_STEPS))

    def settings(self, question: str) -> ChatSettings:
        route = self.current_route() or RouteChoice("single", "Your adapter", "")
        return ChatSettings(question, route, self.strength_value(), round(self.temperature.value(), 2),
                            self.max_tokens.value())

    @Slot(int)
    def _on_strength_value_changed(self, _value: int) -> None:
        self.strength_label.setText(f"λ {self.strength_value():.2f}")
        self.strength_changed.emit(self.strength_value())


class StatusLine(QWidget):
    """A thin progress bar (busy while the fraction is unknown) and a sentence: what the pane is doing."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(6)
        self.progress.setMaximumWidth(220)
        self.progress.setAccessibleName("Model loading progress")
        self.progress.hide()
        self.label = QLabel(self)
        self.label.setProperty("role", "muted")
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Chat status")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress)
        row.addWidget(self.label, 1)

    def busy(self, message: str, fraction: float | None = None) -> None:
        """Show `message` with the bar (a busy indicator when `fraction` is None)."""
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * max(0.0, min(1.0, fraction))))
        self.progress.show()
        self.label.setText(message)

    def done(self, message: str) -> None:
        """Hide the bar and show `message`."""
        self.progress.hide()
        self.label.setText(message)


def rich_label(parent: QWidget, *, muted: bool = False) -> QLabel:
    """A wrapped, selectable rich-text label."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if muted:
        label.setProperty("role", "muted")
    return label


class TrainFirstPage(QWidget):
    """Shown instead of the chat while the document cannot answer: why, and a button to the Train tab."""

    train_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PendingPane")
        self.icon = QLabel(self)
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(self)
        self.title.setObjectName("PendingTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body = QLabel(self)
        self.body.setObjectName("PendingBody")
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.setWordWrap(True)
        self.body.setMaximumWidth(560)
        self.body.setMinimumWidth(420)
        self.train_button = QPushButton("Go to Train", self)
        self.train_button.setObjectName("PrimaryButton")
        self.train_button.setToolTip("Open the Train tab to train this document")
        self.train_button.clicked.connect(self._on_train_button_clicked)
        column = QVBoxLayout(self)
        column.addStretch(2)
        column.addWidget(self.icon)
        column.addSpacing(8)
        column.addWidget(self.title)
        for widget in (self.body, self.train_button):
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(widget)
            row.addStretch(1)
            column.addLayout(row)
        column.addStretch(3)

    def show_state(self, title: str, body: str, can_train: bool) -> None:
        self.title.setText(title)
        self.body.setText(body)
        self.train_button.setVisible(can_train)

    def set_icon(self, icon) -> None:
        self.icon.setPixmap(icon.pixmap(QSize(56, 56)))

    @Slot()
    def _on_train_button_clicked(self) -> None:
        self.train_requested.emit()
