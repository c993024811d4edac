"""Find Ollama and register an export with it (`ollama create NAME -f Modelfile`, run in the export folder).

Ollama is optional: without it the export still succeeds and says exactly which command to run later. The
command is always an argv list (never a shell string); its output lines become events; it has a timeout
and stops when the user stops the export. Like upstream `dlm`, `ollama create` runs under the per-user
lock `<DLM home>/ollama.lock` (same PID-lock format as a store's `.lock`), because two registrations racing
on Ollama's one registry can corrupt it; a lock still held after `lock_timeout_s` is reported, not fatal.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dlm_desktop.core.export.events import ExportEvent, ExportLog, ExportProgress, ShouldStop, never_stop

SERVER_URL = "http://127.0.0.1:11434"
MIN_VERSION = (0, 4, 2)
CREATE_TIMEOUT_S = 600.0
LOCK_TIMEOUT_S = 120.0  # upstream's wait for ~/.dlm/ollama.lock
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class OllamaLocation:
    """Where Ollama is: its executable (None when not found), whether its server answers on the local
    port, and the version the executable reports ("" when unknown)."""

    executable: Path | None
    server_running: bool
    version: str = ""


@dataclass(frozen=True)
class OllamaOutcome:
    """What happened to `ollama create`. `status`: created, skipped (no usable Ollama) or failed.
    `command` is what was run (or should be run later, from the export folder); `message` says it in a
    sentence."""

    status: Literal["created", "skipped", "failed"]
    name: str
    command: str
    message: str
    version: str = ""


def candidate_paths() -> list[Path]:
    """Where Ollama installs itself, besides PATH: /usr/local/bin, /opt/homebrew/bin, /usr/bin,
    ~/.local/bin, and on Windows %LOCALAPPDATA%\\Programs\\Ollama."""
    names = ("ollama.exe", "ollama") if os.name == "nt" else ("ollama",)
    folders = [Path("/usr/local/bin"), Path("/opt/homebrew/bin"), Path("/usr/bin"), Path.home() / ".local" / "bin"]
    local_app_data = os.environ.get("LOCALAPPDATA")
    if local_app_data:
        folders.append(Path(local_app_data) / "Programs" / "Ollama")
    return [folder / name for folder in folders for name in names]


def find_ollama(*, probe_server: bool = True) -> OllamaLocation:
    """Look for the `ollama` executable (PATH first, then the usual install folders) and, optionally, for a
    server on 127.0.0.1:11434."""
    found = shutil.which("ollama")
    executable = Path(found) if found else next((p for p in candidate_paths() if _is_executable(p)), None)
    version = _executable_version(executable) if executable else ""
    return OllamaLocation(executable, _server_answers() if probe_server else False, version)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _executable_version(executable: Path) -> str:
    try:
        done = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    match = _VERSION.search(done.stdout + "\n" + done.stderr)
    return ".".join(match.groups()) if match else ""


def _server_answers(timeout_s: float = 0.5) -> bool:
    try:
        with urllib.request.urlopen(f"{SERVER_URL}/api/version", timeout=timeout_s) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


def create_command(executable: str, name: str) -> list[str]:
    """The argv of `ollama create NAME -f Modelfile` (run with cwd = the export folder)."""
    return [executable, "create", name, "-f", "Modelfile"]


def manual_command(export_dir: Path, name: str) -> str:
    """The command a user can paste into a terminal later."""
    return f"cd {shlex.quote(str(export_dir))} && ollama create {shlex.quote(name)} -f Modelfile"


def create_model(
    location: OllamaLocation,
    name: str,
    export_dir: Path,
    *,
    timeout_s: float = CREATE_TIMEOUT_S,
    should_stop: ShouldStop = never_stop,
    lock_path: Path | None = None,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
) -> Generator[ExportEvent, None, OllamaOutcome]:
    """Run `ollama create` in `export_dir`, yielding its output lines; never raises for Ollama's sake (the
    outcome says what happened and what to run by hand). With `lock_path` (normally `ollama_lock_path()`),
    the command runs while holding that lock, waiting up to `lock_timeout_s` for another export to finish."""
    later = manual_command(export_dir, name)
    if location.executable is None:
        where = " (its server is running, but the `ollama` command was not found)" if location.server_running else ""
        return OllamaOutcome("skipped", name, later, f"Ollama is not installed{where}. To add the model later, run: {later}")
    if location.version and _too_old(location.version):
        minimum = ".".join(map(str, MIN_VERSION))
        return OllamaOutcome("skipped", name, later, f"Ollama {location.version} is too old (need {minimum} or "
                             f"newer). Update Ollama, then run: {later}", location.version)
    lock = None
    if lock_path is not None:
        lock, waited = yield from _wait_for_lock(lock_path, lock_timeout_s, should_stop)
        if lock is None:
            return OllamaOutcome("failed", name, later, f"{waited} The export itself is complete; to add it to "
                                 f"Ollama, run: {later}", location.version)
    try:
        argv = create_command(str(location.executable), name)
        yield ExportProgress("ollama", f"Adding {name} to Ollama…")
        status, tail = yield from _run_streaming(argv, export_dir, timeout_s, should_stop)
    finally:
        if lock is not None:
            lock.release()
    if status == 0:
        return OllamaOutcome("created", name, later, f"Added to Ollama: run it with `ollama run {name}`.",
                             location.version)
    reason = {"timeout": f"did not finish within {int(timeout_s)} s", "stopped": "was stopped"}.get(
        str(status), str(status) if isinstance(status, str) else f"failed (exit code {status})")
    detail = f": {tail}" if tail else ""
    return OllamaOutcome("failed", name, later, f"`ollama create` {reason}{detail}. The export itself is complete; "
                         f"to retry, run: {later}", location.version)


def _wait_for_lock(lock_path: Path, timeout_s: float, should_stop: ShouldStop):
    """Take `lock_path`, polling (and honouring `should_stop`) for at most `timeout_s`. Returns `(lock, "")`,
    or `(None, sentence saying why not)`."""
    from dlm_desktop.core.store.errors import StoreLockedError
    from dlm_desktop.core.store.lock import StoreLock

    deadline = time.monotonic() + timeout_s
    announced = False
    while True:
        lock = StoreLock(lock_path, timeout=0.0)
        try:
            return lock.acquire(), ""
        except StoreLockedError as exc:
            holder = exc.holder
        who = f" (PID {holder.pid} on {holder.hostname})" if holder is not None else ""
        if should_stop():
            return None, "Adding the model to Ollama was stopped while waiting for another export."
        if time.monotonic() >= deadline:
            return None, (f"Another export{who} is adding a model to Ollama and still holds {lock_path} after "
                          f"{timeout_s:g} s.")
        if not announced:
            announced = True
            yield ExportProgress("ollama", f"Waiting for another export{who} to finish adding its model to Ollama…")
        time.sleep(0.2)


def _too_old(version: str) -> bool:
    match = _VERSION.search(version)
    return bool(match) and tuple(int(part) for part in match.groups()) < MIN_VERSION


def _run_streaming(argv: list[str], cwd: Path, timeout_s: float, should_stop: ShouldStop):
    """Run `argv`, yielding each output line as an `ExportLog`; returns `(exit code | "timeout" | "stopped",
    last output line)`."""
    try:
        process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    except OSError as exc:
        return f"could not start: {exc}", ""
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout_s
    last, outcome = "", None
    while outcome is None:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            line = ""
        if line is None:
            outcome = process.wait()
        elif line:
            last = line
            yield ExportLog("ollama", line)
        elif should_stop() or time.monotonic() > deadline:
            outcome = "stopped" if should_stop() else "timeout"
            process.kill()
            process.wait()
    reader.join(timeout=5)
    return outcome, last


def _pump(stream, lines: "queue.Queue[str | None]") -> None:
    """Split the child's output on line breaks and carriage returns (Ollama redraws progress with `\\r`)."""
    buffer = b""
    for chunk in iter(lambda: stream.read1(4096), b""):
        buffer += chunk
        parts = re.split(rb"[\r\n]", buffer)
        buffer = parts.pop()
        for part in parts:
            text = part.decode("utf-8", errors="replace").strip()
            if text:
                lines.put(text)
    if buffer.strip():
        lines.put(buffer.decode("utf-8", errors="replace").strip())
    lines.put(None)
