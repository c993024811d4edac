"""Process-wide repairs of the Qt binding, applied once, before the GUI makes its first call into Qt.

PySide6 6.12.0 (its abi3 wheels) on CPython older than 3.12 hands some singletons back without taking a
reference to them: every call of a C++ method that returns void returns `None` that way, and every
`Signal.emit()` returns `True` that way. Each such call lowers the singleton's reference count by one; a few
thousand calls later (typing, highlighting a long document, moving a slider) CPython aborts with
"none_dealloc" or "bool_dealloc". CPython 3.12 made these objects immortal, which hides the bug there. The
guard measures both leaks with harmless calls and, only when one is there, gives None, True and False a
reference count no process can use up: what CPython 3.12 does by design.
"""

from __future__ import annotations

import ctypes
import sys

_PROBE_CALLS = 64
_SPARE_REFERENCES = 1 << 48  # at one lost reference per call, more calls than a process can make
_guarded = False


def singleton_leaks_per_call() -> dict[str, float]:
    """References to None (void call) and True (`Signal.emit`) lost per call; zeros when the binding is sound."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        probed = Signal()

    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")
    none_lost = none_before - sys.getrefcount(None)
    true_before = sys.getrefcount(True)
    for _ in range(_PROBE_CALLS):
        probe.probed.emit()
    true_lost = true_before - sys.getrefcount(True)
    return {"None": none_lost / _PROBE_CALLS, "True": true_lost / _PROBE_CALLS}


def guard_singleton_refcounts() -> bool:
    """Apply the repair when a leak is present; True when it is in place (applied now or earlier)."""
    global _guarded
    if _guarded:
        return True
    if sys.version_info >= (3, 12) or max(singleton_leaks_per_call().values()) < 0.5:
        return False
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every object in release builds of CPython.
        ctypes.c_ssize_t.from_address(id(singleton)).value += _SPARE_REFERENCES
    _guarded = True
    return True


def is_guarded() -> bool:
    return _guarded
