"""Two-phase version commit and the current.txt pointer (SPEC-upstream §3.9, §11 item 24)."""

from __future__ import annotations

import pytest

from dlm_desktop.core.store.errors import NonFiniteWeightsError, StorePointerError
from dlm_desktop.core.store.versions import (
    allocate_version,
    commit_version,
    current_version_number,
    list_versions,
    resolve_current,
    set_current,
)


def _write_adapter(folder):
    (folder / "adapter_config.json").write_text('{"r": 8}\n')
    (folder / "adapter_model.safetensors").write_bytes(b"\0" * 64)


def test_first_version_is_v0001_then_sequential(store):
    committed = [commit_version(store, _write_adapter) for _ in range(3)]
    assert [p.name for p in committed] == ["v0001", "v0002", "v0003"]
    assert store.current_pointer().read_bytes() == b"adapter/versions/v0003\n"
    assert resolve_current(store) == committed[-1].resolve()
    assert current_version_number(store) == 3
    assert (committed[0] / "adapter_config.json").read_text() == '{"r": 8}\n'


def test_allocation_is_max_plus_one_not_count(store):
    store.versions_dir().mkdir(parents=True)
    (store.versions_dir() / "v0007").mkdir()
    (store.versions_dir() / "v0009-rejected").mkdir()
    (store.versions_dir() / "notes.txt").write_text("x")
    assert allocate_version(store).name == "v0008"
    assert allocate_version(store).name == "v0009"


def test_named_layout_has_its_own_counter_and_pointer(store):
    commit_version(store, _write_adapter)
    tone = commit_version(store, _write_adapter, name="tone")
    knowledge = commit_version(store, _write_adapter, name="knowledge")
    assert tone.relative_to(store.root).as_posix() == "adapter/tone/versions/v0001"
    assert store.current_pointer("tone").read_bytes() == b"adapter/tone/versions/v0001\n"
    assert store.current_pointer("knowledge").read_bytes() == b"adapter/knowledge/versions/v0001\n"
    assert resolve_current(store, "knowledge") == knowledge.resolve()
    assert store.current_pointer().read_bytes() == b"adapter/versions/v0001\n"


def test_pointer_switches_only_after_the_writer_returns(store):
    first = commit_version(store, _write_adapter)
    seen_during_write = []

    def writer(folder):
        seen_during_write.append(resolve_current(store))
        _write_adapter(folder)

    second = commit_version(store, writer)
    assert seen_during_write == [first.resolve()]
    assert resolve_current(store) == second.resolve()


def test_writer_exception_keeps_pointer_and_pending_folder(store):
    commit_version(store, _write_adapter)

    def failing(folder):
        (folder / "adapter_config.json").write_text("{}")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        commit_version(store, failing)
    assert store.current_pointer().read_bytes() == b"adapter/versions/v0001\n"
    pending = store.version_dir(2)
    assert (pending / "adapter_config.json").exists()
    assert commit_version(store, _write_adapter).name == "v0003"  # the pending number is skipped


def _nan_writer(folder):
    (folder / "adapter_model.safetensors").write_bytes(b"nan")
    raise NonFiniteWeightsError(["base_model.model.layers.0.q_proj.lora_A.weight"])


def test_non_finite_weights_rename_to_rejected_and_keep_pointer(store):
    commit_version(store, _write_adapter)
    with pytest.raises(NonFiniteWeightsError) as caught:
        commit_version(store, _nan_writer)
    rejected = store.versions_dir() / "v0002-rejected"
    assert caught.value.rejected_dir == rejected
    assert (rejected / "adapter_model.safetensors").read_bytes() == b"nan"
    assert not store.version_dir(2).exists()
    assert store.current_pointer().read_bytes() == b"adapter/versions/v0001\n"

    with pytest.raises(NonFiniteWeightsError) as again:
        commit_version(store, _nan_writer)
    assert again.value.rejected_dir == store.versions_dir() / "v0002-rejected-1"
    assert [n for n, _ in list_versions(store)] == [1]
    assert commit_version(store, _write_adapter).name == "v0002"


def test_rejected_names_stop_after_1000_and_leave_the_folder(store):
    versions = store.versions_dir()
    versions.mkdir(parents=True)
    (versions / "v0001-rejected").mkdir()
    for index in range(1, 999):
        (versions / f"v0001-rejected-{index}").mkdir()
    with pytest.raises(NonFiniteWeightsError) as caught:
        commit_version(store, _nan_writer)
    assert caught.value.rejected_dir == versions / "v0001-rejected-999"  # the 1000th name

    with pytest.raises(NonFiniteWeightsError) as exhausted:
        commit_version(store, _nan_writer)
    assert exhausted.value.rejected_dir is None
    assert store.version_dir(1).is_dir()  # left in place
    assert not store.current_pointer().exists()


def test_non_finite_error_message_names_the_tensors():
    error = NonFiniteWeightsError([f"t{i}" for i in range(25)])
    assert "25 tensor(s)" in error.message and "t0" in error.message and "5 more" in error.message
    assert error.fix


def test_resolve_current_without_pointer_or_empty_is_none(store):
    assert resolve_current(store) is None
    store.current_pointer().parent.mkdir(parents=True)
    store.current_pointer().write_text("\n")
    assert resolve_current(store) is None
    assert current_version_number(store) is None


def test_pointer_to_missing_folder_is_a_typed_error(store):
    committed = commit_version(store, _write_adapter)
    committed.rename(committed.with_name("moved"))
    with pytest.raises(StorePointerError) as caught:
        resolve_current(store)
    assert "adapter/versions/v0001" in caught.value.message
    assert caught.value.path == store.current_pointer()
    assert caught.value.fix


def test_pointer_escaping_the_store_is_refused(store, tmp_path):
    (tmp_path / "outside").mkdir()
    store.current_pointer().parent.mkdir(parents=True)
    for text in ("../../../outside\n", ".\n", "/etc\n"):
        store.current_pointer().write_text(text)
        with pytest.raises(StorePointerError):
            resolve_current(store)


def test_pointer_written_with_backslashes_is_read(store):
    committed = commit_version(store, _write_adapter)
    store.current_pointer().write_text("adapter\\versions\\v0001\r\n")
    assert resolve_current(store) == committed.resolve()


def test_set_current_refuses_folders_outside_the_store(store, tmp_path):
    from dlm_desktop.core.store.errors import StorePathError

    with pytest.raises(StorePathError):
        set_current(store, tmp_path)


def test_upstream_reads_our_pointers(store, run_upstream):
    flat = commit_version(store, _write_adapter)
    named = commit_version(store, _write_adapter, name="tone")
    out = run_upstream(
        """
        import sys
        from pathlib import Path
        from dlm.store.paths import StorePath
        store = StorePath(root=Path(sys.argv[1]))
        print(store.resolve_current_adapter())
        print(store.resolve_current_adapter_for("tone"))
        """,
        str(store.root),
    )
    assert out.splitlines() == [str(flat.resolve()), str(named.resolve())]
