"""One open view at a time, and no use after close: the lease every backend hands its views.

A backend owns a `ViewGuard`. `guard.lease(label)` is a context manager: it refuses to open while another
lease is open, and marks its lease closed on exit (also on exceptions). A view calls `lease.check()` at the
start of every method, so a view kept past its `with` block raises instead of silently scoring under
whatever state the shared model is in by then.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from dlm_desktop.core.inference.errors import ViewStateError


class Lease:
    """The right of one view to use the shared model while its block is open."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.closed = False

    def check(self) -> None:
        """Raise `ViewStateError` when the view's block has closed."""
        if self.closed:
            raise ViewStateError(
                f"the {self.label} view was used after its `with` block closed",
                fix=f"call the view's methods inside `with backend.as_{self.label}() as view:`",
            )


class ViewGuard:
    """Hands out at most one open `Lease` at a time."""

    def __init__(self) -> None:
        self._open: Lease | None = None
        self._lock = threading.Lock()

    @property
    def open_label(self) -> str | None:
        """The label of the open view, or None."""
        return self._open.label if self._open is not None else None

    @contextmanager
    def lease(self, label: str) -> Iterator[Lease]:
        """Open a lease for a `label` view; raises `ViewStateError` when another view is open."""
        with self._lock:
            if self._open is not None:
                raise ViewStateError(
                    f"cannot open the {label} view while the {self._open.label} view is open "
                    "(they share one loaded model)",
                    fix="close the first view's `with` block before opening another",
                )
            lease = Lease(label)
            self._open = lease
        try:
            yield lease
        finally:
            lease.closed = True
            with self._lock:
                self._open = None
