"""`build(spec)` dispatches on kind and every failure is a typed error that says the fix; `custom` backends
are checked against the protocols when built and the satisfied protocols are recorded."""

from __future__ import annotations

import textwrap

import pytest

from dlm_desktop.core.errors import DlmDesktopError
from dlm_desktop.core.inference import (
    ApiDifferentialBackend,
    BackendSpec,
    BackendSpecError,
    CustomBackendError,
    DummyBackend,
    HFDifferentialBackend,
    build,
    run_probes,
    satisfied_protocols,
)


def fix_of(excinfo) -> str:
    assert isinstance(excinfo.value, DlmDesktopError)
    assert excinfo.value.fix
    return excinfo.value.fix


def test_mlx_needs_an_adapter_to_compare_with():
    # (building real mlx backends is covered in tests/core/mlx/)
    with pytest.raises(BackendSpecError, match="mlx backend needs an adapter") as excinfo:
        build({"kind": "mlx", "base": "smollm2-135m"})
    assert "train first" in fix_of(excinfo)


def test_dummy_is_not_built_from_a_spec_but_directly():
    with pytest.raises(BackendSpecError, match="not built from a spec") as excinfo:
        build(BackendSpec(kind="dummy"))
    assert "DummyBackend" in fix_of(excinfo)
    assert satisfied_protocols(DummyBackend()) == ("differential", "scaled_adapter", "null_adapter", "preflight")


@pytest.mark.parametrize("spec, message", [
    ({"kind": "tpu"}, "unknown backend kind"),
    ({"base": "x"}, "no `kind`"),
    ({"kind": "hf", "colour": "red"}, "unknown backend spec keys: colour"),
    ({"kind": "hf", "base": "smollm2-135m"}, "needs an adapter"),
    ({"kind": "api", "adapter": "tuned"}, "needs base ="),
    ({"kind": "api", "base": {"url": "http://127.0.0.1:9/v1", "model": "b"}}, "fine-tuned model's name"),
    ({"kind": "custom"}, "entry_point"),
])
def test_bad_specs_are_typed_errors_with_a_fix(spec, message):
    with pytest.raises(BackendSpecError, match=message) as excinfo:
        build(spec)
    fix_of(excinfo)


def test_hf_spec_builds_one_model_with_every_adapter_and_the_store_gate(tiny_model_dir, tiny_adapters, tmp_path,
                                                                       gate_maker):
    from dlm_desktop.core.store.gate_files import write_gate_config
    from dlm_desktop.core.store.paths import StorePaths

    store = StorePaths(tmp_path / "store")
    gate = gate_maker(32, ("alpha", "beta"))
    store.gate_dir.mkdir(parents=True)
    gate.network.save(store.gate_weights)
    write_gate_config(store, gate.config)
    backend = build({"kind": "hf", "base": str(tiny_model_dir), "adapter": {k: str(v) for k, v in tiny_adapters.items()},
                     "gate": str(store.gate_dir)})
    assert isinstance(backend, HFDifferentialBackend)
    assert backend.adapter_names == ("alpha", "beta") and backend.gate.mode == "trained"
    prompt = "red blue green"
    assert backend.weights_for(prompt) == pytest.approx({"alpha": 0.344, "beta": 0.656}, abs=2e-3)
    single = build({"kind": "hf", "base": str(tiny_model_dir), "adapter": str(tiny_adapters["alpha"])})
    assert single.adapter_names == ("default",) and single.weights_for(prompt) == {"default": 1.0}


def test_api_spec_gives_one_endpoint_per_side():
    backend = build({"kind": "api", "base": {"url": "http://127.0.0.1:8000/v1", "model": "base"},
                     "adapter": "doc-tuned", "options": {"vocab_size": 49152}})
    assert isinstance(backend, ApiDifferentialBackend)
    assert (backend.base.model, backend.finetuned.model, backend.finetuned.url) == (
        "base", "doc-tuned", "http://127.0.0.1:8000/v1")
    other = build({"kind": "api", "base": {"url": "http://a/v1", "model": "b"},
                   "adapter": {"url": "http://c/v1", "model": "t"}})
    assert other.finetuned.completions_url == "http://c/v1/completions"
    assert satisfied_protocols(backend) == ("differential",)


CUSTOM_MODULE = '''
from contextlib import contextmanager
from dlm_desktop.core.inference import DummyBackend

class Scaled:
    """Wraps a dummy model; offers base, fine-tuned and scaled views only."""
    def __init__(self, base_spec, adapter_path):
        self.base_spec, self.adapter_path = base_spec, adapter_path
        self._inner = DummyBackend(shift=float(adapter_path))
    def as_base(self):
        return self._inner.as_base()
    def as_finetuned(self):
        return self._inner.as_finetuned()
    def as_scaled_adapter(self, strength):
        return self._inner.as_scaled_adapter(strength)
    def as_null_adapter(self):  # wrong signature: not counted
        raise AssertionError

class NoFinetuned:
    def __init__(self, base_spec, adapter_path):
        pass
    def as_base(self):
        pass

class Exploding:
    def __init__(self, base_spec, adapter_path):
        raise OSError("weights not found")
'''


@pytest.fixture
def custom_module(tmp_path, monkeypatch):
    (tmp_path / "inference_custom_plugin.py").write_text(textwrap.dedent(CUSTOM_MODULE), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "inference_custom_plugin"


def test_custom_backend_is_constructed_checked_and_its_protocols_recorded(custom_module):
    backend = build({"kind": "custom", "entry_point": f"{custom_module}:Scaled", "base": {"any": "spec"},
                     "adapter": "2.0"})
    assert backend.kind == "custom"
    assert backend.protocols == ("differential", "scaled_adapter")
    assert backend.inner.base_spec == {"any": "spec"} and backend.inner.adapter_path == "2.0"
    job = run_probes(backend, ["the cat sat", "a red tree"], [])
    while True:
        try:
            next(job)
        except StopIteration as finished:
            report = finished.value
            break
    assert report.divergence > 0 and report.z is None and len(report.lambda_curve) == 6
    assert any("null adapters" in notice for notice in report.notices)


@pytest.mark.parametrize("entry, message", [
    ("inference_custom_plugin:NoFinetuned", "missing as_finetuned"),
    ("inference_custom_plugin:Exploding", "weights not found"),
    ("inference_custom_plugin:Missing", "cannot import"),
    ("no_such_package_xyz.module:Class", "cannot import"),
    ("not an entry point", "pkg.module:Class"),
])
def test_custom_backend_failures_are_typed(custom_module, entry, message):
    with pytest.raises(CustomBackendError, match=message) as excinfo:
        build({"kind": "custom", "entry_point": entry, "adapter": "1.0"})
    fix_of(excinfo)
