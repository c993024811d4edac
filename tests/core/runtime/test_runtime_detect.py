"""Backend choice from faked detection inputs: pick order, overrides and the environment variable."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dlm_desktop.core.errors import DlmDesktopError
from dlm_desktop.core.runtime import (
    Backend,
    BackendUnavailableError,
    UnknownBackendError,
    available_backends,
    backend_override_from_env,
    effective_override,
    explain_pick,
    pick_backend,
    resolve_override,
)
from tests.core.runtime.runtime_hosts import CPU_LINUX, apple_host, cuda_host, rocm_host


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (CPU_LINUX, Backend.CPU),
        (cuda_host(), Backend.CUDA),
        (rocm_host(), Backend.ROCM),
        (apple_host(mlx=False), Backend.MPS),
        (apple_host(mlx=True), Backend.MLX),
        (apple_host(mlx=False, mps=False), Backend.CPU),
    ],
    ids=["cpu", "cuda", "rocm", "mps", "mlx-over-mps", "mac-without-mps"],
)
def test_automatic_pick(facts, expected):
    assert pick_backend(facts, None) is expected
    assert pick_backend(facts, "auto") is expected
    assert pick_backend(facts, "") is expected


def test_cuda_wins_over_mlx_and_mps_when_all_present():
    everything = replace(cuda_host(), mps_built=True, mps_available=True, mlx_importable=True, mlx_lm_importable=True)
    assert pick_backend(everything) is Backend.CUDA


def test_mlx_needs_both_mlx_and_mlx_lm():
    half = replace(apple_host(mlx=True), mlx_lm_importable=False)
    assert pick_backend(half) is Backend.MPS
    with pytest.raises(BackendUnavailableError):
        pick_backend(half, "mlx")


def test_mlx_on_linux_only_when_forced():
    linux_with_mlx = replace(CPU_LINUX, mlx_importable=True, mlx_lm_importable=True)
    assert pick_backend(linux_with_mlx) is Backend.CPU
    assert pick_backend(linux_with_mlx, "mlx") is Backend.MLX
    with pytest.raises(BackendUnavailableError):
        pick_backend(CPU_LINUX, "mlx")


def test_mlx_not_picked_on_intel_mac():
    intel_mac = replace(apple_host(mlx=True), machine="x86_64")
    assert pick_backend(intel_mac) is Backend.MPS


@pytest.mark.parametrize(
    ("facts", "override", "expected"),
    [
        (cuda_host(), "cpu", Backend.CPU),
        (cuda_host(), " CUDA ", Backend.CUDA),
        (apple_host(mlx=True), "mps", Backend.MPS),
        (apple_host(mlx=True), "cpu", Backend.CPU),
        (rocm_host(), "rocm", Backend.ROCM),
    ],
)
def test_valid_override_wins(facts, override, expected):
    assert pick_backend(facts, override) is expected


def test_unavailable_override_names_what_is_available():
    with pytest.raises(BackendUnavailableError) as caught:
        pick_backend(apple_host(mlx=False), "cuda")
    error = caught.value
    assert isinstance(error, DlmDesktopError)
    assert "'cuda'" in error.message
    assert "available here: mps, cpu" in error.fix
    assert "<text>" not in str(error)


def test_rocm_and_cuda_are_not_interchangeable():
    with pytest.raises(BackendUnavailableError):
        pick_backend(rocm_host(), "cuda")
    with pytest.raises(BackendUnavailableError):
        pick_backend(cuda_host(), "rocm")


def test_unknown_override_is_a_typed_error():
    with pytest.raises(UnknownBackendError) as caught:
        pick_backend(CPU_LINUX, "metal")
    assert "auto, cuda, rocm, mlx, mps, cpu" in caught.value.fix


def test_available_backends_in_pick_order():
    everything = replace(apple_host(mlx=True))
    assert available_backends(everything) == (Backend.MLX, Backend.MPS, Backend.CPU)
    assert available_backends(CPU_LINUX) == (Backend.CPU,)


def test_env_override_helpers():
    assert backend_override_from_env({}) is None
    assert backend_override_from_env({"DLM_DESKTOP_BACKEND": "  "}) is None
    assert backend_override_from_env({"DLM_DESKTOP_BACKEND": "mps"}) == "mps"
    assert effective_override("cpu", {"DLM_DESKTOP_BACKEND": "mps"}) == "mps"
    assert effective_override("cpu", {}) == "cpu"
    assert effective_override(None, {}) is None
    assert effective_override("auto", {}) is None


def test_env_is_read_from_process_environment(monkeypatch):
    monkeypatch.setenv("DLM_DESKTOP_BACKEND", "cpu")
    assert backend_override_from_env() == "cpu"
    monkeypatch.delenv("DLM_DESKTOP_BACKEND")
    assert backend_override_from_env() is None


def test_resolve_override_precedence_and_labels():
    env = {"DLM_DESKTOP_BACKEND": "mps"}
    assert resolve_override("cpu", "cuda", env) == ("cpu", "override 'cpu'")
    assert resolve_override(None, "cuda", env) == ("mps", "DLM_DESKTOP_BACKEND=mps")
    assert resolve_override(None, "cuda", {}) == ("cuda", "the backend setting (cuda)")
    # "auto" at a higher level means automatic, even if a lower level names a backend.
    assert resolve_override("auto", "cuda", env) == (None, None)
    assert resolve_override(None, None, {"DLM_DESKTOP_BACKEND": "AUTO"}) == (None, None)


def test_explain_cpu_fallback_on_cpu_only_torch():
    lines = explain_pick(CPU_LINUX, Backend.CPU)
    assert lines[0] == "cpu (picked automatically)"
    assert "no CUDA device found (torch.cuda.is_available() is False)" in lines[1]
    assert "no CUDA support" in lines[1]
    assert len(lines) == 2  # MLX and MPS cannot exist on Linux without mlx: nothing to explain


def test_explain_cuda_build_without_driver_quotes_torch():
    facts = replace(CPU_LINUX, torch_cuda_version="12.4", cuda_warning="Found no NVIDIA driver on your system.")
    (line,) = explain_pick(facts, Backend.CPU)[1:]
    assert line.endswith("torch says: Found no NVIDIA driver on your system.")


def test_explain_without_torch():
    facts = replace(CPU_LINUX, torch_version=None)
    assert explain_pick(facts, Backend.CPU)[1] == "no CUDA device: torch is not installed"


def test_explain_mac_mps_mentions_missing_mlx_but_not_cuda():
    lines = explain_pick(apple_host(mlx=False), Backend.MPS)
    assert lines[1:] == ("MLX not used: mlx and mlx-lm not installed (pip install mlx mlx-lm)",)


def test_explain_mac_without_mps():
    lines = explain_pick(apple_host(mlx=False, mps=False), Backend.CPU)
    assert any("torch.backends.mps.is_available() is False" in line for line in lines)


def test_explain_forced_cpu_names_the_skipped_gpu():
    lines = explain_pick(cuda_host(), Backend.CPU, "DLM_DESKTOP_BACKEND=cpu")
    assert lines[0] == "cpu (forced by DLM_DESKTOP_BACKEND=cpu)"
    assert "NVIDIA GeForce RTX 3090 is available" in lines[1]


def test_explain_linux_with_mlx_says_how_to_force_it():
    facts = replace(CPU_LINUX, mlx_importable=True, mlx_lm_importable=True)
    assert any("DLM_DESKTOP_BACKEND=mlx" in line for line in explain_pick(facts, Backend.CPU))
