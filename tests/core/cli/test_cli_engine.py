"""`train`, `prompt` and `doctor` as a user runs them: the installed console script on a real (tiny) model,
JSON on the last stdout line, located one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dlm_desktop.core.smoke import SMOKE_QUESTION, smoke_document_text
from tests.tiny_models import tiny_chat_model_dir  # noqa: F401  (fixture)


def run(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("dlm-desktop")
    assert exe, "the dlm-desktop console script is not installed (pip install -e '.[dev]')"
    env = {key: value for key, value in os.environ.items() if key != "DLM_DESKTOP_BACKEND"}
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=600)


def last_json(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_chat_model_dir):  # noqa: F811
    """A document on the tiny model, trained 6 steps through `dlm-desktop train --json` (its own DLM home)."""
    folder = tmp_path_factory.mktemp("cli-engine")
    doc = folder / "notes.dlm"
    doc.write_text(smoke_document_text(tiny_chat_model_dir), encoding="utf-8")
    before = doc.read_bytes()
    old = os.environ.get("DLM_HOME")
    os.environ["DLM_HOME"] = str(folder / "home")
    try:
        summary = last_json(run("train", str(doc), "--max-steps", "6", "--json"))
        yield doc, summary, before
    finally:
        if old is None:
            os.environ.pop("DLM_HOME", None)
        else:
            os.environ["DLM_HOME"] = old


def test_train_json_reports_the_run_and_the_store_holds_it(trained):
    doc, summary, before = trained
    assert summary["status"] == "ok" and summary["steps"] == 6
    assert set(summary) >= {"first_loss", "final_train_loss", "final_val_loss", "adapters", "gate",
                            "tokens_per_second", "duration_s"}
    assert summary["gate"] is None and list(summary["adapters"]) == ["default"]
    version = Path(summary["adapters"]["default"])
    assert (version / "adapter_model.safetensors").is_file() and (version / "adapter_config.json").is_file()
    assert summary["tokens_per_second"] > 0 and summary["first_loss"] > 0
    assert doc.read_bytes() == before  # training never rewrites the user's document


def test_prompt_side_by_side_json_has_both_answers_from_the_trained_document(trained, monkeypatch):
    doc, summary, _ = trained
    monkeypatch.setenv("DLM_HOME", str(Path(summary["adapters"]["default"]).parents[4]))
    data = last_json(run("prompt", str(doc), SMOKE_QUESTION, "--side-by-side", "--json",
                         "--temperature", "0", "--max-tokens", "5"))
    assert isinstance(data["base"]["text"], str) and isinstance(data["finetuned"]["text"], str)
    assert data["finetuned"]["adapter"] == "default" and "timing" in data


def test_prompt_refuses_a_mix_together_with_one_adapter_in_one_line(trained):
    doc, _, _ = trained
    result = run("prompt", str(doc), "hello", "--mix", "default:1", "--adapter", "default")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "fix:" in lines[0], result.stderr


def test_train_on_a_missing_base_folder_fails_with_a_fix_and_keeps_the_document(tmp_path):
    doc = tmp_path / "bad-base.dlm"
    doc.write_text(smoke_document_text(tmp_path / "no-such-model"), encoding="utf-8")
    before = doc.read_bytes()
    result = run("train", str(doc), "--max-steps", "1")
    assert result.returncode in (1, 2)
    assert "fix:" in result.stderr and "Traceback" not in result.stderr
    assert doc.read_bytes() == before


def test_doctor_json_reports_the_cpu_here():
    data = last_json(run("doctor", "--json"))
    assert data["backend"] == "cpu" and data["device"] == "cpu"
    assert set(data) >= {"capabilities", "plan", "plan_error"}
