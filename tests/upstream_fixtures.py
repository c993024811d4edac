"""Upstream `dlm` as a test oracle.

Some tests compare what DLM Desktop writes or derives with what upstream's own code reads or derives. They run
upstream (PyPI `document-language-model` 0.10.0) in a separate virtualenv made once per machine, never in the
app's environment. `DLM_UPSTREAM_PYTHON` may name an interpreter that already has it. If the virtualenv cannot
be made, the tests that need it FAIL: a comparison that silently does not run proves nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

UPSTREAM_PACKAGES = ["document-language-model==0.10.0"]
UPSTREAM_DEPENDENCIES = ["pydantic>=2.9", "pyyaml>=6", "python-ulid>=3", "packaging", "rich", "typer", "psutil"]


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dlm-desktop-tests"


def _works(python: Path) -> bool:
    probe = "import dlm.doc.parser, dlm.store.manifest, dlm.directives"
    return python.exists() and subprocess.run([str(python), "-c", probe], capture_output=True).returncode == 0


def ensure_upstream_python() -> Path:
    """An interpreter where upstream `dlm` imports; creates the cached virtualenv on first use."""
    explicit = os.environ.get("DLM_UPSTREAM_PYTHON")
    if explicit:
        return Path(explicit)
    venv = _cache_root() / "upstream-dlm-0.10.0"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if _works(python):
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for extra in (["--no-deps", *UPSTREAM_PACKAGES], UPSTREAM_DEPENDENCIES):
        done = subprocess.run(pip + extra, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"could not install upstream dlm for the comparison tests:\n{done.stderr[-2000:]}")
    if not _works(python):
        raise RuntimeError(f"upstream dlm does not import in {venv}")
    return python


@pytest.fixture(scope="session")
def upstream_python() -> Path:
    """Session fixture: the path of a Python interpreter with upstream `dlm` 0.10.0 importable."""
    return ensure_upstream_python()
