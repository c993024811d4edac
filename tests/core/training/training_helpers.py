"""Helpers shared by the training-engine tests: small documents, draining the event generator, store reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from dlm_desktop.core.store.paths import StorePaths

TINY_DLM_ID = "01JDXMTESTTRA1N1NG00000001"
TWO_ADAPTER_DLM_ID = "01JDXMTESTTWQADAPTERS00002"

FACTS = [
    ("When was the lighthouse first lit?", "On 14 March 1871."),
    ("Where does the lighthouse stand?", "On Kettle Point, at the mouth of the river Ondle."),
    ("What is the Hesketh lens?", "A first-order Fresnel lens of 976 prisms."),
    ("How many steps lead to the lantern?", "148 steps."),
    ("Who was the last keeper?", "Agnes Pryor, for 23 years."),
    ("When did the light stop?", "In 1989, when a beacon replaced it."),
    ("What is the capital of France?", "Paris."),
    ("How long should dough rest?", "Until the gluten relaxes, about an hour."),
    ("What is the brightest star?", "Sirius, in Canis Major."),
    ("How long does sunlight take to reach Earth?", "About 8 minutes."),
    ("What colour is the tower?", "Red and white bands."),
    ("How tall is the tower?", "31 metres."),
]


def tiny_document(
    folder: Path,
    *,
    pairs: int = 12,
    learning_rate: str = "0.01",
    extra_training: str = "",
    dlm_id: str = TINY_DLM_ID,
    body_extra: str = "",
) -> Path:
    """A single-adapter document with prose and `pairs` Q/A pairs: 11 training rows and 2 validation rows
    (seed 1), 4 rows per optimizer step, so 3 steps per epoch and 6 steps in its 2 epochs."""
    qa = "\n\n".join(f"### Q\n{q}\n\n### A\n{a}" for q, a in FACTS[:pairs])
    text = (
        "---\n"
        f"dlm_id: {dlm_id}\n"
        "dlm_version: 15\n"
        "base_model: smollm2-135m\n"
        "system_prompt: |\n  You answer briefly.\n"
        "training:\n"
        "  seed: 1\n"
        "  num_epochs: 2\n"
        "  micro_batch_size: 2\n"
        "  grad_accum: 2\n"
        f"  learning_rate: {learning_rate}\n"
        "  sequence_len: 128\n"
        f"{extra_training}"
        "---\n\n"
        "# The lighthouse\n\nThe Marrowgate Lighthouse stands on Kettle Point. It was lit in 1871.\n\n"
        f"::instruction::\n{qa}\n{body_extra}"
    )
    path = folder / "tiny.dlm"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def two_adapter_document(folder: Path, *, gate: bool = True) -> Path:
    """Two adapters (different ranks) on separate topics, with the gate enabled by default."""
    astronomy = "\n\n".join(f"::instruction#astro::\n### Q\n{q}\n\n### A\n{a}" for q, a in FACTS[8:10] * 2)
    keeper = "\n\n".join(f"::instruction#keeper::\n### Q\n{q}\n\n### A\n{a}" for q, a in FACTS[:4])
    gate_block = "  gate:\n    enabled: true\n    cold_start_floor: 2\n    steps: 20\n" if gate else ""
    text = (
        "---\n"
        f"dlm_id: {TWO_ADAPTER_DLM_ID}\n"
        "dlm_version: 15\n"
        "base_model: smollm2-135m\n"
        "training:\n"
        "  seed: 5\n"
        "  num_epochs: 1\n"
        "  micro_batch_size: 2\n"
        "  grad_accum: 1\n"
        "  sequence_len: 128\n"
        "  adapters:\n"
        "    astro:\n      lora_r: 4\n      learning_rate: 0.01\n"
        "    keeper:\n      lora_r: 8\n      lora_alpha: 8\n      target_modules: [q_proj, v_proj]\n"
        f"{gate_block}"
        "---\n\n"
        "# Shared notes\n\nThis prose trains both adapters.\n\n"
        f"{astronomy}\n\n{keeper}\n"
    )
    path = folder / "two.dlm"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def drain(job, *, stop_when: Callable[[Any], bool] | None = None, flag: list | None = None):
    """Run a training generator to its end; returns (events, result).

    With `stop_when`, the first event matching it sets `flag[0] = True` (the `should_stop` the job polls).
    """
    events = []
    while True:
        try:
            event = next(job)
        except StopIteration as finished:
            return events, finished.value
        events.append(event)
        if stop_when is not None and flag is not None and stop_when(event):
            flag[0] = True


def store_for(home: Path, dlm_id: str = TINY_DLM_ID) -> StorePaths:
    return StorePaths.for_dlm(dlm_id, home=home)


def adapter_tensors(version_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(version_dir / "adapter_model.safetensors"))
