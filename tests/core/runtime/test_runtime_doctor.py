"""`dlm-desktop doctor`: the report, its JSON form and its text."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from dlm_desktop.core.runtime import (
    Backend,
    BackendUnavailableError,
    UnknownBackendError,
    build_doctor_report,
    render_doctor_text,
)
from tests.core.runtime.runtime_hosts import CPU_LINUX, apple_host, cuda_host

NO_ENV: dict[str, str] = {}


def test_json_has_exactly_the_documented_keys():
    report = build_doctor_report(CPU_LINUX, environ=NO_ENV)
    data = report.as_json_dict()
    assert list(data) == ["backend", "device", "capabilities", "plan", "plan_error"]
    assert json.loads(json.dumps(data)) == data
    assert (data["backend"], data["device"]) == ("cpu", "cpu")
    assert data["capabilities"]["backend"] == "cpu"
    assert data["plan_error"] is None
    assert data["plan"]["precision"] == "fp32"
    assert data["plan"]["base_params"] == 134_515_008
    assert data["plan"]["seq_len"] == 2048 and data["plan"]["lora_r"] == 8


def test_cpu_text_says_why_no_gpu_is_used():
    text = render_doctor_text(build_doctor_report(CPU_LINUX, environ=NO_ENV))
    assert "cpu (picked automatically)" in text
    assert "no CUDA device found (torch.cuda.is_available() is False)" in text
    assert "CPU-only build" in text
    assert "Suggested plan (reference: SmolLM2-135M, LoRA r=8, seq 2048)" in text
    assert "precision   fp32" in text
    assert "Determinism     advisory" in text


def test_json_carries_the_explanation_too():
    notes = build_doctor_report(CPU_LINUX, environ=NO_ENV).as_json_dict()["capabilities"]["backend_notes"]
    assert notes[0] == "cpu (picked automatically)"
    assert "torch.cuda.is_available() is False" in notes[1]


def test_cuda_report():
    report = build_doctor_report(cuda_host(), environ=NO_ENV)
    assert report.backend is Backend.CUDA and report.device == "cuda:0"
    assert report.plan is not None and report.plan.precision == "bf16"
    text = render_doctor_text(report)
    assert "cuda:0 (NVIDIA GeForce RTX 3090)" in text
    assert "SM 8.6" in text
    assert "GiB VRAM" in text
    assert "(CUDA 12.4)" in text
    assert "why" not in text  # nothing to explain when the best backend is used


def test_mlx_report_on_apple_silicon():
    report = build_doctor_report(apple_host(mlx=True), environ=NO_ENV)
    data = report.as_json_dict()
    assert (data["backend"], data["device"]) == ("mlx", "gpu")
    assert data["plan"]["precision"] == "fp32"
    assert "mlx 0.29.0, mlx-lm 0.28.0 (in use)" in render_doctor_text(report)


def test_refused_reference_plan_is_reported_not_raised():
    # A Mac with 0.25 GiB of unified memory cannot hold SmolLM2's fp16 weights.
    tiny_mac = replace(apple_host(), ram_total_bytes=256 * 1024**2, ram_available_bytes=128 * 1024**2)
    report = build_doctor_report(tiny_mac, environ=NO_ENV)
    data = report.as_json_dict()
    assert data["plan"] is None
    assert "unified memory" in data["plan_error"] and "fix:" in data["plan_error"]
    assert "Plan refused: " in render_doctor_text(report)


def test_override_sources():
    assert build_doctor_report(cuda_host(), "cpu", environ=NO_ENV).backend is Backend.CPU
    env = {"DLM_DESKTOP_BACKEND": "cpu"}
    report = build_doctor_report(cuda_host(), environ=env)
    assert report.backend is Backend.CPU
    assert report.why[0] == "cpu (forced by DLM_DESKTOP_BACKEND=cpu)"
    assert "NVIDIA GeForce RTX 3090 is available" in render_doctor_text(report)
    assert build_doctor_report(cuda_host(), "auto", environ=env).backend is Backend.CUDA
    assert build_doctor_report(cuda_host(), setting="cpu", environ=NO_ENV).backend is Backend.CPU


def test_env_override_read_from_process_environment(monkeypatch):
    monkeypatch.setenv("DLM_DESKTOP_BACKEND", "cpu")
    assert build_doctor_report(cuda_host()).backend is Backend.CPU


def test_bad_overrides_raise_typed_errors():
    with pytest.raises(BackendUnavailableError) as caught:
        build_doctor_report(CPU_LINUX, environ={"DLM_DESKTOP_BACKEND": "cuda"})
    assert caught.value.fix.startswith("available here: cpu")
    with pytest.raises(UnknownBackendError):
        build_doctor_report(CPU_LINUX, "gpu", environ=NO_ENV)
