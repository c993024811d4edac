"""Typed errors of the runtime layer (backend choice and training plan)."""

from __future__ import annotations

from dataclasses import dataclass

from dlm_desktop.core.errors import DlmDesktopError


class RuntimeSetupError(DlmDesktopError):
    """Base of the runtime errors.

    They concern the machine, not a document, so the one-line form leaves out the `<text>:` location that
    the base class prints when no file is involved.
    """

    def one_line(self) -> str:
        """`message (fix: ...)`, or the located form when a path was attached."""
        if self.path is not None:
            return super().one_line()
        return f"{self.message} (fix: {self.fix})" if self.fix else self.message


class UnknownBackendError(RuntimeSetupError):
    """A backend override names no backend DLM Desktop knows (a typo in the setting or the variable)."""


class BackendUnavailableError(RuntimeSetupError):
    """A backend override names a real backend that this machine cannot run."""


@dataclass(frozen=True)
class Refusal:
    """One reason a training plan was refused; `code` is stable for tests and the GUI."""

    code: str
    message: str
    fix: str


class PlanRefused(RuntimeSetupError):
    """The planner will not train this configuration on this machine; `reasons` lists every refusal."""

    def __init__(self, reasons: tuple[Refusal, ...]) -> None:
        self.reasons = reasons
        message = "; ".join(reason.message for reason in reasons)
        fix = "; ".join(dict.fromkeys(reason.fix for reason in reasons if reason.fix))
        super().__init__(message, fix=fix)

    @property
    def codes(self) -> tuple[str, ...]:
        """The `code` of each refusal, in the order they were found."""
        return tuple(reason.code for reason in self.reasons)
