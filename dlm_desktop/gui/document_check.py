"""Checking the editor's text: the engine's parse + analysis, turned into diagnostics the window can show.

`check_document_text` runs on a worker thread (a 2,000-section document takes ~100 ms here, too long for
the GUI thread at every pause in typing). It never raises: engine errors become an error diagnostic with its
line and fix, and anything unexpected becomes an "internal error" diagnostic, so a document can never take
the window down. Qt-free.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from dlm_desktop.core.document.errors import DocumentError
from dlm_desktop.core.document.parse import DocumentWarning, parse_text
from dlm_desktop.core.document.pipeline import DocumentReport, analyze_document
from dlm_desktop.core.document.weights import load_document_weights
from dlm_desktop.gui.mix_logic import MixBasis, mix_basis
from dlm_desktop.gui.outline_data import OutlineGroup, outline_groups

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One problem. `line`/`col` are 1-based (0 = unknown); `path` is the file it is in when not the document."""

    severity: str
    message: str
    fix: str = ""
    line: int = 0
    col: int = 0
    path: Path | None = None

    def location_text(self) -> str:
        """`Line 12`, `training.yaml, line 3`, `training.yaml`, or empty when nothing is known."""
        if self.path is not None:
            return f"{self.path.name}, line {self.line}" if self.line else self.path.name
        return f"Line {self.line}" if self.line else ""


@dataclass(frozen=True)
class CheckResult:
    """What one check of the text found. `report` is None when the text has an error."""

    revision: int
    document_path: Path | None
    report: DocumentReport | None
    diagnostics: tuple[Diagnostic, ...]
    own_weights: dict[str, dict[str, float]] = field(default_factory=dict)
    rows_by_section_id: dict[str, int] = field(default_factory=dict)
    outline: tuple[OutlineGroup, ...] = ()
    mix: MixBasis | None = None
    seconds: float = 0.0

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == ERROR)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == WARNING)


def check_document_text(text: str, path: Path, revision: int = 0, *, untitled: bool = False) -> CheckResult:
    """Parse and analyze `text` as the document at `path` (for an untitled one, a scratch path)."""
    started = time.perf_counter()
    shown_path = None if untitled else path
    own_weights: dict[str, dict[str, float]] = {}
    report = None
    diagnostics: list[Diagnostic] = []
    try:
        parsed = parse_text(text, path=path)
        diagnostics += [_from_warning(w, path) for w in parsed.warnings]
        own_weights, _ = load_document_weights(path.parent)
        report = analyze_document(parsed)
        diagnostics = [_from_warning(w, path) for w in report.warnings]
    except DocumentError as exc:
        diagnostics.insert(0, _from_error(exc, path))
    except Exception as exc:  # noqa: BLE001 - a bug in the engine must not crash the window
        diagnostics.insert(0, Diagnostic(ERROR, f"internal error while checking: {exc!r}", "please report this"))
    rows, outline, mix = {}, (), None
    if report is not None:
        try:  # the panes' views of the report are derived here too, off the GUI thread
            rows = _rows_by_section_id(report)
            outline = outline_groups(report, rows)
            mix = mix_basis(report, own_weights)
        except Exception as exc:  # noqa: BLE001 - never let a view take the window down
            diagnostics.insert(0, Diagnostic(ERROR, f"internal error while checking: {exc!r}", "please report this"))
            report = None
    elapsed = time.perf_counter() - started
    return CheckResult(revision, shown_path, report, tuple(diagnostics), own_weights, rows, outline, mix, elapsed)


def _from_error(exc: DocumentError, document: Path) -> Diagnostic:
    other = exc.path if exc.path is not None and exc.path != document else None
    return Diagnostic(ERROR, exc.message, exc.fix, exc.line, exc.col, other)


def _from_warning(warning: DocumentWarning, document: Path) -> Diagnostic:
    other = warning.path if warning.path is not None and warning.path != document else None
    return Diagnostic(WARNING, warning.message, "", warning.line, 0, other)


def _rows_by_section_id(report: DocumentReport) -> dict[str, int]:
    """Rows per section id; sections with the same id have the same text, so they share the count evenly."""
    rows = Counter(row.get("_dlm_section_id", "") for row in report.rows)
    sections = Counter(section.section_id for section in report.sections)
    return {sid: rows.get(sid, 0) // count for sid, count in sections.items()}
