"""The sliders of the training mix, one card per tag key (`section`, `adapter`, then the sources' own keys)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from dlm_desktop.gui.mix_logic import TagInfo
from dlm_desktop.gui.widgets.weight_row import WeightRow

_KEY_TITLES = {
    "section": ("By kind of section", "prose is read as text; instruction rows are questions with answers"),
    "adapter": ("By adapter", "which LoRA adapter the rows train"),
}


class WeightGroups(QWidget):
    """Holds the `WeightRow`s; relays their `weight_changed(key, value, weight)`."""

    weight_changed = Signal(str, str, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._column = QVBoxLayout(self)
        self._column.setContentsMargins(0, 0, 8, 0)
        self._column.setSpacing(12)
        self._column.addStretch(1)
        self._rows: dict[tuple[str, str], WeightRow] = {}
        self._cards: list[QFrame] = []

    def rows(self) -> dict[tuple[str, str], WeightRow]:
        """The slider rows by `(tag_key, tag_value)`."""
        return dict(self._rows)

    def show_tags(self, tags: tuple[TagInfo, ...], weights: dict[str, dict[str, float]]) -> None:
        """Show these tags with these weights; rows are rebuilt only when the set of tags changed."""
        wanted = [(t.key, t.value) for t in tags]
        if wanted != list(self._rows):
            self._rebuild(tags)
        for tag in tags:
            row = self._rows[(tag.key, tag.value)]
            row.set_tag(tag)
            row.set_weight(weights.get(tag.key, {}).get(tag.value, 1.0))

    def _rebuild(self, tags: tuple[TagInfo, ...]) -> None:
        for card in self._cards:
            self._column.removeWidget(card)
            card.deleteLater()
        self._cards, self._rows = [], {}
        keys = list(dict.fromkeys(tag.key for tag in tags))
        for key in keys:
            card = self._card(key, [t for t in tags if t.key == key])
            self._column.insertWidget(self._column.count() - 1, card)
            self._cards.append(card)

    def _card(self, key: str, tags: list[TagInfo]) -> QFrame:
        card = QFrame(self)
        card.setObjectName("Card")
        title, subtitle = _KEY_TITLES.get(key, (f"By {key}", f"the “{key}” tag of files pulled in by training.sources"))
        heading = QLabel(title, card)
        heading.setObjectName("SectionTitle")
        explanation = QLabel(subtitle, card)
        explanation.setProperty("role", "muted")
        column = QVBoxLayout(card)
        column.setContentsMargins(14, 10, 14, 10)
        column.setSpacing(4)
        column.addWidget(heading)
        column.addWidget(explanation)
        for tag in tags:
            row = WeightRow(tag, parent=card)
            row.weight_changed.connect(self.weight_changed)
            column.addWidget(row)
            self._rows[(tag.key, tag.value)] = row
        return card
