"""The exclusive store lock (`<store>/.lock`): one writing job per store, across processes and machines.

The lock file is created with `O_CREAT | O_EXCL` (atomic on POSIX and NTFS) and holds three lines, the same as
upstream `dlm` writes, so the CLI and the app see each other's locks: the PID, the host name and the epoch time
of acquisition. A lock whose process is gone (same host, PID dead or reused by a newer process) is stale and is
taken over, with a note; a live one raises `StoreLockedError` naming the holder. Liveness comes from psutil,
so this works on Linux, macOS and Windows alike (no fcntl/msvcrt).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from datetime import datetime
from pathlib import Path

import psutil

from dlm_desktop.core.store.errors import LockHolder, StoreError, StoreLockedError
from dlm_desktop.core.store.paths import StorePaths

_LOG = logging.getLogger(__name__)

_UNREADABLE_GRACE_S = 5.0  # a lock file still empty after this long was left by a crash mid-write
_GUARD_STALE_S = 10.0  # a takeover guard older than this was left by a crash mid-takeover
_PID_REUSE_SLACK_S = 2.0  # clock granularity between a process start and its lock's timestamp

_reserved: set[str] = set()  # lock files held (or being acquired) by this process
_reserved_guard = threading.Lock()
if hasattr(os, "register_at_fork"):  # a forked child holds none of its parent's locks
    os.register_at_fork(after_in_child=_reserved.clear)


def encode_holder(holder: LockHolder) -> bytes:
    """The lock file's bytes for `holder`: `pid\\nhostname\\nepoch\\n` (upstream's format)."""
    return f"{holder.pid}\n{holder.hostname}\n{holder.acquired_at!r}\n".encode("utf-8")


def decode_holder(raw: bytes) -> LockHolder | None:
    """The holder recorded in a lock file, or None when the bytes are not a complete record."""
    try:
        lines = raw.decode("utf-8").strip().split("\n")
        return LockHolder(pid=int(lines[0]), hostname=lines[1].strip(), acquired_at=float(lines[2]))
    except (UnicodeDecodeError, ValueError, IndexError):
        return None


def read_lock_holder(lock_path: Path | str) -> LockHolder | None:
    """Who holds `lock_path` now, or None when it is free or unreadable."""
    raw = _read_bytes(Path(lock_path))
    return decode_holder(raw) if raw is not None else None


def holder_is_running(holder: LockHolder) -> bool:
    """True unless `holder` is on this host and its process has exited or its PID now belongs to a newer process.

    A holder on another host cannot be checked and counts as running.
    """
    if holder.hostname != socket.gethostname():
        return True
    if holder.pid <= 0 or not psutil.pid_exists(holder.pid):
        return False
    try:
        started = psutil.Process(holder.pid).create_time()
    except psutil.NoSuchProcess:
        return False
    except (psutil.AccessDenied, OSError):
        return True
    return started <= holder.acquired_at + _PID_REUSE_SLACK_S


class StoreLock:
    """An exclusive lock on one store, used as a context manager: `with StoreLock.for_store(paths): ...`.

    `timeout` (seconds) waits for a live holder to finish; 0 fails at once. After acquiring, `took_over` is
    the stale holder that was replaced (None otherwise) and `note` says so in one sentence for the user.
    Not re-entrant: a second acquisition of the same store in this process raises `StoreLockedError`.
    """

    def __init__(self, lock_path: Path | str, *, timeout: float = 0.0, poll_interval: float = 0.1) -> None:
        self.lock_path = Path(lock_path)
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.holder: LockHolder | None = None
        self.took_over: LockHolder | None = None
        self.note: str | None = None
        self._payload: bytes | None = None
        self._key = os.path.realpath(self.lock_path)

    @classmethod
    def for_store(cls, paths: StorePaths, *, timeout: float = 0.0, poll_interval: float = 0.1) -> "StoreLock":
        """The lock of the store at `paths` (`<store>/.lock`)."""
        return cls(paths.exclusive_lock, timeout=timeout, poll_interval=poll_interval)

    @property
    def held(self) -> bool:
        """True between a successful `acquire()` and `release()`."""
        return self._payload is not None

    def __enter__(self) -> "StoreLock":
        return self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()

    def acquire(self) -> "StoreLock":
        """Take the lock, replacing a stale one; raise `StoreLockedError` if a live holder keeps it past `timeout`."""
        if self.held:
            raise StoreError("this lock is already held", path=self.lock_path, fix="release it before acquiring again")
        self._reserve()
        try:
            self._acquire_file()
        except BaseException:
            self._unreserve()
            raise
        return self

    def release(self) -> None:
        """Give the lock back (remove the file if it is still ours). Safe to call twice."""
        if self._payload is None:
            return
        try:
            # A forked copy of this object must leave the parent's lock alone.
            if self.holder is not None and self.holder.pid == os.getpid():
                self._remove_if_ours()
        finally:
            self._payload = None
            self._unreserve()

    # --- internals ---------------------------------------------------------------------------------------------

    def _remove_if_ours(self) -> None:
        if _read_bytes(self.lock_path) == self._payload:
            _unlink_with_retry(self.lock_path)
        else:
            _LOG.warning("%s: the lock changed hands while held; leaving the file alone", self.lock_path)

    def _reserve(self) -> None:
        with _reserved_guard:
            if self._key in _reserved:
                raise StoreLockedError(
                    "another job in this app is already using this document's store",
                    holder=LockHolder(os.getpid(), socket.gethostname(), time.time()),
                    lock_path=self.lock_path,
                    fix="wait for it to finish, or cancel it, then try again",
                )
            _reserved.add(self._key)

    def _unreserve(self) -> None:
        with _reserved_guard:
            _reserved.discard(self._key)

    def _acquire_file(self) -> None:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + max(self.timeout, 0.0)
        while True:
            if self._try_create():
                return
            raw = _read_bytes(self.lock_path)
            if raw is None:
                continue  # released between our create and our read
            holder = decode_holder(raw)
            outcome = _take_over(self.lock_path, raw) if self._is_stale(holder, raw) else "live"
            if outcome == "removed":
                self._record_takeover(holder)
            if outcome in ("removed", "changed"):
                continue
            if time.monotonic() >= deadline:
                raise _locked_error(self.lock_path, holder)
            time.sleep(self.poll_interval)

    def _is_stale(self, holder: LockHolder | None, raw: bytes) -> bool:
        if holder is None:
            return bool(raw.strip()) or _age_s(self.lock_path) > _UNREADABLE_GRACE_S
        if holder.hostname == socket.gethostname() and holder.pid == os.getpid():
            return True  # our PID but not our lock: left by an earlier process that had the same PID
        return not holder_is_running(holder)

    def _try_create(self) -> bool:
        holder = LockHolder(os.getpid(), socket.gethostname(), time.time())
        payload = encode_holder(holder)
        try:
            fd = os.open(str(self.lock_path), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, payload)
            os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            _unlink_with_retry(self.lock_path)
            raise StoreError(f"cannot write the store lock: {exc}", path=self.lock_path, fix=_DISK_FIX) from exc
        os.close(fd)
        self.holder, self._payload = holder, payload
        return True

    def _record_takeover(self, stale: LockHolder | None) -> None:
        self.took_over = stale
        if stale is None:
            self.note = f"replaced an unreadable lock file at {self.lock_path}"
        else:
            self.note = (
                f"took over a stale lock left by PID {stale.pid} on {stale.hostname}, which is no longer running"
            )
        _LOG.warning("%s: %s", self.lock_path, self.note)


_DISK_FIX = "check that the store folder is writable and the disk is not full"


def _take_over(lock_path: Path, stale_raw: bytes) -> str:
    """Remove a stale lock file if it still holds `stale_raw`.

    Returns `removed`, `changed` (the file is gone or holds something else now) or `busy` (another process is
    taking over right now).

    A guard file created with O_EXCL makes the check-then-delete atomic among processes that take over; a
    live holder's own release only ever deletes its own file.
    """
    guard = lock_path.with_name(lock_path.name + ".takeover")
    try:
        os.close(os.open(str(guard), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        if _age_s(guard) > _GUARD_STALE_S:
            with contextlib.suppress(FileNotFoundError):
                guard.unlink()
        return "busy"
    try:
        if _read_bytes(lock_path) != stale_raw:
            return "changed"
        _unlink_with_retry(lock_path)
        return "removed"
    finally:
        _unlink_with_retry(guard)


def _locked_error(lock_path: Path, holder: LockHolder | None) -> StoreLockedError:
    fix = "wait for the other training run to finish, or cancel it, then try again"
    if holder is None:
        return StoreLockedError(
            "another process is just taking this document's store lock", holder=None, lock_path=lock_path, fix=fix
        )
    since = datetime.fromtimestamp(holder.acquired_at).strftime("%Y-%m-%d %H:%M:%S")
    where = "this computer" if holder.hostname == socket.gethostname() else f"host {holder.hostname!r}"
    if holder.hostname != socket.gethostname():
        fix += f"; if {holder.hostname} no longer uses this store, delete {lock_path}"
    return StoreLockedError(
        f"this document's store is in use by another process (PID {holder.pid} on {where}, since {since})",
        holder=holder,
        lock_path=lock_path,
        fix=fix,
    )


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except PermissionError:
        return b""  # Windows: the file is being created or deleted right now


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _unlink_with_retry(path: Path, attempts: int = 10) -> None:
    # Windows refuses to delete a file another process has open for a moment (a reader checking the lock).
    for attempt in range(attempts):
        try:
            path.unlink()
            return
        except FileNotFoundError:
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.02)
