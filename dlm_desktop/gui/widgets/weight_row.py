"""One tag of the training mix: its name, the rows behind it, a 0×–4× slider and a spin box that agree."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QDoubleSpinBox, QGridLayout, QLabel, QSlider, QWidget

from dlm_desktop.gui.mix_logic import MAX_WEIGHT, MIN_WEIGHT, TagInfo

SLIDER_STEPS_PER_UNIT = 20  # the slider moves in 0.05× steps; ticks at every whole 1×
_MAX_LINES_IN_TOOLTIP = 12


class WeightRow(QWidget):
    """`weight_changed(key, value, weight)` whenever the user moves the slider or edits the spin box."""

    weight_changed = Signal(str, str, float)

    def __init__(self, tag: TagInfo, weight: float = 1.0, parent=None) -> None:
        super().__init__(parent)
        self.tag = tag
        self.name = QLabel(tag.value, self)
        self.name.setMinimumWidth(90)
        self.rows = QLabel(self)
        self.rows.setProperty("role", "muted")
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(int(MIN_WEIGHT * SLIDER_STEPS_PER_UNIT), int(MAX_WEIGHT * SLIDER_STEPS_PER_UNIT))
        self.slider.setSingleStep(1)
        self.slider.setPageStep(SLIDER_STEPS_PER_UNIT // 2)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(SLIDER_STEPS_PER_UNIT)
        self.slider.setMinimumWidth(120)
        self.spin = QDoubleSpinBox(self)
        self.spin.setRange(MIN_WEIGHT, MAX_WEIGHT)
        self.spin.setSingleStep(0.25)
        self.spin.setDecimals(2)
        self.spin.setSuffix(" ×")
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(84)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.spin.setAccessibleName(f"weight of {tag.key} {tag.value}")
        self.slider.setAccessibleName(f"weight of {tag.key} {tag.value}")
        self.note = QLabel(self)
        self.note.setProperty("role", "note")
        self.note.setWordWrap(True)
        self._lay_out()
        self.set_tag(tag)
        self.set_weight(weight)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.spin.valueChanged.connect(self._on_spin_value_changed)

    def _lay_out(self) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 2, 4, 2)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(0)
        grid.addWidget(self.name, 0, 0)
        grid.addWidget(self.rows, 0, 1)
        grid.addWidget(self.slider, 0, 2)
        grid.addWidget(self.spin, 0, 3)
        grid.addWidget(self.note, 1, 0, 1, 4)
        grid.setColumnStretch(2, 1)
        grid.setColumnMinimumWidth(1, 64)

    def set_tag(self, tag: TagInfo) -> None:
        """New row counts for the same tag (the document was edited)."""
        self.tag = tag
        self.rows.setText(f"{tag.rows} row" + ("" if tag.rows == 1 else "s"))
        lines = ", ".join(str(line) for line in tag.lines[:_MAX_LINES_IN_TOOLTIP])
        more = "…" if len(tag.lines) > _MAX_LINES_IN_TOOLTIP else ""
        where = f"Sections at lines {lines}{more}." if lines else "Rows from files pulled in by training.sources."
        self.setToolTip(f"{tag.rows} training rows carry {tag.key} = {tag.value}. {where}")
        if tag.source_weight is not None:
            self.note.setText(
                f"A training.yaml inside the source folders sets this to {tag.source_weight:g}×, and it wins."
            )
        self.note.setVisible(tag.source_weight is not None)

    def weight(self) -> float:
        return round(self.spin.value(), 2)

    def set_weight(self, weight: float) -> None:
        """Show `weight` without emitting `weight_changed`."""
        for widget in (self.slider, self.spin):
            widget.blockSignals(True)
        self.spin.setValue(weight)
        self.slider.setValue(round(weight * SLIDER_STEPS_PER_UNIT))
        for widget in (self.slider, self.spin):
            widget.blockSignals(False)
        self._show_dropped(weight <= 0.0)

    def _show_dropped(self, dropped: bool) -> None:
        self.name.setProperty("role", "dropped" if dropped else None)
        self.name.style().unpolish(self.name)
        self.name.style().polish(self.name)
        self.name.setToolTip("0× leaves these rows out of training" if dropped else "")

    @Slot(int)
    def _on_slider_value_changed(self, position: int) -> None:
        weight = position / SLIDER_STEPS_PER_UNIT
        self.spin.blockSignals(True)
        self.spin.setValue(weight)
        self.spin.blockSignals(False)
        self._show_dropped(weight <= 0.0)
        self.weight_changed.emit(self.tag.key, self.tag.value, self.weight())

    @Slot(float)
    def _on_spin_value_changed(self, weight: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(weight * SLIDER_STEPS_PER_UNIT))
        self.slider.blockSignals(False)
        self._show_dropped(weight <= 0.0)
        self.weight_changed.emit(self.tag.key, self.tag.value, self.weight())
