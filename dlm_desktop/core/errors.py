"""The root of every error the engine raises on purpose.

Each error says what went wrong *and how to fix it*; the CLI prints it on one line, the GUI shows it in a
dialog with details on demand. Anything that is not a `DlmDesktopError` is a bug in DLM Desktop.
"""

from __future__ import annotations

from pathlib import Path


class DlmDesktopError(Exception):
    """Base class of the engine's typed errors.

    `fix` is one sentence telling the user what to do; `path`, `line` and `col` locate the problem when known
    (`line` and `col` are 1-based, 0 when unknown). `bad_input` marks errors in what the user asked for (a
    document, a request's options) as opposed to failures while doing it; the CLI exits 2 for those.
    """

    bad_input = False

    def __init__(
        self,
        message: str,
        *,
        fix: str = "",
        path: Path | str | None = None,
        line: int = 0,
        col: int = 0,
    ) -> None:
        self.message = message
        self.fix = fix
        self.path = Path(path) if path is not None else None
        self.line = line
        self.col = col
        super().__init__(self.one_line())

    def location(self) -> str:
        """`path:line:col`, `path:line` or `path` (`<text>` for text with no file; empty when nothing is known)."""
        if self.path is None and not self.line:
            return ""
        where = str(self.path) if self.path is not None else "<text>"
        if self.line and self.col:
            return f"{where}:{self.line}:{self.col}"
        if self.line:
            return f"{where}:{self.line}"
        return where

    def one_line(self) -> str:
        """`path:line[:col]: message (fix: ...)`, the form the CLI prints on stderr."""
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.fix:
            text += f" (fix: {self.fix})"
        return text

    def with_path(self, path: Path | str | None) -> "DlmDesktopError":
        """Return this error with `path` filled in when it had none (errors raised on in-memory text)."""
        if self.path is None and path is not None:
            self.path = Path(path)
            self.args = (self.one_line(),)
        return self
