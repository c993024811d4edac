"""The runtime the app will train on, in a few words for the status bar and a tooltip that says why.

`detect_runtime` runs on a worker thread at startup: `probe_host()` imports torch, which takes seconds and
must never delay the first paint. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from dlm_desktop.core.runtime import Backend, DoctorReport, HostFacts, RuntimeSetupError, build_doctor_report, probe_host


@dataclass(frozen=True)
class RuntimeSummary:
    """`label` for the status bar (“CPU · 2 cores”), `details` for its tooltip, `report` for later panes."""

    label: str
    details: str
    report: DoctorReport | None = None
    problem: str | None = None


def detect_runtime(setting: str | None = None, probe: Callable[[], HostFacts] = probe_host) -> RuntimeSummary:
    """Probe the machine and pick the backend as `dlm-desktop doctor` does (DLM_DESKTOP_BACKEND, then `setting`).

    A backend setting this machine cannot honour does not stop the app: the automatic pick is used and the
    tooltip says why.
    """
    facts = probe()
    setting = None if setting in (None, "", "auto") else setting
    problem = None
    try:
        report = build_doctor_report(facts, setting=setting)
    except RuntimeSetupError as exc:
        problem = exc.one_line()
        report = build_doctor_report(facts, override="auto")
    return summarize_runtime(report, problem)


def summarize_runtime(report: DoctorReport, problem: str | None = None) -> RuntimeSummary:
    caps = report.capabilities
    name = caps.device_name or report.facts.device_name or ""
    if report.backend in (Backend.CUDA, Backend.ROCM):
        label = f"{report.backend.value.upper() if report.backend is Backend.CUDA else 'ROCm'} · {name or 'GPU'}"
    elif report.backend is Backend.MLX:
        label = f"MLX · {report.facts.cpu_name or 'Apple Silicon'}"
    elif report.backend is Backend.MPS:
        label = "MPS · Apple GPU"
    else:
        label = f"CPU · {caps.cpu_cores} cores"
    if problem:
        label += " ⚠"
    return RuntimeSummary(label, _details(report, problem), report, problem)


def _details(report: DoctorReport, problem: str | None) -> str:
    lines = [f"Training runs on: {report.why[0] if report.why else report.backend.value}"]
    lines += [f"• {line}" for line in report.why[1:]]
    caps = report.capabilities
    lines.append(f"Device: {caps.device} ({caps.device_name})")
    if caps.memory_total_gb is not None:
        lines.append(f"Memory: {caps.memory_total_gb:.1f} GiB")
    if report.plan is not None:
        lines.append(f"Suggested precision: {report.plan.precision}")
    if problem:
        lines.append(f"Your backend setting could not be used: {problem}")
    lines.append("Run `dlm-desktop doctor` for the full report.")
    return "\n".join(lines)


def unknown_runtime(error: BaseException) -> RuntimeSummary:
    """What the status bar says when detection itself failed."""
    return RuntimeSummary("Runtime unknown ⚠", f"The hardware check failed: {error!r}", None, repr(error))
