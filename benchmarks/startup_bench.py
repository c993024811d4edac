"""Startup: time from process start to the main window's first paint ÷ time to import torch + transformers + peft.

The window must appear before any heavy library is imported (ARCHITECTURE.md, "Layering"), so the first paint
should cost a fraction of what the training stack alone costs to import. Both are measured the same way, in
fresh interpreters started alternately (A B A B …), from `Popen` in this process to a marker line the child
prints:

  (a) `dlm-desktop <example document>` through `dlm_desktop.cli.main` → `gui.app.run_app`, offscreen, with
      settings and documents in a temporary folder; the marker is printed from the window's first Paint
      event (the hook `gui.app.call_after_first_paint` installs, which `run_app` uses to open the document);
  (b) `import torch, transformers, peft`.

Printed: best and median of each over N runs, the ratio a/b of the bests and of the medians (goal ≤ 0.35),
which heavy modules (a) had loaded at its first paint (should be none), and the machine's load from
/proc/stat while the runs went (2-core timings swing with other work: read the ratio with it).

    python benchmarks/startup_bench.py [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "resources" / "examples" / "getting-started.dlm"
MARKER = "STARTUP-BENCH"
GOAL = 0.35
HEAVY = ("torch", "transformers", "peft", "llama_cpp", "numpy")
CHILD_TIMEOUT_S = 300

# (a): the real command-line entry, with a Paint-event hook added to the first-paint helper run_app uses.
FIRST_PAINT_CHILD = textwrap.dedent(f"""
    import os, sys
    from PySide6.QtCore import QEvent, QObject
    import dlm_desktop.gui.app as app_module

    class _PaintMarker(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint:
                heavy = [m for m in {HEAVY!r} if m in sys.modules]
                sys.stdout.write("{MARKER} " + ",".join(heavy) + "\\n")
                sys.stdout.flush()
                os._exit(0)
            return False

    _original = app_module.call_after_first_paint

    def _hooked(widget, callback):
        marker = _PaintMarker(widget)
        widget.installEventFilter(marker)
        _original(widget, callback)

    app_module.call_after_first_paint = _hooked
    from dlm_desktop.cli import main
    sys.exit(main(sys.argv[1:]))
""")

# (b): the training stack's import.
IMPORT_CHILD = textwrap.dedent(f"""
    import sys
    import torch, transformers, peft
    sys.stdout.write("{MARKER}\\n")
    sys.stdout.flush()
""")


def cpu_times() -> tuple[int, int]:
    """(total, idle) jiffies of all CPUs from /proc/stat ((0, 0) where there is no /proc)."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]), idle


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    total = after[0] - before[0]
    return None if total <= 0 else 1.0 - (after[1] - before[1]) / total


def timed_child(code: str, args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Seconds from starting `python -c code args` to its marker line, and what followed the marker."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    try:
        for line in child.stdout:
            if line.startswith(MARKER):
                elapsed = time.perf_counter() - started
                return elapsed, line[len(MARKER):].strip()
        raise RuntimeError(f"the child exited (code {child.wait()}) without printing its marker")
    finally:
        if child.poll() is None:
            try:
                child.wait(timeout=CHILD_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        child.stdout.close()


def window_env(scratch: Path) -> dict[str, str]:
    """Offscreen, with settings, documents and the store in `scratch` (the user's own are never touched)."""
    env = dict(os.environ)
    env.update({
        "QT_QPA_PLATFORM": "offscreen",
        "DLM_DESKTOP_CONFIG_DIR": str(scratch / "config"),
        "DLM_DESKTOP_DOCUMENTS_DIR": str(scratch / "documents"),
        "DLM_HOME": str(scratch / "home"),
    })
    return env


def measure(runs: int) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="dlm-startup-bench-"))
    try:
        document = scratch / EXAMPLE.name
        shutil.copyfile(EXAMPLE, document)
        env = window_env(scratch)
        paint, imports, heavy_at_paint = [], [], set()
        load_before, cpu_before = os.getloadavg(), cpu_times()
        for index in range(runs):
            seconds, loaded = timed_child(FIRST_PAINT_CHILD, [str(document)], env)
            paint.append(seconds)
            heavy_at_paint.update(name for name in loaded.split(",") if name)
            imports.append(timed_child(IMPORT_CHILD, [], dict(os.environ))[0])
            print(f"run {index + 1}/{runs}: first paint {paint[-1]:.2f} s, "
                  f"import torch+transformers+peft {imports[-1]:.2f} s", flush=True)
        busy = busy_share(cpu_before, cpu_times())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return summary(paint, imports, sorted(heavy_at_paint), busy, load_before)


def summary(paint: list[float], imports: list[float], heavy: list[str], busy: float | None, load_before) -> dict:
    best_a, best_b = min(paint), min(imports)
    median_a, median_b = statistics.median(paint), statistics.median(imports)
    return {
        "runs": len(paint),
        "first_paint_s": {"best": round(best_a, 3), "median": round(median_a, 3), "all": [round(x, 3) for x in paint]},
        "import_torch_transformers_peft_s": {"best": round(best_b, 3), "median": round(median_b, 3),
                                             "all": [round(x, 3) for x in imports]},
        "ratio_best": round(best_a / best_b, 3),
        "ratio_median": round(median_a / median_b, 3),
        "goal": GOAL,
        "heavy_modules_at_first_paint": heavy,
        "cpus": os.cpu_count(),
        "cpu_busy_share_during_runs": None if busy is None else round(busy, 3),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }


def report(result: dict) -> str:
    a, b = result["first_paint_s"], result["import_torch_transformers_peft_s"]
    busy = result["cpu_busy_share_during_runs"]
    verdict = "meets" if result["ratio_median"] <= GOAL else "misses"
    return "\n".join([
        f"startup_bench: {result['runs']} alternating runs in fresh interpreters (Python {result['python']})",
        f"  (a) process start → main window first paint (offscreen, example document): "
        f"best {a['best']:.2f} s, median {a['median']:.2f} s",
        f"  (b) process start → import torch, transformers, peft:                       "
        f"best {b['best']:.2f} s, median {b['median']:.2f} s",
        f"  ratio a/b: best {result['ratio_best']:.2f}, median {result['ratio_median']:.2f} "
        f"(goal ≤ {GOAL}: {verdict} it)",
        f"  heavy modules loaded at first paint: {', '.join(result['heavy_modules_at_first_paint']) or 'none'}",
        f"  machine: {result['cpus']} CPUs, busy {busy:.0%} during the runs (/proc/stat, these runs included), "
        f"load average {result['loadavg_before'][0]:.2f} before, {result['loadavg_after'][0]:.2f} after"
        if busy is not None else f"  machine: {result['cpus']} CPUs (no /proc/stat)",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each measurement (default 7)")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON object")
    args = parser.parse_args(argv)
    result = measure(max(1, args.runs))
    print(report(result))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
