"""The binding repair of `qt_runtime`: with it, a long session of Qt calls cannot exhaust None/True/False."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.gui.gui_helpers import REPO


def test_a_long_session_of_void_calls_and_signal_emits_does_not_abort(tmp_path):
    """PySide6 6.12.0 on CPython 3.11 loses a reference to None per void call and to True per emit(): without
    the repair this script aborts with "none_dealloc" after a few thousand calls."""
    script = textwrap.dedent(
        """
        import sys
        import dlm_desktop.gui  # applies the repair
        from dlm_desktop.gui.qt_runtime import is_guarded, singleton_leaks_per_call
        from PySide6.QtCore import QObject, Signal

        class Chatty(QObject):
            said = Signal(bool)

        chatty = Chatty()
        chatty.said.connect(lambda flag: None)
        for _ in range(200_000):
            chatty.setObjectName("x")
            chatty.said.emit(True)
            chatty.said.emit(False)
        leaks = singleton_leaks_per_call()
        print("leaks", leaks, "guarded", is_guarded())
        assert is_guarded() == (sys.version_info < (3, 12) and max(leaks.values()) >= 0.5)
        print("survived")
        """
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "survived" in done.stdout
