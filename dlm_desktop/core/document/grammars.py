"""Body grammars of instruction (`### Q` / `### A`) and preference (`### Prompt` / `### Chosen` / `### Rejected`)
sections.

Instruction bodies run until the next `### Q` or `### A` header line (blank lines and code blocks stay in the
body; text after an answer belongs to that answer). Preference bodies end at a blank line or the next header.
Headers must stand alone on their line; surrounding whitespace is tolerated. Line numbers in errors are
1-based within the section body.
"""

from __future__ import annotations

from dataclasses import dataclass

_Q, _A = "### Q", "### A"
_PROMPT, _CHOSEN, _REJECTED = "### Prompt", "### Chosen", "### Rejected"
_PREFERENCE_HEADERS = (_PROMPT, _CHOSEN, _REJECTED)
PROBE_HEADER = "### Q !probe"


class GrammarError(ValueError):
    """A body does not follow its grammar; `body_line` is 1-based within the body."""

    def __init__(self, message: str, body_line: int, fix: str) -> None:
        super().__init__(message)
        self.body_line = body_line
        self.fix = fix


@dataclass(frozen=True)
class QAPair:
    question: str
    answer: str


@dataclass(frozen=True)
class PreferenceTriple:
    prompt: str
    chosen: str
    rejected: str


def strip_probe_markers(body: str) -> str:
    """`### Q !probe` marks a question as an evaluation probe; for training it is a plain `### Q`."""
    if PROBE_HEADER not in body:
        return body
    return "\n".join(_Q if line.strip() == PROBE_HEADER else line for line in body.splitlines())


def _skip_blank(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def parse_instruction_body(body: str) -> list[QAPair]:
    """All Q/A pairs of an instruction body, in order."""
    lines = body.splitlines()
    index = _skip_blank(lines, 0)
    pairs: list[QAPair] = []
    while index < len(lines):
        if lines[index].strip() != _Q:
            raise GrammarError(
                f"expected '### Q' alone on its line, found {lines[index].strip()[:60]!r}",
                index + 1,
                "put '### Q' on its own line and the question on the lines below it",
            )
        question, index = _instruction_field(lines, index + 1)
        if not question:
            raise GrammarError("the question after '### Q' is empty", index + 1, "write the question under '### Q'")
        if index >= len(lines):
            raise GrammarError("'### Q' has no '### A' after it", index, "add '### A' and the answer after the question")
        if lines[index].strip() != _A:
            raise GrammarError(
                "a question must be followed by '### A' before the next '### Q'",
                index + 1,
                "add '### A' and an answer before the next question",
            )
        answer, index = _instruction_field(lines, index + 1)
        if not answer:
            raise GrammarError("the answer after '### A' is empty", index + 1, "write the answer under '### A'")
        pairs.append(QAPair(question, answer))
        index = _skip_blank(lines, index)
    if not pairs:
        raise GrammarError("no '### Q' / '### A' pairs", 1, "add at least one '### Q' question and '### A' answer")
    return pairs


def _instruction_field(lines: list[str], index: int) -> tuple[str, int]:
    start = index
    while index < len(lines) and lines[index].strip() not in (_Q, _A):
        index += 1
    return "\n".join(lines[start:index]).strip(), index


def parse_preference_body(body: str) -> list[PreferenceTriple]:
    """All prompt/chosen/rejected triples of a preference body, in order."""
    lines = body.splitlines()
    index = _skip_blank(lines, 0)
    triples: list[PreferenceTriple] = []
    while index < len(lines):
        values: list[str] = []
        for header in _PREFERENCE_HEADERS:
            value, index = _preference_field(lines, index, header)
            values.append(value)
        triples.append(PreferenceTriple(*values))
        index = _skip_blank(lines, index)
    if not triples:
        raise GrammarError(
            "no '### Prompt' / '### Chosen' / '### Rejected' triples",
            1,
            "add a '### Prompt', a '### Chosen' and a '### Rejected' block",
        )
    return triples


def _preference_field(lines: list[str], index: int, header: str) -> tuple[str, int]:
    if index >= len(lines):
        raise GrammarError(f"expected '{header}', found the end of the section", index, f"add '{header}' and its text")
    if lines[index].strip() != header:
        raise GrammarError(
            f"expected '{header}' alone on its line, found {lines[index].strip()[:60]!r}",
            index + 1,
            "preference blocks are '### Prompt', '### Chosen', '### Rejected' in that order, each on its own line",
        )
    index += 1
    start = index
    while index < len(lines) and lines[index].strip() and lines[index].strip() not in _PREFERENCE_HEADERS:
        index += 1
    value = "\n".join(lines[start:index]).strip()
    if index < len(lines) and not lines[index].strip():
        index += 1  # the blank line that ended the field
    if not value:
        raise GrammarError(f"the text under '{header}' is empty", index + 1, f"write the text under '{header}'")
    return value, index
