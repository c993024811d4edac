"""How busy the machine is, for the benchmarks' reports and their wait-for-idle (Linux /proc; zeros elsewhere).

    from benchmarks.machine import cpu_ticks, own_cpu, busy_fraction, load_line, wait_for_idle
"""

from __future__ import annotations

import os
import time
from pathlib import Path

IDLE_BUSY_MAX = 0.25  # at most this share of all CPUs busy counts as idle enough


def cpu_ticks() -> tuple[float, float]:
    """(all ticks, idle + iowait ticks) of the whole machine since boot, from /proc/stat."""
    try:
        fields = [float(v) for v in Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:]]
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0
    return sum(fields), fields[3] + (fields[4] if len(fields) > 4 else 0.0)


def own_cpu() -> float:
    """CPU seconds this process has used (user + system)."""
    times = os.times()
    return times.user + times.system


def busy_fraction(seconds: float = 1.0) -> float:
    """The share of all CPUs' time spent busy over `seconds` (0 where /proc/stat is unavailable)."""
    total0, idle0 = cpu_ticks()
    time.sleep(seconds)
    total1, idle1 = cpu_ticks()
    return 0.0 if total1 == total0 else 1.0 - (idle1 - idle0) / (total1 - total0)


def load_line() -> str:
    """`busy 12% of 2 CPUs, loadavg 0.31 0.40 0.52` for the report."""
    busy = busy_fraction(1.0)
    try:
        loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        loadavg = "?"
    return f"busy {busy:.0%} of {os.cpu_count()} CPUs, loadavg {loadavg}"


def wait_for_idle(limit_s: float, busy_max: float = IDLE_BUSY_MAX) -> tuple[bool, float]:
    """Poll until at most `busy_max` of the CPUs is busy (for at most `limit_s`): `(idle, last busy)`."""
    deadline = time.monotonic() + limit_s
    busy = busy_fraction(2.0)
    while busy > busy_max and time.monotonic() < deadline:
        busy = busy_fraction(2.0)
    return busy <= busy_max, busy
