"""Syntax colours for `.dlm` text: frontmatter, `::fences::`, `### Q/A/Prompt/Chosen/Rejected`, markers.

One pass per line with a block state saying where the line is (frontmatter, or which kind of section), so
typing in a 2,000-section document only re-colours the lines that changed up to the next fence. `### Q` is
a header only inside `::instruction::`, `### Prompt` only inside `::preference::`, as the grammars say.
"""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from dlm_desktop.gui.theme import LIGHT, ThemeColors

IN_FRONTMATTER = 1
IN_PROSE = 2
IN_INSTRUCTION = 3
IN_PREFERENCE = 4
IN_OTHER_SECTION = 5
_STATE_OF_FENCE = {"prose": IN_PROSE, "instruction": IN_INSTRUCTION, "preference": IN_PREFERENCE}
_HEADERS_OF_STATE = {IN_INSTRUCTION: frozenset({"Q", "A"}), IN_PREFERENCE: frozenset({"Prompt", "Chosen", "Rejected"})}

_DELIMITER = "---"
_YAML_KEY = re.compile(r"^(\s*(?:-\s+)?)([A-Za-z_][\w.-]*)(\s*:)(?=\s|$)")
_YAML_COMMENT = re.compile(r"(?:^|\s)(#.*)$")
_FENCE = re.compile(r'^::([a-z][a-z0-9_]*)(#[A-Za-z0-9_-]+)?((?:\s+[a-z][a-z0-9_]*="[^"\n]*")*)\s*::$')
_HEADER = re.compile(r"^###\s+(Q|A|Prompt|Chosen|Rejected)\b(.*)$")
_MARKER = re.compile(r"^\s*<!--\s*dlm-.*-->\s*$")
_HEADING = re.compile(r"^#{1,6}\s+\S")
_QUESTION_WORDS = frozenset({"Q", "Prompt"})


class DlmHighlighter(QSyntaxHighlighter):
    """Colours a `.dlm` document; `set_colors` switches between the light and dark palettes."""

    def __init__(self, document: QTextDocument, colors: ThemeColors = LIGHT) -> None:
        super().__init__(document)
        self._formats: dict[str, QTextCharFormat] = {}
        self.set_colors(colors, rehighlight=False)

    def set_colors(self, colors: ThemeColors, *, rehighlight: bool = True) -> None:
        self._formats = {
            "delimiter": _format(colors.delimiter, bold=True),
            "key": _format(colors.yaml_key),
            "comment": _format(colors.comment, italic=True),
            "fence": _format(colors.fence, bold=True, background=colors.fence_soft),
            "adapter": _format(colors.adapter, bold=True, background=colors.fence_soft),
            "question": _format(colors.question, bold=True),
            "answer": _format(colors.answer, bold=True),
            "rejected": _format(colors.error, bold=True),
            "flag": _format(colors.marker, italic=True),
            "marker": _format(colors.marker, italic=True),
            "heading": _format(colors.heading, bold=True),
        }
        if rehighlight:
            self.rehighlight()

    def format_named(self, name: str) -> QTextCharFormat:
        """The format used for one kind of token (tests compare against it)."""
        return self._formats[name]

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt override
        first_line = self.currentBlock().blockNumber() == 0
        previous = self.previousBlockState()
        if first_line and text == _DELIMITER:
            self.setFormat(0, len(text), self._formats["delimiter"])
            self.setCurrentBlockState(IN_FRONTMATTER)
        elif previous == IN_FRONTMATTER and text == _DELIMITER:
            self.setFormat(0, len(text), self._formats["delimiter"])
            self.setCurrentBlockState(IN_PROSE)
        elif previous == IN_FRONTMATTER:
            self._highlight_yaml(text)
            self.setCurrentBlockState(IN_FRONTMATTER)
        else:
            self.setCurrentBlockState(self._highlight_body(text, IN_PROSE if first_line else previous))

    def _highlight_yaml(self, text: str) -> None:
        key = _YAML_KEY.match(text)
        if key:
            self.setFormat(key.start(2), key.end(2) - key.start(2), self._formats["key"])
        comment = _YAML_COMMENT.search(text)
        if comment and '"' not in text[: comment.start(1)] and "'" not in text[: comment.start(1)]:
            self.setFormat(comment.start(1), len(text) - comment.start(1), self._formats["comment"])

    def _highlight_body(self, text: str, state: int) -> int:
        """Colour one body line; return the state of the section it leaves the next line in."""
        if not text:
            return state
        fence = _FENCE.match(text)
        if fence:
            self.setFormat(0, len(text), self._formats["fence"])
            if fence.group(2):
                self.setFormat(fence.start(2), len(fence.group(2)), self._formats["adapter"])
            return _STATE_OF_FENCE.get(fence.group(1), IN_OTHER_SECTION)
        header = _HEADER.match(text)
        if header and header.group(1) in _HEADERS_OF_STATE.get(state, ()):
            self._highlight_header(text, header)
        elif _MARKER.match(text):
            self.setFormat(0, len(text), self._formats["marker"])
        elif _HEADING.match(text) and state == IN_PROSE:
            self.setFormat(0, len(text), self._formats["heading"])
        return state

    def _highlight_header(self, text: str, header: re.Match) -> None:
        word = header.group(1)
        kind = "question" if word in _QUESTION_WORDS else "rejected" if word == "Rejected" else "answer"
        self.setFormat(0, header.end(1), self._formats[kind])
        if header.group(2).strip():
            self.setFormat(header.start(2), len(header.group(2)), self._formats["flag"])


def _format(color: str, *, bold: bool = False, italic: bool = False, background: str | None = None) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.DemiBold)
    if italic:
        fmt.setFontItalic(True)
    if background:
        fmt.setBackground(QColor(background))
    return fmt
