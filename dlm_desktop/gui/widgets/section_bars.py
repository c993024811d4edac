"""Per-section internalization bars of "did it learn?": one row per section, a bar left (worse) or right
(learned) of a zero line, scaled to the largest value. Rows carry their own tooltip in the accessible text."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from dlm_desktop.gui.theme import LIGHT, ThemeColors

ROW_HEIGHT = 22
LABEL_SHARE = 0.55


class SectionBars(QWidget):
    """`set_rows([(label, value, tooltip, got_worse), ...])`; positive values mean the section was learned more
    than the others (its loss dropped more). A negative bar is grey while the section's own loss still fell
    (learned less than the rest), and red only when `got_worse` (its loss rose after training)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple] = []
        self.colors = LIGHT
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("What each section taught the model")
        self._resize_to_rows()

    def rows(self) -> list[tuple]:
        return list(self._rows)

    def set_rows(self, rows: list[tuple]) -> None:
        self._rows = list(rows)
        self.setAccessibleDescription("; ".join(f"{row[0]}: {row[1]:+.3f}" for row in self._rows))
        self._resize_to_rows()
        self.update()

    def set_colors(self, colors: ThemeColors) -> None:
        self.colors = colors
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(280, max(1, len(self._rows)) * ROW_HEIGHT)

    def _resize_to_rows(self) -> None:
        self.setFixedHeight(max(1, len(self._rows)) * ROW_HEIGHT + 2)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        index = int(event.position().y() // ROW_HEIGHT)
        self.setToolTip(self._rows[index][2] if 0 <= index < len(self._rows) else "")
        super().mouseMoveEvent(event)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if not self._rows:
            painter.setPen(QColor(self.colors.muted))
            painter.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignVCenter, "No sections measured yet")
            painter.end()
            return
        width = self.width()
        label_width = width * LABEL_SHARE
        bars = QRectF(label_width + 6, 0, max(10.0, width - label_width - 6), self.height())
        zero = bars.left() + bars.width() / 2
        scale = max(abs(row[1]) for row in self._rows) or 1.0
        metrics = painter.fontMetrics()
        for index, (label, value, _tooltip, got_worse) in enumerate(self._rows):
            top = index * ROW_HEIGHT
            painter.setPen(QColor(self.colors.text))
            text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(label_width))
            painter.drawText(QRectF(0, top, label_width, ROW_HEIGHT), Qt.AlignmentFlag.AlignVCenter, text)
            length = bars.width() / 2 * abs(value) / scale
            left = zero if value >= 0 else zero - length
            color = self.colors.success if value >= 0 else (self.colors.error if got_worse else self.colors.muted)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(color))
            painter.drawRoundedRect(QRectF(left, top + 6, max(1.0, length), ROW_HEIGHT - 12), 2, 2)
        painter.setPen(QColor(self.colors.border))
        painter.drawLine(int(zero), 0, int(zero), self.height())
        painter.end()
