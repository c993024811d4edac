"""The README's run command on a machine without a display: `dlm-desktop` runs the whole pipeline in the
terminal (inspect → train → side by side → export with a parity check) on the user's copy of the example."""

from __future__ import annotations

import os
import shutil
import subprocess


def test_headless_dlm_desktop_runs_the_demo_pipeline_end_to_end(tmp_path, offline_base_env):
    exe = shutil.which("dlm-desktop")
    assert exe, "the dlm-desktop console script is not installed (pip install -e '.[dev]')"
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = ""  # what a plain terminal session has
    done = subprocess.run([exe, "demo", "--max-steps", "2"], capture_output=True, text=True, env=env,
                          timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for stage in ("== 1/4", "== 2/4", "== 3/4", "== 4/4"):
        assert stage in out
    assert "--- base model" in out and "--- fine-tuned" in out
    documents = os.environ["DLM_DESKTOP_DOCUMENTS_DIR"]
    exported = [path for path in os.listdir(documents) if path.endswith("-export")]
    assert exported, os.listdir(documents)
    files = os.listdir(os.path.join(documents, exported[0]))
    assert "Modelfile" in files and any(name.endswith(".gguf") for name in files)


def test_without_a_display_the_window_command_falls_back_to_the_demo(monkeypatch):
    from dlm_desktop import cli

    calls = []
    monkeypatch.setattr(cli, "_display_available", lambda: False)
    monkeypatch.setattr(cli, "cmd_demo", lambda args: calls.append((args.max_steps, args.ollama)) or 0)
    assert cli.main([]) == 0
    assert calls == [(30, False)]
