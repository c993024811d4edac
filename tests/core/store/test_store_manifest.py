"""manifest.json in upstream's exact schema (SPEC-upstream §8.2, SPEC A2.11)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from dlm_desktop.core.store.errors import ManifestError, ManifestVersionError
from dlm_desktop.core.store.manifest import (
    ExportSummary,
    LicenseAcceptance,
    StoreManifest,
    TrainingRunSummary,
    add_export,
    add_training_run,
    load_manifest,
    manifest_json,
    new_manifest,
    next_run_id,
    replace_fields,
    save_manifest,
    update_manifest,
)

T0 = datetime(2026, 4, 24, 10, 18, 42)


def _full_manifest() -> StoreManifest:
    run = TrainingRunSummary(
        run_id=1,
        started_at=T0,
        ended_at=T0 + timedelta(minutes=3),
        adapter_version=1,
        base_model_revision="12fd25f77366fa6b3b4b768ec3050bf629380bac",
        seed=42,
        steps=20,
        final_train_loss=1.25,
        final_val_loss=1.5,
        status="completed",
        pinned_versions={"torch": "2.13.0"},
        summary_path="logs/train-000001-20260424T101842.summary.json",
        adapter_name="tone",
        weight_distribution={"section": {"prose": 3, "instruction": 2}},
    )
    export = ExportSummary(
        exported_at=T0 + timedelta(hours=1),
        quant="Q4_K_M",
        merged=False,
        ollama_name="my-doc",
        ollama_version="0.6.1",
        llama_cpp_tag="b4000",
        base_gguf_sha256="a" * 64,
        adapter_gguf_sha256="b" * 64,
        smoke_output_first_line="Héllo — world",
        adapter_mix=[("lexer", 0.5), ("runtime", 0.5)],
    )
    return new_manifest(
        "01KPQ8GATEMTEG000000000000",
        "smollm2-135m",
        created_at=T0,
        updated_at=T0,
        base_model_revision="12fd25f77366fa6b3b4b768ec3050bf629380bac",
        base_model_sha256="c" * 64,
        adapter_version=1,
        adapter_sha256="d" * 64,
        adapter_config_sha256="e" * 64,
        adapter_versions={"tone": 1, "knowledge": 2},
        training_runs=[run],
        exports=[export],
        content_hashes={"df19a18a61f96647": "df19a18a61f96647"},
        pinned_versions={"torch": "2.13.0", "peft": "0.13.0"},
        source_path="/home/user/notes/doc.dlm",
        license_acceptance=LicenseAcceptance(
            accepted_at=T0, license_url="https://example.org/license", license_spdx="Apache-2.0", via="cli_flag"
        ),
    )


def test_round_trip_is_byte_identical_and_canonical(store):
    manifest = _full_manifest()
    save_manifest(store.manifest, manifest)
    first = store.manifest.read_bytes()
    loaded = load_manifest(store.manifest)
    assert loaded == manifest
    save_manifest(store.manifest, loaded)
    assert store.manifest.read_bytes() == first
    text = first.decode("utf-8")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.startswith('{\n  "adapter_config_sha256": ')
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert '"Héllo — world"' in text  # UTF-8, not \u escapes
    assert '"created_at": "2026-04-24T10:18:42"' in text


def test_minimal_manifest_has_upstreams_defaults(store):
    data = json.loads(manifest_json(new_manifest("X1", "smollm2-135m", created_at=T0, updated_at=T0)))
    assert data == {
        "adapter_config_sha256": None,
        "adapter_sha256": None,
        "adapter_version": 0,
        "adapter_versions": {},
        "base_model": "smollm2-135m",
        "base_model_revision": None,
        "base_model_sha256": None,
        "content_hashes": {},
        "created_at": "2026-04-24T10:18:42",
        "dlm_id": "X1",
        "exports": [],
        "license_acceptance": None,
        "pinned_versions": {},
        "schema_version": 1,
        "source_path": None,
        "training_runs": [],
        "updated_at": "2026-04-24T10:18:42",
    }


def test_default_timestamps_are_naive_utc_whole_seconds():
    manifest = new_manifest("X1", "smollm2-135m")
    assert manifest.created_at.tzinfo is None and manifest.created_at.microsecond == 0
    aware = new_manifest("X1", "b", created_at=datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    assert aware.created_at == datetime(2026, 1, 1, 10, 0)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(app_only="x"),
        lambda d: d["training_runs"][0].update(loss_curve=[1.0]),
        lambda d: d["exports"][0].update(gate_mode="static_mean"),
        lambda d: d["license_acceptance"].update(extra=True),
    ],
)
def test_extra_keys_are_rejected_like_upstream(store, mutate):
    data = json.loads(manifest_json(_full_manifest()))
    mutate(data)
    store.manifest.parent.mkdir(parents=True)
    store.manifest.write_text(json.dumps(data))
    with pytest.raises(ManifestError) as caught:
        load_manifest(store.manifest)
    assert "extra" in caught.value.message.lower() or "permitted" in caught.value.message.lower()
    assert caught.value.path == store.manifest


def test_models_refuse_extra_keys_and_bad_values():
    with pytest.raises(ValidationError):
        StoreManifest(dlm_id="X", base_model="b", app_note="no")
    with pytest.raises(ValidationError):
        TrainingRunSummary(run_id=0, started_at=T0, adapter_version=1, seed=1)
    with pytest.raises(ValidationError):
        TrainingRunSummary(run_id=1, started_at=T0, adapter_version=1, seed=1, status="ok")
    with pytest.raises(ValidationError):
        StoreManifest(dlm_id="X", base_model="b", schema_version=2)
    with pytest.raises(ValidationError):
        replace_fields(new_manifest("X", "b"), gate_mode="static")


def test_schema_version_other_than_one_is_refused(store):
    data = json.loads(manifest_json(_full_manifest()))
    data["schema_version"] = 2
    store.manifest.parent.mkdir(parents=True)
    store.manifest.write_text(json.dumps(data))
    with pytest.raises(ManifestVersionError) as caught:
        load_manifest(store.manifest)
    assert caught.value.found == 2


def test_missing_and_invalid_files_are_typed_errors(store):
    with pytest.raises(ManifestError, match="no manifest.json"):
        load_manifest(store.manifest)
    store.manifest.parent.mkdir(parents=True)
    store.manifest.write_text('{\n  "dlm_id": \n')
    with pytest.raises(ManifestError, match="not valid JSON") as caught:
        load_manifest(store.manifest)
    assert caught.value.line == 3
    store.manifest.write_text("[1, 2]")
    with pytest.raises(ManifestError, match="JSON object"):
        load_manifest(store.manifest)


def test_update_manifest_appends_runs_and_exports_and_stamps_updated_at(store):
    save_manifest(store.manifest, new_manifest("X1", "smollm2-135m", created_at=T0, updated_at=T0))
    run_id = next_run_id(load_manifest(store.manifest))
    run = TrainingRunSummary(run_id=run_id, started_at=T0, adapter_version=1, seed=7)
    updated = update_manifest(store.manifest, lambda m: add_training_run(m, run))
    assert updated.updated_at > T0 and updated.created_at == T0
    rerun = run.model_copy(update={"status": "failed"})
    update_manifest(store.manifest, lambda m: add_training_run(m, rerun))
    export = ExportSummary(exported_at=T0, quant="Q8_0")
    final = update_manifest(store.manifest, lambda m: add_export(replace_fields(m, adapter_version=1), export))
    assert load_manifest(store.manifest) == final
    assert [r.status for r in final.training_runs] == ["failed"]
    assert final.exports == [export] and final.adapter_version == 1


def test_next_run_id_takes_manifest_and_metrics_into_account():
    manifest = new_manifest("X", "b")
    assert next_run_id(None) == 1
    assert next_run_id(manifest) == 1
    manifest = add_training_run(manifest, TrainingRunSummary(run_id=3, started_at=T0, adapter_version=1, seed=1))
    assert next_run_id(manifest) == 4
    assert next_run_id(manifest, 9, None) == 10


# --- against upstream's own code ------------------------------------------------------------------------------

_UPSTREAM_RELOAD = """
import sys
from pathlib import Path
from dlm.store.manifest import load_manifest, to_canonical_json
sys.stdout.buffer.write(to_canonical_json(load_manifest(Path(sys.argv[1]))).encode("utf-8"))
"""


@pytest.mark.parametrize("build", [_full_manifest, lambda: new_manifest("X1", "smollm2-135m")])
def test_upstream_accepts_our_manifest_and_writes_the_same_bytes(store, run_upstream, build):
    save_manifest(store.manifest, build())
    assert run_upstream(_UPSTREAM_RELOAD, str(store.manifest)) == store.manifest.read_text(encoding="utf-8")


def test_we_read_upstreams_manifest_and_write_the_same_bytes(store, run_upstream):
    store.manifest.parent.mkdir(parents=True)
    run_upstream(
        """
        import sys
        from datetime import datetime
        from pathlib import Path
        from dlm.base_models.license import LicenseAcceptance
        from dlm.store.manifest import ExportSummary, Manifest, TrainingRunSummary, save_manifest
        t = datetime(2026, 4, 24, 10, 18, 42)
        m = Manifest(
            dlm_id="01KPQ8GATEMTEG000000000000", base_model="smollm2-135m", adapter_version=2,
            training_runs=[TrainingRunSummary(run_id=1, started_at=t, adapter_version=1, seed=42,
                                              weight_distribution={"k": {"v": 2}}, final_train_loss=0.5)],
            exports=[ExportSummary(exported_at=t, quant="Q4_K_M", adapter_mix=[("a", 1.0), ("b", 0.25)])],
            adapter_versions={"a": 1}, source_path=Path("/tmp/x.dlm"),
            license_acceptance=LicenseAcceptance(accepted_at=t, license_url="u", license_spdx="MIT", via="interactive"),
        )
        save_manifest(Path(sys.argv[1]), m)
        """,
        str(store.manifest),
    )
    upstream_bytes = store.manifest.read_bytes()
    ours = load_manifest(store.manifest)
    assert ours.exports[0].adapter_mix == [("a", 1.0), ("b", 0.25)]
    assert manifest_json(ours).encode("utf-8") == upstream_bytes


_DESCRIBE_FIELDS = """
import re
from pydantic import AfterValidator


def _type_name(annotation):
    text = repr(annotation)
    optional_aware = r"typing\\.Optional\\[typing\\.Annotated\\[datetime\\.datetime, [^\\]]*\\]\\]"
    text = re.sub(optional_aware, "datetime | None", text)
    text = re.sub(r"<class '([^']*)'>", r"\\1", text)
    text = re.sub(r"[a-z_.]*\\.(?=[A-Za-z]+\\b)", "", text)  # drop module prefixes
    return text


def describe(model):
    return {
        name: [
            field.is_required(),
            None if name in ("created_at", "updated_at") else repr(field.get_default(call_default_factory=True)),
            _type_name(field.annotation),
            repr([m for m in field.metadata if not isinstance(m, AfterValidator)]),
        ]
        for name, field in model.model_fields.items()
    }
"""


def test_field_names_types_constraints_and_defaults_match_upstream(run_upstream):
    out = run_upstream(
        _DESCRIBE_FIELDS
        + """
import json
from dlm.base_models.license import LicenseAcceptance
from dlm.store.manifest import ExportSummary, Manifest, TrainingRunSummary
print(json.dumps([describe(m) for m in (Manifest, TrainingRunSummary, ExportSummary, LicenseAcceptance)]))
"""
    )
    namespace: dict = {}
    exec(_DESCRIBE_FIELDS, namespace)
    ours = [namespace["describe"](m) for m in (StoreManifest, TrainingRunSummary, ExportSummary, LicenseAcceptance)]
    assert json.loads(json.dumps(ours)) == json.loads(out)
    assert ours[1]["status"][2] == "Literal['running', 'completed', 'failed', 'cancelled']"
