"""The "did it learn?" panel (SPEC A4) beside the chat: a button that runs the check on the document's own
prompts, its progress, then the verdict in colour (green, yellow, red), the per-section bars and the
adapter-strength curve. The chat pane runs the job (one model for both); this panel only shows it."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from dlm_desktop.gui.chat_logic import section_rows, sections_caption, verdict_sentences
from dlm_desktop.gui.theme import LIGHT, ThemeColors
from dlm_desktop.gui.widgets.lambda_curve import LambdaCurve
from dlm_desktop.gui.widgets.section_bars import SectionBars


class ProbePanel(QFrame):
    """Signals: `check_requested` when the user presses "Run the check"."""

    check_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.colors = LIGHT
        self.verdict_key: str | None = None
        self._build()
        self.reset()

    def _build(self) -> None:
        title = QLabel("Did it learn?", self)
        title.setObjectName("SectionTitle")
        intro = QLabel("Compares the fine-tuned model with the base on your document's own questions, "
                       "against random adapters of the same size.", self)
        intro.setProperty("role", "muted")
        intro.setWordWrap(True)
        self.run_button = QPushButton("Run the check", self)
        self.run_button.setToolTip("Takes a few seconds to a few minutes, depending on the model")
        self.run_button.setAccessibleName("Run the did-it-learn check")
        self.run_button.clicked.connect(self._on_run_button_clicked)
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(6)
        self.progress_label = QLabel(self)
        self.progress_label.setProperty("role", "muted")
        self.verdict = QLabel(self)
        self.verdict.setAccessibleName("Verdict")
        self.verdict.setWordWrap(True)
        self.explanation = QLabel(self)
        self.explanation.setWordWrap(True)
        self.explanation.setProperty("role", "muted")
        self.sections_title = QLabel("What each section taught it", self)
        self.sections_title.setToolTip("The drop in loss on each section's own text, compared with the mean drop "
                                       "on the other sections: green bars were learned more than the rest, grey "
                                       "ones less; red means the section's own loss rose")
        self.section_bars = SectionBars(self)
        self.sections_caption = QLabel(self)
        self.sections_caption.setAccessibleName("What the section bars mean")
        self.sections_caption.setWordWrap(True)
        self.sections_caption.setProperty("role", "muted")
        self.sections_caption.hide()
        self.curve_title = QLabel("Adapter strength λ", self)
        self.curve = LambdaCurve(self)
        self.notices = QLabel(self)
        self.notices.setWordWrap(True)
        self.notices.setProperty("role", "note")
        self._lay_out(title, intro)

    def _lay_out(self, title: QLabel, intro: QLabel) -> None:
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.run_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 10, 14, 12)
        column.setSpacing(6)
        column.addLayout(header)
        column.addWidget(intro)
        column.addWidget(self.progress)
        column.addWidget(self.progress_label)
        column.addWidget(self.verdict)
        column.addWidget(self.explanation)
        column.addSpacing(6)
        column.addWidget(self.sections_title)
        column.addWidget(self.section_bars)
        column.addWidget(self.sections_caption)
        column.addSpacing(6)
        column.addWidget(self.curve_title)
        column.addWidget(self.curve)
        column.addWidget(self.notices)
        column.addStretch(1)

    # ----- what the chat pane calls --------------------------------------------------------------------------------

    def reset(self) -> None:
        """No report (a new document, or new adapters)."""
        self.verdict_key = None
        self.progress.hide()
        self.progress_label.hide()
        self.verdict.hide()
        self.explanation.setText("Press “Run the check” to see whether training changed the model.")
        self.section_bars.set_rows([])
        self.sections_caption.hide()
        self.curve.set_points([])
        self.notices.hide()

    def set_can_run(self, enabled: bool) -> None:
        self.run_button.setEnabled(enabled)

    def show_started(self) -> None:
        self.progress.setRange(0, 0)
        self.progress.show()
        self.progress_label.setText("Loading the model…")
        self.progress_label.show()

    def show_progress(self, message: str, fraction: float | None) -> None:
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * max(0.0, min(1.0, fraction))))
        self.progress_label.setText(message)

    def show_report(self, report) -> None:
        """Show a `ProbeReport` (also a cancelled one, with what was measured)."""
        self.progress.hide()
        self.progress_label.hide()
        headline, explanation = verdict_sentences(report)
        self.verdict_key = report.verdict if report.status != "cancelled" else None
        self.verdict.setText(headline)
        self.verdict.show()
        self.explanation.setText(explanation)
        self.section_bars.set_rows(section_rows(report))
        caption = sections_caption(report)
        self.sections_caption.setText(caption)
        self.sections_caption.setVisible(bool(caption))
        self.curve.set_points([(point["lambda"], point["divergence"]) for point in report.lambda_curve])
        self.notices.setText("\n".join(report.notices))
        self.notices.setVisible(bool(report.notices))
        self._style_verdict()

    def show_failure(self, title: str, body: str) -> None:
        self.progress.hide()
        self.progress_label.hide()
        self.verdict_key = None
        self.verdict.setText(title)
        self.verdict.show()
        self.explanation.setText(body)
        self._style_verdict()

    def set_colors(self, colors: ThemeColors) -> None:
        self.colors = colors
        self.section_bars.set_colors(colors)
        self.curve.set_colors(colors)
        self._style_verdict()

    def _style_verdict(self) -> None:
        strong, soft = {
            "green": (self.colors.success, self.colors.success_soft),
            "yellow": (self.colors.warning, self.colors.warning_soft),
            "red": (self.colors.error, self.colors.error_soft),
        }.get(self.verdict_key or "", (self.colors.muted, self.colors.alt_base))
        self.verdict.setStyleSheet(f"QLabel {{ color: {strong}; background: {soft}; border: 1px solid {strong};"
                                   " border-radius: 6px; padding: 6px 10px; font-weight: 600; font-size: 11pt; }")
        self.verdict.setAccessibleDescription(self.verdict_key or "")

    @Slot()
    def _on_run_button_clicked(self) -> None:
        self.check_requested.emit()

