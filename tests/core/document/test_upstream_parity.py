"""Parity with upstream `dlm`: generated documents (valid, invalid, source trees, weights, byte mutations) are
read by upstream's own code and by `dlm-desktop inspect`; sections, ids, rows, the expanded mix, the split,
the routing and accept/refuse must agree on every case, and every refusal must be one `path:line: message` line.

Upstream runs in its own virtualenv (tests/upstream_fixtures.py) with the instruction-body rule of the parity
commit 1c83a65 applied by benchmarks/parity/upstream_inspect.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_generated_documents_match_upstream(upstream_python, tmp_path):
    result = subprocess.run(
        [
            sys.executable, str(ROOT / "benchmarks" / "parity" / "compare.py"),
            "--cases", "600", "--seed", "31", "--cli-sample", "30",
            "--upstream-python", str(upstream_python), "--out", str(tmp_path / "diffs"),
        ],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = re.search(r"parity: (\d+)/(\d+) identical", result.stdout)
    assert summary, result.stdout[-3000:]
    same, total = map(int, summary.groups())
    assert total >= 550 and same == total, result.stdout[-5000:]
    cli = re.search(r"real CLI sample: (\d+) cases, (\d+) identical", result.stdout)
    assert cli and cli.group(1) == cli.group(2), result.stdout[-3000:]
    accepted = re.search(r"upstream accepted (\d+), refused (\d+)", result.stdout)
    assert accepted and int(accepted.group(1)) > 100 and int(accepted.group(2)) > 100  # both kinds exercised
