"""The real probe on this machine, and the promise that importing the runtime stays light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

from dlm_desktop.core.runtime import Backend, build_doctor_report, pick_backend, probe_host
from dlm_desktop.core.runtime.probe import _probe_cuda

REPO = Path(__file__).resolve().parents[3]


def run_python(code: str, extra_path: Path | None = None) -> str:
    env = dict(os.environ)
    paths = [str(REPO)] + ([str(extra_path)] if extra_path else [])
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")])
    env.pop("DLM_DESKTOP_BACKEND", None)
    command = [sys.executable, "-c", textwrap.dedent(code)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_real_probe_on_this_machine_picks_the_cpu(monkeypatch):
    monkeypatch.delenv("DLM_DESKTOP_BACKEND", raising=False)
    facts = probe_host()
    assert facts.torch_version is not None
    assert not facts.cuda_available
    assert facts.cpu_cores >= 1 and facts.ram_total_bytes > 0
    assert "torch" in facts.packages
    assert pick_backend(facts) is Backend.CPU
    report = build_doctor_report(facts, environ={})
    assert report.backend is Backend.CPU and report.plan is not None


def test_importing_the_runtime_does_not_import_torch():
    out = run_python(
        """
        import sys
        import dlm_desktop.core.runtime as runtime
        runtime.pick_backend(runtime.HostFacts())
        print(sorted(name for name in ("torch", "mlx", "mlx_lm", "transformers", "PySide6") if name in sys.modules))
        """
    )
    assert out == "[]"


def test_probe_finds_mlx_without_importing_it(tmp_path):
    # Packages named mlx and mlx_lm whose import would fail: the probe must only look them up.
    for name in ("mlx", "mlx_lm"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise RuntimeError('imported!')\n")
    out = run_python(
        """
        import json, sys
        from dlm_desktop.core.runtime import probe_host
        facts = probe_host()
        print(json.dumps([facts.mlx_importable, facts.mlx_lm_importable, "mlx" in sys.modules]))
        """,
        extra_path=tmp_path,
    )
    assert json.loads(out) == [True, True, False]


def test_cuda_probe_keeps_torchs_warning_text():
    def is_available() -> bool:
        warnings.warn("Found no NVIDIA driver on your system.", UserWarning, stacklevel=1)
        return False

    fake_torch = types.SimpleNamespace(cuda=types.SimpleNamespace(is_available=is_available))
    assert _probe_cuda(fake_torch) == {"cuda_warning": "Found no NVIDIA driver on your system."}


def test_cuda_probe_treats_an_unqueryable_device_as_absent():
    def broken(_index: int = 0):
        raise RuntimeError("CUDA error: unknown error")

    fake_torch = types.SimpleNamespace(
        cuda=types.SimpleNamespace(is_available=lambda: True, get_device_properties=broken, mem_get_info=broken)
    )
    result = _probe_cuda(fake_torch)
    assert "cuda_available" not in result
    assert "CUDA error" in result["cuda_warning"]
