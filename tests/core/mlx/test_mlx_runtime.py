"""The MLX runtime is picked on this machine when forced (`DLM_DESKTOP_BACKEND=mlx`, `mlx[cpu]` installed),
`doctor` reports it, and chat follows the same pick."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dlm_desktop.core.inference.runtime_choice import chat_runtime
from dlm_desktop.core.runtime import Backend, build_doctor_report

ROOT = Path(__file__).resolve().parents[3]


def test_forcing_mlx_picks_it_and_doctor_json_says_so():
    env = {**os.environ, "DLM_DESKTOP_BACKEND": "mlx"}
    done = subprocess.run([sys.executable, "-m", "dlm_desktop", "doctor", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["backend"], report["device"]) == ("mlx", "cpu")  # MLX's CPU device off Apple Silicon
    assert report["capabilities"]["mlx_available"] is True
    assert report["capabilities"]["versions"]["mlx_lm"]


def test_chat_follows_the_runtime_pick(monkeypatch):
    monkeypatch.setenv("DLM_DESKTOP_BACKEND", "mlx")
    assert build_doctor_report().backend is Backend.MLX
    assert chat_runtime() == "mlx"
    monkeypatch.delenv("DLM_DESKTOP_BACKEND")
    assert chat_runtime() == "torch"  # Linux without CUDA picks the CPU (torch) on its own
    assert chat_runtime(setting="mlx") == "mlx"
