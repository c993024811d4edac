"""The exclusive store lock: a second trainer gets a clear message; a dead holder's lock is taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from dlm_desktop.core.store.errors import LockHolder, StoreLockedError
from dlm_desktop.core.store.lock import StoreLock, decode_holder, encode_holder, read_lock_holder

# A child that says "ready", waits for a line on stdin (so racers start together), tries the lock once, reports
# as JSON, and keeps a won lock until its stdin closes.
_TRY_LOCK = """
import json, sys
from pathlib import Path
from dlm_desktop.core.store.errors import StoreLockedError
from dlm_desktop.core.store.lock import StoreLock
lock = StoreLock(Path(sys.argv[1]))
print("ready", flush=True)
sys.stdin.readline()
try:
    lock.acquire()
except StoreLockedError as exc:
    holder = exc.holder
    print(json.dumps({"result": "locked", "message": exc.message, "fix": exc.fix,
                      "holder_pid": holder.pid if holder else None}), flush=True)
    sys.exit(0)
print(json.dumps({"result": "acquired", "note": lock.note,
                  "took_over": lock.took_over.pid if lock.took_over else None}), flush=True)
sys.stdin.read()
lock.release()
"""

_WAIT_FOR_STDIN = "import sys; print('ready', flush=True); sys.stdin.read()"


def _start(*children: subprocess.Popen) -> None:
    """Wait until every child is ready, then release them all at once."""
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()


def _report(child: subprocess.Popen) -> dict:
    line = child.stdout.readline()
    assert line, child.stderr.read()
    return json.loads(line)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _plant(store, holder: LockHolder) -> bytes:
    store.root.mkdir(parents=True, exist_ok=True)
    payload = encode_holder(holder)
    store.exclusive_lock.write_bytes(payload)
    return payload


def test_lock_file_holds_pid_hostname_and_time_and_is_removed_on_release(store):
    before = time.time()
    with StoreLock.for_store(store) as lock:
        lines = store.exclusive_lock.read_text().splitlines()
        assert lines[0] == str(os.getpid()) and lines[1] == socket.gethostname()
        assert before <= float(lines[2]) <= time.time()
        assert read_lock_holder(store.exclusive_lock) == lock.holder
        assert lock.held and lock.took_over is None and lock.note is None
    assert not lock.held
    assert not store.exclusive_lock.exists()
    lock.release()  # a second release is harmless


def test_second_process_gets_store_locked_error_naming_the_holder(store, spawn_python):
    with StoreLock.for_store(store):
        child = spawn_python(_TRY_LOCK, str(store.exclusive_lock))
        _start(child)
        report = _report(child)
        assert child.wait(timeout=60) == 0
    assert report["result"] == "locked"
    assert report["holder_pid"] == os.getpid()
    assert f"PID {os.getpid()}" in report["message"] and "in use by another process" in report["message"]
    assert "wait" in report["fix"] and "cancel" in report["fix"]


def test_after_release_another_process_can_take_it(store, spawn_python):
    with StoreLock.for_store(store):
        pass
    child = spawn_python(_TRY_LOCK, str(store.exclusive_lock))
    _start(child)
    assert _report(child)["result"] == "acquired"
    holder = read_lock_holder(store.exclusive_lock)
    assert holder.pid == child.pid
    with pytest.raises(StoreLockedError) as caught:
        StoreLock.for_store(store).acquire()
    assert caught.value.holder.pid == child.pid
    child.stdin.close()
    assert child.wait(timeout=60) == 0
    assert not store.exclusive_lock.exists()


def test_many_processes_racing_yield_exactly_one_owner(store, spawn_python):
    store.root.mkdir(parents=True)
    children = [spawn_python(_TRY_LOCK, str(store.exclusive_lock)) for _ in range(4)]
    _start(*children)
    results = [_report(child)["result"] for child in children]
    assert sorted(results) == ["acquired"] + ["locked"] * 3


def test_many_processes_racing_for_a_stale_lock_yield_exactly_one_owner(store, spawn_python):
    stale = LockHolder(_dead_pid(), socket.gethostname(), time.time() - 60)
    _plant(store, stale)
    children = [spawn_python(_TRY_LOCK, str(store.exclusive_lock)) for _ in range(4)]
    _start(*children)
    reports = [_report(child) for child in children]
    assert sorted(r["result"] for r in reports) == ["acquired"] + ["locked"] * 3
    (winner,) = [child for child, r in zip(children, reports) if r["result"] == "acquired"]
    assert read_lock_holder(store.exclusive_lock).pid == winner.pid


def test_same_process_cannot_take_the_same_store_twice(store):
    with StoreLock.for_store(store):
        with pytest.raises(StoreLockedError) as caught:
            StoreLock.for_store(store).acquire()
        assert "another job in this app" in caught.value.message
    with StoreLock.for_store(store):  # free again after the first job ends
        pass


def test_stale_lock_of_a_dead_process_is_taken_over_with_a_note(store):
    dead = LockHolder(_dead_pid(), socket.gethostname(), time.time() - 60)
    _plant(store, dead)
    with StoreLock.for_store(store) as lock:
        assert lock.took_over == dead
        assert f"PID {dead.pid}" in lock.note and "no longer running" in lock.note
        assert read_lock_holder(store.exclusive_lock).pid == os.getpid()
    assert not store.exclusive_lock.exists()


def test_pid_reused_by_a_newer_process_counts_as_stale(store, spawn_python):
    newer = spawn_python(_WAIT_FOR_STDIN)
    assert newer.stdout.readline().strip() == "ready"
    _plant(store, LockHolder(newer.pid, socket.gethostname(), time.time() - 3600))
    with StoreLock.for_store(store) as lock:
        assert lock.took_over.pid == newer.pid


def test_our_own_pid_from_an_earlier_run_is_stale(store):
    _plant(store, LockHolder(os.getpid(), socket.gethostname(), time.time() - 3600))
    with StoreLock.for_store(store) as lock:
        assert lock.took_over.pid == os.getpid()


def test_live_holder_keeps_its_lock(store, spawn_python):
    holder_process = spawn_python(_WAIT_FOR_STDIN)
    assert holder_process.stdout.readline().strip() == "ready"
    payload = _plant(store, LockHolder(holder_process.pid, socket.gethostname(), time.time()))
    with pytest.raises(StoreLockedError) as caught:
        StoreLock.for_store(store).acquire()
    assert caught.value.holder.pid == holder_process.pid
    assert caught.value.lock_path == store.exclusive_lock
    assert store.exclusive_lock.read_bytes() == payload


def test_lock_from_another_host_is_never_taken_over(store):
    payload = _plant(store, LockHolder(_dead_pid(), "build-box-7", time.time() - 60))
    with pytest.raises(StoreLockedError) as caught:
        StoreLock.for_store(store).acquire()
    assert "build-box-7" in caught.value.message
    assert str(store.exclusive_lock) in caught.value.fix
    assert store.exclusive_lock.read_bytes() == payload


def test_unreadable_lock_file_is_replaced(store):
    store.root.mkdir(parents=True)
    store.exclusive_lock.write_text("garbage\n")
    with StoreLock.for_store(store) as lock:
        assert lock.took_over is None and "unreadable" in lock.note


def test_empty_fresh_lock_file_is_respected(store):
    store.root.mkdir(parents=True)
    store.exclusive_lock.write_bytes(b"")  # another process between create and write
    with pytest.raises(StoreLockedError):
        StoreLock.for_store(store).acquire()


def test_timeout_waits_for_the_holder_to_finish(store, spawn_python):
    child = spawn_python(_TRY_LOCK, str(store.exclusive_lock))
    _start(child)
    assert _report(child)["result"] == "acquired"
    child.stdin.close()  # the holder finishes while we wait
    with StoreLock.for_store(store, timeout=60, poll_interval=0.01) as lock:
        assert lock.took_over is None
    assert child.wait(timeout=60) == 0


def test_release_leaves_a_lock_that_changed_hands(store):
    lock = StoreLock.for_store(store).acquire()
    store.exclusive_lock.write_bytes(encode_holder(LockHolder(1, "elsewhere", 1.0)))
    lock.release()
    assert decode_holder(store.exclusive_lock.read_bytes()) == LockHolder(1, "elsewhere", 1.0)


def test_upstream_sees_our_lock_as_held(store, run_upstream):
    with StoreLock.for_store(store):
        out = run_upstream(
            """
            import sys
            from pathlib import Path
            from dlm.store.errors import LockHeldError
            from dlm.store.lock import exclusive
            try:
                with exclusive(Path(sys.argv[1])):
                    print("acquired")
            except LockHeldError as exc:
                print("held", exc.holder_pid)
            """,
            str(store.exclusive_lock),
        )
    assert out.split() == ["held", str(os.getpid())]


def test_we_see_upstreams_lock_as_held(store, spawn_python, upstream_python):
    store.root.mkdir(parents=True)
    upstream = spawn_python(
        """
        import sys
        from pathlib import Path
        from dlm.store.lock import exclusive
        with exclusive(Path(sys.argv[1])):
            print("ready", flush=True)
            sys.stdin.read()
        """,
        str(store.exclusive_lock),
        python=str(upstream_python),
    )
    assert upstream.stdout.readline().strip() == "ready", upstream.stderr.read()
    with pytest.raises(StoreLockedError) as caught:
        StoreLock.for_store(store).acquire()
    assert caught.value.holder.pid == upstream.pid
    upstream.stdin.close()
    assert upstream.wait(timeout=60) == 0
    assert not store.exclusive_lock.exists()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() exists only on POSIX")
def test_a_forked_child_neither_inherits_nor_releases_the_parents_lock(store):
    lock = StoreLock.for_store(store).acquire()
    try:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: report, then leave without running pytest's teardown
            try:
                StoreLock.for_store(store).acquire()
                outcome = b"acquired"
            except StoreLockedError as exc:
                outcome = b"locked-by-parent" if exc.holder and exc.holder.pid == os.getppid() else b"locked-other"
            lock.release()
            os.write(write_end, outcome)
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            assert pipe.read() == b"locked-by-parent"
        os.waitpid(pid, 0)
        assert read_lock_holder(store.exclusive_lock) == lock.holder  # the child's release removed nothing
    finally:
        lock.release()
