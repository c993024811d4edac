"""A live loss chart drawn with QPainter: training loss (solid line) and validation loss (dashed, with dots)
per adapter, against the optimizer step, in the theme's colours.

Points arrive in batches (the Train pane hands over ~20 batches a second); each batch costs one repaint.
The x axis spans the expected steps of the stage so the curve grows from left to right instead of rescaling.
"""

from __future__ import annotations

import math
from typing import Iterable

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from dlm_desktop.gui.theme import LIGHT, ThemeColors

TRAIN, VAL = "train", "val"
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 52, 16, 26, 30
Y_TICKS = 4
EMPTY_TEXT = "The loss curve appears here as soon as the first training step is done."


def _nice_step(span: float, ticks: int) -> float:
    """A round tick spacing (1, 2 or 5 × 10ⁿ) giving about `ticks` intervals over `span`."""
    raw = span / max(1, ticks)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


class LossChart(QWidget):
    """Loss against step; one colour per adapter (series), train solid and validation dashed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LossChart")
        self.setAccessibleName("Loss curve")
        self.setAccessibleDescription("Training and validation loss per step; lower is better.")
        self.setMinimumSize(320, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.colors = LIGHT
        self._series: dict[str, dict[str, list[tuple[int, float]]]] = {}
        self._expected_steps = 0

    # ----- data -------------------------------------------------------------------------------------------------

    def clear(self) -> None:
        self._series.clear()
        self._expected_steps = 0
        self.update()

    def set_expected_steps(self, steps: int) -> None:
        """The x axis reaches at least `steps` (the stage's total)."""
        self._expected_steps = max(self._expected_steps, steps)
        self.update()

    def add_points(self, kind: str, points: Iterable[tuple[str, int, float]]) -> None:
        """Append `(series, step, loss)` points to the `train` or `val` curves (non-finite losses are skipped)."""
        added = False
        for series, step, loss in points:
            if loss is None or not math.isfinite(loss):
                continue
            self._curves(series)[kind].append((step, float(loss)))
            added = True
        if added:
            self._describe()
            self.update()

    def truncate(self, series: str, after_step: int) -> None:
        """Drop `series`' points past `after_step` (a resumed stage restarts there)."""
        if series not in self._series:
            return
        for kind, points in self._series[series].items():
            self._series[series][kind] = [point for point in points if point[0] <= after_step]
        self.update()

    def points(self, kind: str, series: str | None = None) -> list[tuple[int, float]]:
        """The `train`/`val` points of `series` (default: of every series, in order)."""
        names = [series] if series is not None else list(self._series)
        return [point for name in names for point in self._series.get(name, {}).get(kind, [])]

    def set_colors(self, colors: ThemeColors) -> None:
        self.colors = colors
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(560, 280)

    def _curves(self, series: str) -> dict[str, list[tuple[int, float]]]:
        return self._series.setdefault(series, {TRAIN: [], VAL: []})

    def _describe(self) -> None:
        train, val = self.points(TRAIN), self.points(VAL)
        parts = [f"latest training loss {train[-1][1]:.3f} at step {train[-1][0]}"] if train else []
        parts += [f"latest validation loss {val[-1][1]:.3f}"] if val else []
        self.setAccessibleDescription("; ".join(parts) or EMPTY_TEXT)

    def _series_color(self, index: int) -> QColor:
        palette = (self.colors.accent, self.colors.adapter, self.colors.success, self.colors.warning,
                   self.colors.yaml_key, self.colors.delimiter)
        return QColor(palette[index % len(palette)])

    # ----- painting ---------------------------------------------------------------------------------------------

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(self.colors.base))
        plot = QRectF(self.rect()).adjusted(MARGIN_LEFT, MARGIN_TOP, -MARGIN_RIGHT, -MARGIN_BOTTOM)
        all_points = self.points(TRAIN) + self.points(VAL)
        if not all_points or plot.width() < 20 or plot.height() < 20:
            painter.setPen(QColor(self.colors.muted))
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(self.rect().adjusted(16, 0, -16, 0), flags, EMPTY_TEXT)
            painter.end()
            return
        x_max = max([self._expected_steps] + [step for step, _ in all_points] + [1])
        low, high = self._y_range([loss for _, loss in all_points])
        self._draw_axes(painter, plot, x_max, low, high)
        for index, (name, curves) in enumerate(self._series.items()):
            color = self._series_color(index)
            mapper = _Mapper(plot, x_max, low, high)
            self._draw_curve(painter, mapper, curves[TRAIN], color, Qt.PenStyle.SolidLine, dots=False)
            self._draw_curve(painter, mapper, curves[VAL], color, Qt.PenStyle.DashLine, dots=True)
        self._draw_legend(painter, plot)
        painter.end()

    @staticmethod
    def _y_range(values: list[float]) -> tuple[float, float]:
        low, high = min(values), max(values)
        if high - low < 1e-6:
            low, high = low - 0.5, high + 0.5
        pad = (high - low) * 0.08
        return max(0.0, low - pad) if low >= 0 else low - pad, high + pad

    def _draw_axes(self, painter: QPainter, plot: QRectF, x_max: int, low: float, high: float) -> None:
        grid, text = QColor(self.colors.border), QColor(self.colors.muted)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        mapper = _Mapper(plot, x_max, low, high)
        step = _nice_step(high - low, Y_TICKS)
        decimals = 0 if step >= 1 else 1 if step >= 0.1 else 2
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        value = math.ceil(low / step) * step
        while value <= high + 1e-9:
            y = mapper.y(value)
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(text)
            painter.drawText(QRectF(0, y - 8, MARGIN_LEFT - 6, 16), right, f"{value:.{decimals}f}")
            value += step
        x_step = max(1, int(_nice_step(x_max, 5)))
        for tick in range(0, x_max + 1, x_step):
            x = mapper.x(tick)
            painter.drawText(QRectF(x - 30, plot.bottom() + 4, 60, 16), Qt.AlignmentFlag.AlignHCenter, str(tick))
        painter.drawText(QRectF(plot.left(), plot.bottom() + 4, plot.width(), 24),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom, "step")
        painter.setPen(QPen(grid, 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())

    @staticmethod
    def _draw_curve(painter: QPainter, mapper: "_Mapper", points, color: QColor, style, *, dots: bool) -> None:
        if not points:
            return
        path = QPainterPath(mapper.point(*points[0]))
        for step, loss in points[1:]:
            path.lineTo(mapper.point(step, loss))
        pen = QPen(color, 2.0 if not dots else 1.6, style)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        if dots or len(points) == 1:
            painter.setBrush(color)
            painter.setPen(Qt.PenStyle.NoPen)
            for step, loss in points[-60:] if dots else points:
                painter.drawEllipse(mapper.point(step, loss), 2.6, 2.6)

    def _draw_legend(self, painter: QPainter, plot: QRectF) -> None:
        entries: list[tuple[str, QColor, Qt.PenStyle]] = []
        names = list(self._series)
        for index, name in enumerate(names):
            color = self._series_color(index)
            prefix = "" if len(names) == 1 and name == "default" else f"{name} "
            entries.append((f"{prefix}training", color, Qt.PenStyle.SolidLine))
            if self._series[name][VAL]:
                entries.append((f"{prefix}validation", color, Qt.PenStyle.DashLine))
        metrics = painter.fontMetrics()
        x = plot.right()
        for label, color, style in reversed(entries):
            width = metrics.horizontalAdvance(label)
            x -= width
            painter.setPen(QColor(self.colors.muted))
            painter.drawText(QPointF(x, MARGIN_TOP - 9), label)
            x -= 22
            painter.setPen(QPen(color, 2, style))
            painter.drawLine(QPointF(x, MARGIN_TOP - 13), QPointF(x + 16, MARGIN_TOP - 13))
            x -= 14


class _Mapper:
    """Data coordinates (step, loss) to widget coordinates inside the plot rectangle."""

    def __init__(self, plot: QRectF, x_max: int, low: float, high: float) -> None:
        self.plot, self.x_max, self.low, self.high = plot, max(1, x_max), low, high

    def x(self, step: float) -> float:
        return self.plot.left() + self.plot.width() * step / self.x_max

    def y(self, loss: float) -> float:
        return self.plot.bottom() - self.plot.height() * (loss - self.low) / (self.high - self.low)

    def point(self, step: float, loss: float) -> QPointF:
        return QPointF(self.x(step), self.y(loss))
