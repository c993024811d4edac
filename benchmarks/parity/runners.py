"""Running both sides of the parity benchmark: long-lived batch processes and single CLI runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_UPSTREAM_PYTHON = "/work/ref-venv/bin/python"


class BatchProcess:
    """A long-lived `--batch` process: one document path in on stdin, one JSON line out."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.argv = argv
        self.cwd = cwd
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(self.argv, cwd=self.cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, text=True, encoding="utf-8", bufsize=1)
        return self.proc

    def query(self, doc: str) -> dict[str, Any]:
        with self.lock:
            proc = self._start()
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(doc + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            if not line:  # the process died on this document
                self.proc = None
                return {"doc": doc, "exit_code": -1, "crash": "batch process died", "stdout": "", "stderr": "",
                        "result": None, "error": "batch process died"}
            return json.loads(line)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def run_batches(make: Callable[[], BatchProcess], docs: list[str], workers: int) -> dict[str, dict[str, Any]]:
    """Run `docs` through `workers` batch processes in parallel; results keyed by document path."""
    chunks = [docs[i::workers] for i in range(workers)]
    results: dict[str, dict[str, Any]] = {}

    def work(chunk: list[str]) -> None:
        proc = make()
        try:
            for doc in chunk:
                results[doc] = proc.query(doc)
        finally:
            proc.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(work, chunks))
    return results


def upstream_batch(python: str, a210: bool = False) -> BatchProcess:
    extra = ["--a210"] if a210 else []
    return BatchProcess([python, str(HERE / "upstream_inspect.py"), "--batch", *extra], cwd=HERE)


def ours_batch() -> BatchProcess:
    return BatchProcess([sys.executable, str(HERE / "ours_batch.py")], cwd=REPO)


def ours_cli_command() -> list[str]:
    exe = shutil.which("dlm-desktop")
    return [exe] if exe else [sys.executable, "-m", "dlm_desktop"]


def run_cli(doc: str, relative: bool = False) -> dict[str, Any]:
    """The real `dlm-desktop inspect --json`, in its own process; `relative` runs it from the document's folder
    with a bare file name (as a person would type it)."""
    cwd, arg = (Path(doc).parent, Path(doc).name) if relative else (REPO, doc)
    try:
        proc = subprocess.run([*ours_cli_command(), "inspect", "--json", str(arg)], capture_output=True, text=True,
                              encoding="utf-8", errors="replace", timeout=120, cwd=cwd)
        return {"doc": doc, "arg": str(arg), "cwd": str(cwd), "exit_code": proc.returncode, "stdout": proc.stdout,
                "stderr": proc.stderr, "crash": None}
    except subprocess.TimeoutExpired:
        return {"doc": doc, "arg": str(arg), "cwd": str(cwd), "exit_code": -2, "stdout": "", "stderr": "",
                "crash": "timeout"}


def run_upstream_relative(python: str, doc: str) -> dict[str, Any]:
    """Upstream on one document, run from the document's folder with a bare file name (like `run_cli`)."""
    proc = subprocess.run([python, str(HERE / "upstream_inspect.py"), "--batch"], input=Path(doc).name + "\n",
                          capture_output=True, text=True, encoding="utf-8", cwd=Path(doc).parent, timeout=120)
    return json.loads(proc.stdout.split("\n")[0])  # not splitlines(): U+2028 may sit inside the JSON


def upstream_version(python: str) -> str:
    proc = subprocess.run([python, str(HERE / "upstream_inspect.py"), "--version"], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"
