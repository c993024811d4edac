"""Fixtures for the store tests: a store under tmp_path, and upstream `dlm`'s own code in a reference venv."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dlm_desktop.core.store.paths import StorePaths

DLM_ID = "01KPQ8GATEMTEG000000000000"
@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "dlm-home"


@pytest.fixture
def store(home: Path) -> StorePaths:
    return StorePaths.for_dlm(DLM_ID, home=home)


@pytest.fixture
def run_upstream(upstream_python: Path):
    """Run a Python snippet under upstream's interpreter; returns its stdout (fails the test on a crash)."""

    def run(code: str, *args: str) -> str:
        done = subprocess.run(
            [str(upstream_python), "-c", textwrap.dedent(code), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


@pytest.fixture
def spawn_python():
    """Start `python -c code` in a child process with pipes; every child is killed at teardown."""
    children: list[subprocess.Popen] = []

    def spawn(code: str, *args: str, python: str | None = None) -> subprocess.Popen:
        child = subprocess.Popen(
            [python or sys.executable, "-c", textwrap.dedent(code), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        children.append(child)
        return child

    yield spawn
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()
