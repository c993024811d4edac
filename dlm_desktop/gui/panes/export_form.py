"""The Export pane's settings: quantization, Ollama model name (checked as you type with the core's rule),
destination folder (beside the document unless the user picks another), and, for a document with several
adapters, how they are combined.

Defaults follow the document until the user changes a field; from then on the user's choice is kept for that
document. Signal: `validity_changed(bool)` whenever the settings become usable or unusable.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget,
)

from dlm_desktop.gui.export_logic import (
    QUANT_CHOICES, ExportTarget, MixChoice, default_destination, default_name, mix_choices, name_problem,
)


class ExportForm(QWidget):
    """The fields of an export. Read them with `quant()`, `model_name()`, `destination()`, `mix_choice()`."""

    validity_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._target: ExportTarget | None = None
        self._choices: list[MixChoice] = []
        self._valid = False
        self._user_set: set[str] = set()  # fields the user changed for the current document
        self._build()

    def _build(self) -> None:
        self.quant_combo = QComboBox(self)
        for quant, meaning in QUANT_CHOICES:
            self.quant_combo.addItem(f"{quant} — {meaning}", quant)
        self.quant_combo.setAccessibleName("Quantization")
        self.quant_combo.setToolTip("How precisely the weights are stored: smaller files load faster and use "
                                    "less memory, larger ones stay closer to the model you trained.")
        self.quant_combo.activated.connect(self._on_quant_combo_activated)
        self.name_edit = QLineEdit(self)
        self.name_edit.setAccessibleName("Model name")
        self.name_edit.setToolTip("The name Ollama will know the model by, as in `ollama run NAME` "
                                  "(letters, digits, '.', '_', '-', an optional ':tag').")
        self.name_edit.textEdited.connect(self._on_name_edit_text_edited)
        self.name_edit.textChanged.connect(self._on_name_edit_text_changed)
        self.name_error = QLabel(self)
        self.name_error.setObjectName("FieldError")
        self.name_error.setProperty("role", "note")
        self.name_error.setWordWrap(True)
        self.name_error.setAccessibleName("Model name problem")
        self.name_error.hide()
        self.destination_edit = QLineEdit(self)
        self.destination_edit.setAccessibleName("Destination folder")
        self.destination_edit.setToolTip("The folder the GGUF files and the Modelfile are written to "
                                         "(beside the document unless you choose another)")
        self.destination_edit.textEdited.connect(self._on_destination_edit_text_edited)
        self.browse_button = QPushButton("Browse…", self)
        self.browse_button.setToolTip("Choose another folder for the export")
        self.browse_button.setAccessibleName("Browse for the destination folder")
        self.browse_button.clicked.connect(self._on_browse_button_clicked)
        self.mix_combo = QComboBox(self)
        self.mix_combo.setAccessibleName("Adapters to export")
        self.mix_combo.currentIndexChanged.connect(self._on_mix_combo_current_index_changed)
        self.mix_help = QLabel(self)
        self.mix_help.setProperty("role", "muted")
        self.mix_help.setWordWrap(True)
        self._lay_out()

    def _lay_out(self) -> None:
        destination = QHBoxLayout()
        destination.addWidget(self.destination_edit, 1)
        destination.addWidget(self.browse_button)
        self.mix_label = QLabel("&Adapters", self)
        self.mix_label.setBuddy(self.mix_combo)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow(self._buddy("&Quantization", self.quant_combo), self.quant_combo)
        form.addRow(self._buddy("Model &name", self.name_edit), self.name_edit)
        form.addRow("", self.name_error)
        form.addRow(self._buddy("&Destination", self.destination_edit), destination)
        form.addRow(self.mix_label, self.mix_combo)
        form.addRow("", self.mix_help)
        self._form = form

    def _buddy(self, text: str, widget: QWidget) -> QLabel:
        label = QLabel(text, self)
        label.setBuddy(widget)
        return label

    # ----- document ---------------------------------------------------------------------------------------------

    def set_target(self, target: ExportTarget | None) -> None:
        """Follow a (new or re-checked) document; the user's own changes survive a re-check of the same one."""
        same_document = (target is not None and self._target is not None
                         and target.document_path == self._target.document_path)
        if not same_document:
            self._user_set.clear()
        self._target = target
        if target is not None:
            self._apply_defaults(target)
        self._fill_mix_choices(target)
        self._validate()

    def _apply_defaults(self, target: ExportTarget) -> None:
        if "quant" not in self._user_set:
            self.quant_combo.setCurrentIndex(max(0, self.quant_combo.findData(target.default_quant)))
        if "name" not in self._user_set:
            self.name_edit.setText(default_name(target))
        if "destination" not in self._user_set:
            self.destination_edit.setText(str(default_destination(target)))

    def _fill_mix_choices(self, target: ExportTarget | None) -> None:
        previous = self.mix_choice().key if self.mix_choice() is not None else None
        self._choices = mix_choices(target) if target is not None else []
        self.mix_combo.blockSignals(True)
        self.mix_combo.clear()
        for choice in self._choices:
            self.mix_combo.addItem(choice.label, choice.key)
            self.mix_combo.setItemData(self.mix_combo.count() - 1, choice.tooltip, Qt.ItemDataRole.ToolTipRole)
        self.mix_combo.setCurrentIndex(max(0, self.mix_combo.findData(previous)) if previous else 0)
        self.mix_combo.blockSignals(False)
        several = bool(target is not None and target.several_adapters)
        for widget in (self.mix_label, self.mix_combo, self.mix_help):
            widget.setVisible(several)
        self._show_mix_help()

    # ----- values -------------------------------------------------------------------------------------------------

    def quant(self) -> str:
        return str(self.quant_combo.currentData())

    def model_name(self) -> str:
        return self.name_edit.text().strip()

    def destination(self) -> Path | None:
        text = self.destination_edit.text().strip()
        return Path(text).expanduser() if text else None

    def mix_choice(self) -> MixChoice | None:
        index = self.mix_combo.currentIndex()
        return self._choices[index] if 0 <= index < len(self._choices) else None

    def problem(self) -> str:
        """Why an export with these settings cannot start, or ""."""
        if self._target is None:
            return "Open a saved document first."
        problem = name_problem(self.model_name())
        if problem:
            return problem
        destination = self.destination()
        if destination is None:
            return "Choose a destination folder."
        if destination.exists() and not destination.is_dir():
            return f"The destination {destination} is a file, not a folder."
        if self._target.several_adapters and self.mix_choice() is None:
            return "Train the document's adapters first: none can be exported yet."
        return ""

    def is_valid(self) -> bool:
        return self._valid

    # ----- slots ----------------------------------------------------------------------------------------------------

    def _validate(self) -> None:
        name = name_problem(self.model_name()) if self._target is not None else ""
        self.name_error.setText(name)
        self.name_error.setVisible(bool(name))
        valid = not self.problem()
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)

    def _show_mix_help(self) -> None:
        choice = self.mix_choice()
        self.mix_help.setText(choice.tooltip if choice is not None else "No adapter has been trained yet.")

    @Slot(int)
    def _on_quant_combo_activated(self, _index: int) -> None:
        self._user_set.add("quant")

    @Slot(str)
    def _on_name_edit_text_edited(self, _text: str) -> None:
        self._user_set.add("name")

    @Slot(str)
    def _on_name_edit_text_changed(self, _text: str) -> None:
        self._validate()

    @Slot(str)
    def _on_destination_edit_text_edited(self, _text: str) -> None:
        self._user_set.add("destination")
        self._validate()

    @Slot(int)
    def _on_mix_combo_current_index_changed(self, _index: int) -> None:
        self._show_mix_help()
        self._validate()

    @Slot()
    def _on_browse_button_clicked(self) -> None:
        start = self.destination() or (self._target.document_path.parent if self._target else Path.home())
        chosen = QFileDialog.getExistingDirectory(self, "Export to which folder?", str(start.parent if not
                                                  start.exists() else start))
        if chosen:
            self.destination_edit.setText(chosen)
            self._user_set.add("destination")
            self._validate()
