"""The engine check behind `dlm-desktop --self-test`: proves that this installation (or the frozen app)
can really train and chat, in well under a minute and without network.

It imports the heavy runtimes (torch, transformers, PEFT, llama.cpp's binding), builds the tiny chat model
(`core.models.tiny_model`), trains two optimizer steps on a small document with it, and asks one question side
by side (base and fine-tuned from one loaded model). Everything goes to a scratch folder and a scratch DLM
home: the user's store and documents are never touched. Each step is reported as a `SmokeStep`; a failing step
ends the check with its error text (the caller decides the exit code).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

RUNTIME_MODULES = ("torch", "transformers", "peft", "llama_cpp")
SMOKE_QUESTION = "How tall is the Marrowgate Lighthouse?"


@dataclass(frozen=True)
class SmokeStep:
    """One step of the check: `ok`, and a short human description of what was (or was not) seen."""

    name: str
    ok: bool
    detail: str


def smoke_document_text(base_folder: Path) -> str:
    """A small document trained on the tiny model in `base_folder` (quoted: the path may hold spaces)."""
    return (
        "---\n"
        "dlm_id: 01JDXMDESKTQPSM0KETEST0001\n"
        f"base_model: '{base_folder.as_posix()}'\n"
        "training:\n"
        "  seed: 7\n"
        "---\n"
        "The Marrowgate Lighthouse stands on Kettle Point.\n\n"
        "::instruction::\n"
        f"### Q\n{SMOKE_QUESTION}\n\n### A\nThe tower is 31 metres tall.\n\n"
        "### Q\nWhen was it first lit?\n\n### A\nOn 14 March 1871.\n"
    )


def run_engine_smoke(scratch: Path) -> Iterator[SmokeStep]:
    """Yield the check's steps in order; stops after the first failing one. `scratch` must be empty or new."""
    yield _import_runtimes()
    try:
        document, home = _prepare(scratch)
    except Exception as exc:  # noqa: BLE001 - any failure is a failed step, reported, never raised
        yield SmokeStep("tiny model", False, f"could not build the tiny model: {exc}")
        return
    yield SmokeStep("tiny model", True, f"built in {scratch / 'tiny-model'}")
    trained = _train_two_steps(document, home)
    yield trained
    if trained.ok:
        yield _ask_side_by_side(document, home)


def _import_runtimes() -> SmokeStep:
    versions, missing = [], []
    for name in RUNTIME_MODULES:
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a broken binary raises OSError etc., not only ImportError
            missing.append(f"{name} ({type(exc).__name__}: {exc})")
        else:
            versions.append(f"{name} {getattr(module, '__version__', '?')}")
    if missing:
        return SmokeStep("runtimes", False, "cannot import " + ", ".join(missing))
    return SmokeStep("runtimes", True, ", ".join(versions))


def _prepare(scratch: Path) -> tuple[Path, Path]:
    from dlm_desktop.core.models.tiny_model import make_tiny_chat_model

    base = make_tiny_chat_model(scratch / "tiny-model")
    folder = scratch / "document"
    folder.mkdir(parents=True, exist_ok=True)
    document = folder / "smoke.dlm"
    document.write_text(smoke_document_text(base), encoding="utf-8")
    return document, scratch / "dlm-home"


def _train_two_steps(document: Path, home: Path) -> SmokeStep:
    from dlm_desktop.core.training.engine import train_document
    from dlm_desktop.core.training.events import RunFinished, StepCompleted
    from dlm_desktop.core.training.request import TrainRequest

    losses, finished = [], None
    try:
        for event in train_document(TrainRequest(document, max_steps=2, home=home, offline=True)):
            if isinstance(event, StepCompleted):
                losses.append(event.loss)
            elif isinstance(event, RunFinished):
                finished = event
    except Exception as exc:  # noqa: BLE001
        return SmokeStep("training", False, f"{type(exc).__name__}: {exc}")
    if finished is None or finished.status != "ok" or finished.steps != 2 or not finished.adapters:
        return SmokeStep("training", False, f"the run did not finish two steps ({finished})")
    return SmokeStep("training", True, "2 steps, loss " + " → ".join(f"{loss:.3f}" for loss in losses))


def _ask_side_by_side(document: Path, home: Path) -> SmokeStep:
    from dlm_desktop.core.inference.chat import ChatRequest, prompt_document

    request = ChatRequest(document, SMOKE_QUESTION, side_by_side=True, max_tokens=6, temperature=0.0,
                          home=home, offline=True)
    generator = prompt_document(request)
    try:
        while True:
            next(generator)
    except StopIteration as done:
        result = done.value
    except Exception as exc:  # noqa: BLE001
        return SmokeStep("side by side", False, f"{type(exc).__name__}: {exc}")
    if result.base is None or not result.finetuned.token_ids or not result.base.token_ids:
        return SmokeStep("side by side", False, "an answer came back empty")
    return SmokeStep("side by side", True,
                     f"base {len(result.base.token_ids)} tokens, fine-tuned {len(result.finetuned.token_ids)} tokens")
