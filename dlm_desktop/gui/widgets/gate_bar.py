"""A thin stacked bar of an answer's adapter weights (one coloured segment per adapter) with a legend.

The fine-tuned side of a chat answer is `W + λ · Σ w_i · s_i · B_i A_i`; the bar shows the `w_i` the gate (or
the chosen mix) gave this question, and λ beside it. The same text is the widget's accessible description.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from dlm_desktop.gui.theme import LIGHT, ThemeColors

MODE_LABELS = {"trained": "Learned gate", "uniform": "Equal mix", "static": "Static mix", "none": "One adapter"}


def adapter_colors(colors: ThemeColors) -> list[str]:
    """Distinct colours for the adapters, in declared order (they repeat after six)."""
    return [colors.accent, colors.adapter, colors.success, colors.warning, colors.question, colors.fence]


class _Bar(QWidget):
    """The painted bar itself."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.weights: dict[str, float] = {}
        self.colors = LIGHT
        self.setMinimumHeight(8)
        self.setMaximumHeight(8)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(160, 8)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        rect = QRectF(self.rect())
        painter.setBrush(QColor(self.colors.alt_base))
        painter.drawRoundedRect(rect, 4, 4)
        total = sum(max(0.0, weight) for weight in self.weights.values())
        left = rect.left()
        palette = adapter_colors(self.colors)
        for index, weight in enumerate(self.weights.values()):
            width = rect.width() * max(0.0, weight) / total if total > 0 else 0.0
            painter.setBrush(QColor(palette[index % len(palette)]))
            painter.drawRect(QRectF(left, rect.top(), width, rect.height()))
            left += width
        painter.end()


class GateBar(QWidget):
    """`show_weights({adapter: w}, mode, strength)`; `clear()` hides it. `text()` says what it shows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("GateBar")
        self._bar = _Bar(self)
        self.legend = QLabel(self)
        self.legend.setProperty("role", "muted")
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(3)
        column.addWidget(self._bar)
        column.addWidget(self.legend)
        self._text = ""
        self._mode = ""
        self._strength = 1.0
        self.setAccessibleName("Adapter weights of this answer")
        self.clear()

    @property
    def weights(self) -> dict[str, float]:
        return dict(self._bar.weights)

    def text(self) -> str:
        return self._text

    def set_colors(self, colors: ThemeColors) -> None:
        self._bar.colors = colors
        self._render_legend()
        self._bar.update()

    def clear(self) -> None:
        self._bar.weights = {}
        self._text = ""
        self.legend.clear()
        self.hide()

    def show_weights(self, weights: dict[str, float], mode: str, strength: float) -> None:
        self._bar.weights = dict(weights)
        self._mode, self._strength = mode, strength
        self._render_legend()
        self._bar.setVisible(len(weights) > 1)
        self._bar.update()
        self.show()

    def _render_legend(self) -> None:
        if not self._bar.weights:
            return
        palette = adapter_colors(self._bar.colors)
        parts, plain = [], []
        for index, (name, weight) in enumerate(self._bar.weights.items()):
            color = palette[index % len(palette)]
            parts.append(f"<span style='color:{color}'>■</span> {name} {weight:.0%}")
            plain.append(f"{name} {weight:.0%}")
        mode = MODE_LABELS.get(self._mode, self._mode)
        strength = f" · λ {self._strength:.2f}"
        self.legend.setText(f"{mode}: {' &nbsp; '.join(parts)}{strength}")
        self._text = f"{mode}: {', '.join(plain)}{strength}"
        self.setAccessibleDescription(self._text)
        self.setToolTip("How much each adapter counts in this answer (λ scales them all)")
