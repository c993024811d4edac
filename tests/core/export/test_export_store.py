"""A finished export is recorded in the document's store as upstream `dlm` records it: an `ExportSummary` in
`manifest.json` (read back by upstream's own code), an `exports` row in `metrics.sqlite`, and `ollama create`
run under `<DLM home>/ollama.lock`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from dlm_desktop.core.export import ExportNotice, ExportRequest, run_export
from dlm_desktop.core.export.staging import file_sha256
from dlm_desktop.core.export.store_record import StoreIdentity, record_export_in_store
from dlm_desktop.core.store.manifest import TrainingRunSummary, add_training_run, load_manifest, new_manifest
from dlm_desktop.core.store.manifest import save_manifest, utc_now
from dlm_desktop.core.store.paths import StorePaths
from tests.core.export.export_helpers import drain
from tests.core.export.test_export_ollama import fake_ollama  # noqa: F401  (fixture)
from tests.core.export.test_export_pipeline import adapters, gate_doc, single_doc  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow
SINGLE_ID = "01JDXMDESKTQPEXAMP1E000009"
GATE_ID = "01JDXMDESKTQPEXAMP1E000002"
UPSTREAM_FIELDS = {"exported_at", "target", "quant", "merged", "ollama_name", "ollama_version", "llama_cpp_tag",
                   "base_gguf_sha256", "adapter_gguf_sha256", "smoke_output_first_line", "adapter_name",
                   "adapter_mix"}
_UPSTREAM_RESAVE = """
import sys
from pathlib import Path
from dlm.store.manifest import load_manifest, save_manifest
manifest = load_manifest(Path(sys.argv[1]))
save_manifest(Path(sys.argv[2]), manifest)
print(manifest.exports[-1].base_gguf_sha256)
"""


def metrics_exports(store: StorePaths) -> list[tuple]:
    with sqlite3.connect(store.metrics_db) as conn:
        return conn.execute("SELECT exported_at, quant, merged, ollama_name, size_bytes, duration_s FROM exports "
                            "ORDER BY exported_at").fetchall()


def test_export_is_recorded_in_the_store_like_upstream(single_doc, upstream_python, tmp_path):  # noqa: F811
    _, result = drain(run_export(ExportRequest(single_doc, quant="F16", ollama=False)))
    store = StorePaths.for_dlm(SINGLE_ID)
    manifest = load_manifest(store.manifest)  # created on the way: these adapters came without one
    assert manifest.dlm_id == SINGLE_ID and manifest.base_model == "smollm2-135m"
    assert len(manifest.exports) == 1
    entry = manifest.exports[0]
    raw = json.loads(store.manifest.read_text(encoding="utf-8"))["exports"][0]
    assert set(raw) == UPSTREAM_FIELDS  # upstream's keys, none of ours
    assert (entry.quant, entry.merged, entry.target) == ("F16", False, "ollama")
    assert entry.base_gguf_sha256 == file_sha256(result.base_gguf)
    assert entry.adapter_gguf_sha256 == file_sha256(result.adapter_gguf)
    assert entry.adapter_name is None and entry.adapter_mix is None  # one flat adapter
    assert entry.ollama_name is None and entry.ollama_version is None  # Ollama was not asked
    assert entry.llama_cpp_tag == json.loads(result.manifest.read_text())["llama_cpp_tag"]
    # upstream's own code loads it and writes the very same bytes
    resaved = tmp_path / "upstream-manifest.json"
    done = subprocess.run([str(upstream_python), "-c", _UPSTREAM_RESAVE, str(store.manifest), str(resaved)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == entry.base_gguf_sha256
    assert resaved.read_bytes() == store.manifest.read_bytes()
    # metrics.sqlite: one exports row for the same moment, with the published bytes
    rows = metrics_exports(store)
    sizes = result.base_gguf.stat().st_size + result.adapter_gguf.stat().st_size
    assert len(rows) == 1
    exported_at, quant, merged, ollama_name, size_bytes, duration_s = rows[0]
    assert exported_at == entry.exported_at.isoformat() + "Z"
    assert (quant, merged, ollama_name, size_bytes) == ("F16", 0, None, sizes) and duration_s > 0


def test_a_busy_store_is_reported_and_the_export_stands(single_doc):  # noqa: F811
    _, result = drain(run_export(ExportRequest(single_doc, quant="F16", ollama=False)))
    store = StorePaths.for_dlm(SINGLE_ID)
    before = store.manifest.read_bytes()
    code = ("import sys; from dlm_desktop.core.store.lock import StoreLock\n"
            f"lock = StoreLock({str(store.exclusive_lock)!r}).acquire(); print('HELD', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "HELD"
        identity = StoreIdentity(SINGLE_ID, "smollm2-135m", None, single_doc)
        problem = record_export_in_store(store, result, identity, request_name=None, duration_s=1.0,
                                         lock_timeout_s=0.5)
    finally:
        holder.kill()
        holder.wait(30)
    assert problem is not None and "not recorded" in problem and f"PID {holder.pid}" in problem
    assert store.manifest.read_bytes() == before and result.base_gguf.is_file()


def test_mixes_named_adapters_ollama_and_history(gate_doc, fake_ollama):  # noqa: F811
    store = StorePaths.for_dlm(GATE_ID)
    run = TrainingRunSummary(run_id=1, started_at=utc_now(), adapter_version=1, seed=7, steps=20,
                             adapter_name="astronomy")
    save_manifest(store.manifest, add_training_run(new_manifest(GATE_ID, "smollm2-135m"), run))
    _, mixed = drain(run_export(ExportRequest(gate_doc, quant="F16", ollama=False)))
    mixed_sha = file_sha256(mixed.adapter_gguf)  # the next export replaces the file in the same folder
    events, single = drain(run_export(ExportRequest(gate_doc, quant="F16", adapter="baking", name="me/baker:latest")))
    assert single.ollama.status == "created", single.ollama.message
    assert not [e for e in events if isinstance(e, ExportNotice) and "not recorded" in e.message]
    log = json.loads(fake_ollama.read_text())
    assert log["lock"] is not None and log["lock"].split("\n")[0] == str(os.getpid())
    manifest = load_manifest(store.manifest)
    assert manifest.training_runs == [run]  # history kept
    first, second = manifest.exports
    assert first.adapter_mix == [("astronomy", 0.625), ("baking", 0.375)] and first.adapter_name is None
    assert first.adapter_gguf_sha256 == mixed_sha != second.adapter_gguf_sha256
    assert second.adapter_name == "baking" and second.adapter_mix is None
    assert (second.ollama_name, second.ollama_version) == ("me/baker:latest", "0.6.2")
    assert metrics_exports(store)[-1][3] == "me/baker:latest"
