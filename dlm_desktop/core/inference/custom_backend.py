"""`custom` backends: a class named by `entry_point: "pkg.module:Class"`, constructed with
`(base_spec, adapter_path)`, checked against the scoring protocols when it is built.

It must offer the differential protocol (`as_base()`, `as_finetuned()`); the optional protocols it offers
(`as_scaled_adapter`, `as_null_adapter`, `preflight_finite_check`) are recorded in `protocols`, which the
probes read to decide which parts they can run.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

from dlm_desktop.core.inference.errors import CustomBackendError
from dlm_desktop.core.inference.protocols import PROTOCOLS

_ENTRY_POINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
# The positional arguments each protocol method must accept (beyond self).
_SIGNATURES: dict[str, tuple[str, tuple[Any, ...]]] = {
    "differential": ("as_base", ()),
    "scaled_adapter": ("as_scaled_adapter", (1.0,)),
    "null_adapter": ("as_null_adapter", (0, None, 1.0)),
    "preflight": ("preflight_finite_check", ()),
}


class CustomBackend:
    """A user backend with the protocols it satisfies; every other attribute is the backend's own."""

    kind = "custom"

    def __init__(self, inner: Any, entry_point: str, protocols: tuple[str, ...]) -> None:
        self.inner = inner
        self.entry_point = entry_point
        self.protocols = protocols

    def __getattr__(self, name: str) -> Any:
        if name in ("inner", "entry_point", "protocols"):  # not yet set during construction
            raise AttributeError(name)
        return getattr(self.inner, name)


def load_custom_backend(entry_point: str, base_spec: Any, adapter_path: Any) -> CustomBackend:
    """Import, construct and check the class named by `entry_point` (see the module docstring)."""
    cls = _import_entry_point(entry_point)
    try:
        inner = cls(base_spec, adapter_path)
    except Exception as exc:  # the user's constructor can fail in any way
        raise CustomBackendError(f"{entry_point}({base_spec!r}, {adapter_path!r}) failed: {exc}",
                                 fix="check the class accepts (base_spec, adapter_path) and that both exist") from exc
    protocols = checked_protocols(inner, entry_point)
    return CustomBackend(inner, entry_point, protocols)


def checked_protocols(instance: Any, label: str) -> tuple[str, ...]:
    """The protocols `instance` satisfies; `CustomBackendError` when it lacks the differential one."""
    satisfied = [name for name, protocol in PROTOCOLS.items() if isinstance(instance, protocol)
                 and _accepts(instance, name)]
    if "differential" not in satisfied:
        missing = [m for m in ("as_base", "as_finetuned") if not callable(getattr(instance, m, None))]
        raise CustomBackendError(
            f"{label} does not satisfy the differential protocol"
            + (f" (missing {', '.join(missing)})" if missing else " (as_base takes arguments)"),
            fix="give the class as_base() and as_finetuned() methods returning context managers of views",
        )
    return tuple(satisfied)


def _accepts(instance: Any, protocol: str) -> bool:
    method_name, arguments = _SIGNATURES[protocol]
    method = getattr(instance, method_name, None)
    if not callable(method):
        return False
    try:
        inspect.signature(method).bind(*arguments)
    except TypeError:
        return False
    except ValueError:  # builtins without a signature: trust the attribute
        return True
    return protocol != "differential" or callable(getattr(instance, "as_finetuned", None))


def _import_entry_point(entry_point: str) -> Any:
    if not isinstance(entry_point, str) or not _ENTRY_POINT.match(entry_point):
        raise CustomBackendError(f"entry_point {entry_point!r} is not of the form 'pkg.module:Class'",
                                 fix="write it as 'package.module:ClassName'")
    module_name, _, attribute = entry_point.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise CustomBackendError(f"cannot import {entry_point}: {exc}",
                                 fix="install the package that provides it, or correct the entry_point") from exc
    if not callable(target):
        raise CustomBackendError(f"{entry_point} is not a class or callable", fix="point at the backend class")
    return target
