"""The adapter-strength curve of "did it learn?": divergence from the base at λ = 0 … 1.25.

A line through the measured points, λ on the x axis (1 = as trained), and a dashed marker at the λ the chat
slider is set to, so the user sees where their answers sit on the curve.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from dlm_desktop.gui.theme import LIGHT, ThemeColors

MARGINS = (34, 10, 10, 22)  # left, top, right, bottom


class LambdaCurve(QWidget):
    """`set_points([(λ, divergence), ...])`, `set_marker(λ)`, `set_colors(colors)`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._points: list[tuple[float, float]] = []
        self._marker: float | None = None
        self.colors = LIGHT
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Adapter strength curve")
        self.setToolTip("How far the fine-tuned model's next-token predictions move from the base model's as "
                        "the adapter strength λ grows (JS divergence). 0 is the base, 1 is as trained.")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(280, 130)

    def points(self) -> list[tuple[float, float]]:
        return list(self._points)

    def set_points(self, points: list[tuple[float, float]]) -> None:
        self._points = sorted((float(x), float(y)) for x, y in points)
        described = ", ".join(f"λ {x:g}: {y:.2g}" for x, y in self._points)
        self.setAccessibleDescription(f"Divergence from the base by strength: {described}" if described else "")
        self.update()

    def set_marker(self, strength: float | None) -> None:
        self._marker = strength
        self.update()

    def set_colors(self, colors: ThemeColors) -> None:
        self.colors = colors
        self.update()

    def _plot_area(self) -> QRectF:
        left, top, right, bottom = MARGINS
        return QRectF(self.rect()).adjusted(left, top, -right, -bottom)

    def _scales(self) -> tuple[float, float]:
        x_max = max([1.25] + [x for x, _ in self._points])
        y_max = max([y for _, y in self._points] + [1e-12])
        return x_max, y_max * 1.1

    def _to_screen(self, area: QRectF, x: float, y: float) -> QPointF:
        x_max, y_max = self._scales()
        return QPointF(area.left() + area.width() * x / x_max, area.bottom() - area.height() * y / y_max)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = self._plot_area()
        self._paint_axes(painter, area)
        if self._marker is not None:
            pen = QPen(QColor(self.colors.muted), 1, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            x = self._to_screen(area, min(self._marker, self._scales()[0]), 0).x()
            painter.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()))
        if self._points:
            self._paint_curve(painter, area)
        else:
            painter.setPen(QColor(self.colors.muted))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "Run the check to draw the curve")
        painter.end()

    def _paint_axes(self, painter: QPainter, area: QRectF) -> None:
        painter.setPen(QPen(QColor(self.colors.border), 1))
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        painter.drawLine(area.bottomLeft(), area.topLeft())
        painter.setPen(QColor(self.colors.muted))
        metrics = painter.fontMetrics()
        for tick in (0.0, 0.5, 1.0):
            x = self._to_screen(area, tick, 0).x()
            label = f"{tick:g}"
            painter.drawText(QPointF(x - metrics.horizontalAdvance(label) / 2, area.bottom() + metrics.ascent() + 4),
                             label)
        painter.drawText(QPointF(area.right() - metrics.horizontalAdvance("λ"), area.bottom() + metrics.ascent() + 4),
                         "λ")
        if self._points:
            top = f"{self._scales()[1] / 1.1:.1e}"
            painter.save()
            painter.translate(area.left() - 4, area.top())
            painter.rotate(-90)
            painter.drawText(QPointF(-metrics.horizontalAdvance(top), -2), top)
            painter.restore()

    def _paint_curve(self, painter: QPainter, area: QRectF) -> None:
        path = QPainterPath()
        screen = [self._to_screen(area, x, y) for x, y in self._points]
        path.moveTo(screen[0])
        for point in screen[1:]:
            path.lineTo(point)
        painter.setPen(QPen(QColor(self.colors.accent), 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        painter.setBrush(QColor(self.colors.base))
        for (x, _), point in zip(self._points, screen):
            painter.setPen(QPen(QColor(self.colors.accent), 2 if x == 1.0 else 1.5))
            painter.drawEllipse(point, 4 if x == 1.0 else 3, 4 if x == 1.0 else 3)
