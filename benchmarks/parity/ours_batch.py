"""Run DLM Desktop's `inspect --json` on many documents in one process (the parity benchmark's fast path).

    python benchmarks/parity/ours_batch.py < paths.txt > results.jsonl

For each document path read from stdin it calls the real command-line entry point,
`dlm_desktop.cli.main(["inspect", "--json", DOC])`, in this process with stdout and stderr captured, and writes
one JSON line: `{"doc", "exit_code", "stdout", "stderr", "crash"}`. `crash` holds a traceback when the entry
point raised instead of returning an exit code. Importing the package once instead of once per document is
what makes 2,000 documents take minutes.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import sys
import traceback
from typing import Any

PER_DOC_TIMEOUT_S = 60


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so the CLI's own `except Exception` cannot swallow it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def run_one(main: Any, doc: str) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    crash = None
    code: Any = None
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(PER_DOC_TIMEOUT_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["inspect", "--json", doc])
    except SystemExit as exc:
        code = exc.code
    except _Timeout:
        code, crash = -2, f"timeout after {PER_DOC_TIMEOUT_S}s"
    except BaseException:  # noqa: BLE001 - a crash is a finding, reported with its traceback
        code, crash = -1, traceback.format_exc()
    finally:
        signal.alarm(0)
    if code is None:
        code = 0
    elif not isinstance(code, int):
        err.write(str(code) + "\n")
        code = 1
    return {"doc": doc, "exit_code": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "crash": crash}


def main() -> int:
    from dlm_desktop.cli import main as cli_main

    for line in sys.stdin:
        doc = line.rstrip("\n")
        if doc:
            sys.stdout.write(json.dumps(run_one(cli_main, doc), ensure_ascii=False) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
