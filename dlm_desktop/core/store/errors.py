"""Typed errors of the training store (`<home>/store/<dlm_id>/`).

Every error names the file it is about and says how to get unstuck. Nothing else may escape
`dlm_desktop.core.store` on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dlm_desktop.core.errors import DlmDesktopError


class StoreError(DlmDesktopError):
    """Base class: the store on disk cannot be used as it is."""


class StorePathError(StoreError):
    """A path inside the store was asked for with an invalid part (dlm_id, adapter name, version, quant)."""


class StorePointerError(StoreError):
    """`current.txt` is unreadable, escapes the store, or points at a version folder that does not exist."""


class ManifestError(StoreError):
    """`manifest.json` is missing, not JSON, or breaks upstream's schema."""


class ManifestVersionError(ManifestError):
    """`manifest.json` has a `schema_version` other than 1 (written by a newer or older `dlm`)."""

    def __init__(self, message: str, *, found: object, **kwargs) -> None:
        self.found = found
        super().__init__(message, **kwargs)


class MetricsError(StoreError):
    """`metrics.sqlite` could not be opened, read or written."""


class GateConfigError(StoreError):
    """`adapter/_gate/gate_config.json` is missing, malformed, or names a weights file that is not there."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a store lock, as read from the lock file: `pid`, `hostname`, `acquired_at` (epoch seconds)."""

    pid: int
    hostname: str
    acquired_at: float


class StoreLockedError(StoreError):
    """Another process (or another job in this app) holds the store's exclusive `.lock`.

    `holder` is the recorded owner, or None when the lock file could not be decoded.
    """

    def __init__(self, message: str, *, holder: LockHolder | None, lock_path: Path, **kwargs) -> None:
        self.holder = holder
        self.lock_path = Path(lock_path)
        kwargs.setdefault("path", lock_path)
        super().__init__(message, **kwargs)


class NonFiniteWeightsError(StoreError):
    """A version writer found NaN/inf in the trained weights and refuses to persist them.

    Raise it from inside a `commit_version` writer: the pending version folder is then renamed to
    `vNNNN-rejected[-k]` (kept for inspection) and `current.txt` stays where it was. After the commit,
    `rejected_dir` holds where the folder went (None when it could not be renamed).
    """

    def __init__(self, offending: list[str] | tuple[str, ...], **kwargs) -> None:
        self.offending = tuple(offending)
        self.rejected_dir: Path | None = None
        shown = ", ".join(self.offending[:20])
        more = f" and {len(self.offending) - 20} more" if len(self.offending) > 20 else ""
        kwargs.setdefault(
            "fix",
            "lower the learning rate or train in fp32; the rejected weights are kept next to the good versions",
        )
        super().__init__(
            f"trained weights contain NaN/inf in {len(self.offending)} tensor(s) ({shown}{more}); not saved",
            **kwargs,
        )
