"""A trainer killed with SIGKILL in the middle of a run (a real child process) leaves the store usable: the
previous adapter version stays current and loadable, the document is untouched, the next run takes over the
dead process's lock, and a resume continues from the last complete checkpoint."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dlm_desktop.core.store.versions import list_versions, resolve_current
from dlm_desktop.core.training import StageStarted, TrainRequest, train_document
from tests.core.training.training_helpers import adapter_tensors, drain, store_for, tiny_document
from tests.tiny_models import tiny_chat_model_dir  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[3]
CHILD = """
import sys
from pathlib import Path
from dlm_desktop.core.training import StepCompleted, TrainRequest, train_document

doc, base, home = sys.argv[1:4]
request = TrainRequest(Path(doc), base=base, home=Path(home), max_steps=60, checkpoint_interval_s=0.0)
for event in train_document(request):
    if isinstance(event, StepCompleted):
        print(f"step {event.step}", flush=True)
"""


def _wait_for_step(child: subprocess.Popen, step: int, timeout: float = 300.0) -> None:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in child.stdout], daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"the trainer printed no step {step} in {timeout} s")
        if line.strip() == f"step {step}":
            return


def _train_and_kill_at_step(doc: Path, base: Path, home: Path, step: int) -> int:
    """Start a trainer in a child process, SIGKILL it once it reports `step`; returns its exit code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(doc), str(base), str(home)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env,
    )
    try:
        _wait_for_step(child, step)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
        child.stdout.close()
    return child.returncode


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX-only")
def test_a_killed_trainer_leaves_the_previous_version_current_and_loadable(tmp_path, tiny_chat_model_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    doc = tiny_document(tmp_path / "doc")
    home = tmp_path / "home"
    _, first = drain(train_document(TrainRequest(doc, base=str(tiny_chat_model_dir), home=home)))
    before_doc = doc.read_bytes()
    before_weights = adapter_tensors(first.adapters["default"])

    assert _train_and_kill_at_step(doc, tiny_chat_model_dir, home, 3) == -signal.SIGKILL

    paths = store_for(home)
    assert resolve_current(paths) == paths.version_dir(1)
    assert [number for number, _ in list_versions(paths)] == [1]
    assert doc.read_bytes() == before_doc
    after = adapter_tensors(paths.version_dir(1))
    assert all(torch.equal(before_weights[name], after[name]) for name in before_weights)
    base = AutoModelForCausalLM.from_pretrained(str(tiny_chat_model_dir))
    PeftModel.from_pretrained(base, str(paths.version_dir(1)))  # loads without error

    events, resumed = drain(train_document(TrainRequest(doc, base=str(tiny_chat_model_dir), home=home, resume=True)))
    assert resumed.status == "ok" and resumed.steps == 60
    assert next(e for e in events if isinstance(e, StageStarted)).resumed_from_step >= 2
    assert resolve_current(paths) == paths.version_dir(2)
