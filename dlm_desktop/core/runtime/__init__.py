"""Runtime: detect the hardware, pick the backend (CUDA / ROCm / MLX / MPS / CPU), plan training.

Importing this package never imports torch or mlx; only `probe_host()` imports torch, when called.
"""

from dlm_desktop.core.runtime.capabilities import Capabilities, capabilities_from_facts
from dlm_desktop.core.runtime.detect import (
    BACKEND_ENV_VAR,
    Backend,
    HostFacts,
    available_backends,
    backend_override_from_env,
    effective_override,
    pick_backend,
    probe_host,
    resolve_override,
)
from dlm_desktop.core.runtime.doctor import DoctorReport, build_doctor_report, render_doctor_text
from dlm_desktop.core.runtime.errors import (
    BackendUnavailableError,
    PlanRefused,
    Refusal,
    RuntimeSetupError,
    UnknownBackendError,
)
from dlm_desktop.core.runtime.explain import explain_pick
from dlm_desktop.core.runtime.memory import ModelShape
from dlm_desktop.core.runtime.plan import TrainingConfigLike, TrainingKnobs, TrainingPlan, plan_training

__all__ = [
    "BACKEND_ENV_VAR",
    "Backend",
    "BackendUnavailableError",
    "Capabilities",
    "DoctorReport",
    "HostFacts",
    "ModelShape",
    "PlanRefused",
    "Refusal",
    "RuntimeSetupError",
    "TrainingConfigLike",
    "TrainingKnobs",
    "TrainingPlan",
    "UnknownBackendError",
    "available_backends",
    "backend_override_from_env",
    "build_doctor_report",
    "capabilities_from_facts",
    "effective_override",
    "explain_pick",
    "pick_backend",
    "plan_training",
    "probe_host",
    "render_doctor_text",
    "resolve_override",
]
