"""The engine never depends on the Qt layer: checked statically (import-linter) and by importing every core
module in a fresh interpreter where PySide6, qasync and dlm_desktop.gui cannot be imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contract_holds():
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_every_core_module_imports_with_qt_blocked():
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys

        class BlockQt:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "qasync") or name.startswith("dlm_desktop.gui"):
                    raise ImportError(f"blocked for this test: {name}")
                return None

        sys.meta_path.insert(0, BlockQt())
        import dlm_desktop.core as core
        names = [m.name for m in pkgutil.walk_packages(core.__path__, "dlm_desktop.core.")]
        for name in names:
            importlib.import_module(name)
        heavy = [m for m in ("torch", "transformers", "peft", "PySide6") if m in sys.modules]
        print(len(names), "modules;", "heavy:", heavy)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    count = int(result.stdout.split()[0])
    assert count >= 10
    # importing the engine must not pull in the heavy ML stack either (the window paints before torch loads)
    assert "heavy: []" in result.stdout, result.stdout
