"""An export killed with SIGKILL mid-conversion leaves no artifact behind, and the next export succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dlm_desktop.core.export import ExportCancelled, ExportRequest, run_export
from dlm_desktop.core.store.paths import StorePaths
from tests.core.export.export_helpers import commit_adapter, drain, make_peft_adapter
from tests.core.export.export_documents import EXPORT_DLM_ID, FRANCE_AND_SKY_DOCUMENT

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def document(tmp_path, offline_base_env, offline_smollm2_dir, monkeypatch):
    monkeypatch.setenv("DLM_DESKTOP_GGUF_CACHE", str(tmp_path / "fresh-cache"))  # force a real conversion
    path = tmp_path / "doc.dlm"
    path.write_text(FRANCE_AND_SKY_DOCUMENT, encoding="utf-8")
    adapter = make_peft_adapter(offline_smollm2_dir, tmp_path / "peft", r=4, alpha=8, targets=["q_proj"], seed=9)
    commit_adapter(StorePaths.for_dlm(EXPORT_DLM_ID), adapter)
    return path


def artifacts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".staging-")) if folder.exists() else []


def test_sigkill_during_conversion_leaves_nothing_partial(document):
    script = textwrap.dedent(f"""
        from dlm_desktop.core.export import ExportRequest, ExportProgress, run_export
        for event in run_export(ExportRequest({str(document)!r}, quant="F16", ollama=False)):
            if isinstance(event, ExportProgress) and event.stage == "convert-base" and event.done == 60:
                print("HALFWAY", flush=True)
                import time; time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ))
    try:
        assert child.stdout.readline().strip() == "HALFWAY"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    out = document.parent / "doc-export"
    cache = document.parent / "fresh-cache"
    assert artifacts(out) == []
    assert list(out.glob(".staging-*"))  # the dead export's scratch folder, never an artifact
    assert list(cache.rglob(".base.*.partial")) and not list(cache.rglob("base.*.gguf"))  # half a conversion
    _, result = drain(run_export(ExportRequest(document, quant="F16", ollama=False)))
    assert artifacts(out) == ["Modelfile", "adapter.gguf", "base.F16.gguf", "export_manifest.json"]
    assert not list(out.glob(".staging-*")) and result.base_gguf.stat().st_size > 100_000_000
    assert not list(cache.rglob(".base.*.partial"))  # the dead conversion's temporary file is cleaned up
    assert not result.base_cached  # and never taken for a finished conversion


def test_stopping_publishes_nothing(document):
    calls = {"n": 0}

    def stop_soon() -> bool:
        calls["n"] += 1
        return calls["n"] > 40

    with pytest.raises(ExportCancelled):
        drain(run_export(ExportRequest(document, quant="F16", ollama=False), should_stop=stop_soon))
    out = document.parent / "doc-export"
    assert artifacts(out) == [] and not list(out.glob(".staging-*"))


def test_replacing_an_export_drops_the_old_manifest_before_any_file(tmp_path):
    from dlm_desktop.core.export.staging import Staging

    out = tmp_path / "export"
    out.mkdir()
    for name, text in (("base.F16.gguf", "old base"), ("export_manifest.json", "old manifest")):
        (out / name).write_text(text)
    staging = Staging(out)
    staging.path("base.F16.gguf").write_text("new base")
    staging.path("export_manifest.json").write_text("new manifest")
    with pytest.raises(FileNotFoundError):  # dies half-way: adapter.gguf was never staged
        staging.publish(["base.F16.gguf", "adapter.gguf", "export_manifest.json"])
    assert (out / "base.F16.gguf").read_text() == "new base"
    assert not (out / "export_manifest.json").exists()  # no manifest vouching for a mixed set of files
