"""`dlm-desktop doctor`: the backend picked, why, what it can do, and a reference training plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dlm_desktop.core.runtime.capabilities import Capabilities, capabilities_from_facts
from dlm_desktop.core.runtime.detect import Backend, HostFacts, pick_backend, probe_host, resolve_override
from dlm_desktop.core.runtime.errors import PlanRefused
from dlm_desktop.core.runtime.explain import explain_pick
from dlm_desktop.core.runtime.memory import ModelShape
from dlm_desktop.core.runtime.plan import TrainingKnobs, TrainingPlan, plan_training

# The reference plan is for the offline default base, SmolLM2-135M(-Instruct), trained with the defaults.
REFERENCE_BASE_NAME = "SmolLM2-135M"
REFERENCE_BASE_PARAMS = 134_515_008
REFERENCE_SHAPE = ModelShape(num_layers=30, hidden_size=576, vocab_size=49_152)
REFERENCE_SEQ_LEN = 2048
REFERENCE_KNOBS = TrainingKnobs(adapter="lora", lora_r=8)

_LIBRARY_LABELS: tuple[tuple[str, str], ...] = (
    ("transformers", "transformers"),
    ("peft", "peft"),
    ("accelerate", "accelerate"),
    ("llama_cpp", "llama-cpp-python"),
)


@dataclass(frozen=True)
class DoctorReport:
    """Everything `dlm-desktop doctor` shows; `why` explains the backend choice line by line."""

    backend: Backend
    capabilities: Capabilities
    plan: TrainingPlan | None
    plan_error: str | None
    why: tuple[str, ...]
    facts: HostFacts

    @property
    def device(self) -> str:
        """The device string the engine will use (see `Capabilities.device`)."""
        return self.capabilities.device

    def as_json_dict(self) -> dict[str, Any]:
        """`{"backend", "device", "capabilities", "plan", "plan_error"}`; `capabilities.backend_notes` holds `why`."""
        capabilities = self.capabilities.as_dict()
        capabilities["backend_notes"] = list(self.why)
        return {
            "backend": self.backend.value,
            "device": self.device,
            "capabilities": capabilities,
            "plan": None if self.plan is None else self.plan.as_dict(),
            "plan_error": self.plan_error,
        }


def build_doctor_report(
    facts: HostFacts | None = None,
    override: str | None = None,
    *,
    setting: str | None = None,
    environ: dict[str, str] | None = None,
) -> DoctorReport:
    """Probe (unless `facts` are given), pick the backend and plan the reference run.

    The backend override is `override` if given (e.g. a command-line flag; "auto" forces automatic choice),
    else `DLM_DESKTOP_BACKEND` (read from `environ`, default `os.environ`), else `setting` (the user's
    backend setting). An override naming an unknown or unavailable backend raises
    `UnknownBackendError`/`BackendUnavailableError`; a refused reference plan is reported in `plan_error`.
    """
    facts = probe_host() if facts is None else facts
    value, source = resolve_override(override, setting, environ)
    backend = pick_backend(facts, value)
    caps = capabilities_from_facts(facts, backend)
    plan: TrainingPlan | None = None
    plan_error: str | None = None
    try:
        plan = plan_training(caps, REFERENCE_KNOBS, REFERENCE_BASE_PARAMS, REFERENCE_SEQ_LEN, shape=REFERENCE_SHAPE)
    except PlanRefused as refused:
        plan_error = refused.one_line()
    return DoctorReport(backend, caps, plan, plan_error, explain_pick(facts, backend, source), facts)


def render_doctor_text(report: DoctorReport) -> str:
    """The human-readable doctor output: aligned `label  value` lines, then the suggested plan."""
    rows = _backend_rows(report) + _capability_rows(report.capabilities, report.facts)
    width = max(len(label) for label, _ in rows)
    lines = ["DLM Desktop doctor", ""]
    lines += [f"{label.ljust(width)}  {value}".rstrip() for label, value in rows]
    lines += ["", *_plan_lines(report)]
    return "\n".join(lines) + "\n"


def _backend_rows(report: DoctorReport) -> list[tuple[str, str]]:
    caps = report.capabilities
    rows = [("Backend", f"{report.why[0]}" if report.why else report.backend.value)]
    rows += [("  why", line) for line in report.why[1:]]
    rows.append(("Device", f"{caps.device} ({caps.device_name})"))
    if caps.compute_capability or caps.gcn_arch:
        arch = f"SM {caps.compute_capability}" if caps.compute_capability else caps.gcn_arch
        rows.append(("Architecture", str(arch)))
    rows.append(("Memory", _memory_text(caps)))
    return rows


def _capability_rows(caps: Capabilities, facts: HostFacts) -> list[tuple[str, str]]:
    versions = caps.versions
    return [
        ("Precision", f"bf16 {_yes(caps.supports_bf16)}, fp16 {_yes(caps.supports_fp16)}"),
        ("FlashAttention", _yes(caps.has_flash_attention)),
        ("bitsandbytes", _yes(caps.has_bitsandbytes)),
        ("MLX", _mlx_text(caps)),
        ("Torch", _torch_text(versions, facts)),
        ("Libraries", ", ".join(f"{label} {versions.get(key) or 'missing'}" for key, label in _LIBRARY_LABELS)),
        ("CPU", f"{facts.cpu_name}, {caps.cpu_cores} cores"),
        ("RAM", f"{caps.ram_gb:.1f} GiB"),
        ("Determinism", caps.determinism),
        ("Platform", f"{caps.platform}, Python {versions.get('python')}"),
    ]


def _plan_lines(report: DoctorReport) -> list[str]:
    reference = f"{REFERENCE_BASE_NAME}, LoRA r={REFERENCE_KNOBS.lora_r}, seq {REFERENCE_SEQ_LEN}"
    title = f"Suggested plan (reference: {reference})"
    plan = report.plan
    if plan is None:
        return [title, f"  Plan refused: {report.plan_error}"]
    budget = "unknown" if plan.memory_budget_gb is None else f"{plan.memory_budget_gb:.1f} GiB"
    lines = [
        title,
        f"  precision   {plan.precision}",
        f"  attention   {plan.attn_implementation}",
        f"  batch       micro-batch {plan.micro_batch_size} x grad-accum {plan.grad_accum}"
        f" = effective {plan.effective_batch_size}",
        f"  grad ckpt   {'on' if plan.gradient_checkpointing else 'off'}",
        f"  est. peak   {plan.est_peak_memory_gb:.1f} GiB (budget {budget}; advisory)",
        f"  est. step   {_duration(plan.est_step_seconds)} per optimizer step (advisory)",
        f"  reason      {plan.reason}",
    ]
    lines += [f"  warning     {warning}" for warning in plan.warnings]
    return lines


def _memory_text(caps: Capabilities) -> str:
    if caps.memory_total_gb is None:
        return "unknown"
    kind = {"vram": "VRAM", "unified": "unified memory", "system": "system RAM"}[caps.memory_kind]
    free = "" if caps.memory_free_gb is None else f", {caps.memory_free_gb:.1f} GiB free"
    return f"{caps.memory_total_gb:.1f} GiB {kind}{free}"


def _mlx_text(caps: Capabilities) -> str:
    mlx, mlx_lm = caps.versions.get("mlx"), caps.versions.get("mlx_lm")
    if not caps.mlx_available:
        return "not installed (pip install mlx mlx-lm; used on Apple Silicon)"
    return f"mlx {mlx or '?'}, mlx-lm {mlx_lm or '?'}" + (" (in use)" if caps.backend is Backend.MLX else "")


def _torch_text(versions: dict[str, str | None], facts: HostFacts) -> str:
    torch = versions.get("torch")
    if torch is None:
        return "not installed"
    if versions.get("cuda"):
        return f"{torch} (CUDA {versions['cuda']})"
    if versions.get("rocm"):
        return f"{torch} (ROCm {versions['rocm']})"
    if facts.mps_built:
        return f"{torch} (MPS)"
    return f"{torch} (CPU-only build)"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
