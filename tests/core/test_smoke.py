"""The engine check of `--self-test`: really trains two steps and answers side by side on the tiny model, in a
scratch folder; a missing runtime is named."""

from __future__ import annotations

from dlm_desktop.core import smoke


def test_the_engine_check_trains_and_answers_in_its_scratch_folder(tmp_path, monkeypatch):
    home = tmp_path / "user-home"
    monkeypatch.setenv("DLM_HOME", str(home))
    steps = list(smoke.run_engine_smoke(tmp_path / "scratch"))
    assert [(step.name, step.ok) for step in steps] == [
        ("runtimes", True), ("tiny model", True), ("training", True), ("side by side", True)
    ], steps
    assert "llama_cpp" in steps[0].detail and "2 steps" in steps[2].detail
    assert list((tmp_path / "scratch" / "dlm-home" / "store").iterdir())  # the adapter went to the scratch home
    assert not home.exists()  # the user's store was never touched


def test_a_runtime_that_cannot_be_imported_is_named(monkeypatch):
    monkeypatch.setattr(smoke, "RUNTIME_MODULES", ("torch", "no_such_runtime_xyz"))
    step = smoke._import_runtimes()
    assert not step.ok and "no_such_runtime_xyz" in step.detail
