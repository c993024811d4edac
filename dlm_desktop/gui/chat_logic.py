"""What the chat pane decides without Qt: whether a document can chat yet, the fine-tuned side's choices, the
jobs it runs (`prompt_document`, `probe_document` on the pane's one `InferenceSession`), and the sentences it
shows for results and failures.

Whether a document is trained is read from its store's `current.txt` pointers only (no torch, no gate
loading), so it can run on the GUI thread at every check of the document.
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlm_desktop.core.errors import DlmDesktopError
from dlm_desktop.core.inference.chat import ChatRequest, prompt_document
from dlm_desktop.core.inference.document_probe import ProbeRequest, probe_document
from dlm_desktop.core.inference.session import InferenceSession
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.store.versions import resolve_current

SECTION_KINDS = {"instruction": "Q&A", "prose": "prose", "preference": "pref."}
CLOSED, UNTITLED, INVALID, UNTRAINED, READY = "closed", "untitled", "invalid", "untrained", "ready"
FLAT_NAME = "default"
VERDICTS = {
    "green": ("Yes, it learned your document",
              "The fine-tuned model moves away from the base far more than random adapters of the same size do."),
    "yellow": ("A little: the change is weak",
               "The fine-tuned model differs from the base, but not much more than random adapters do. "
               "More steps or a higher learning rate may help."),
    "red": ("Not clearly",
            "The fine-tuned model is hardly more different from the base than random adapters are. "
            "Train longer, or check the training mix."),
}


@dataclass(frozen=True)
class ChatAvailability:
    """Whether the open document can chat (`state`), with a title and a sentence for the empty state, and
    what the pane needs to know about it (adapters in declared order, gate, system prompt)."""

    state: str
    title: str
    message: str
    document_path: Path | None = None
    dlm_id: str = ""
    adapters: tuple[str, ...] = ()
    declared: bool = False
    gate_enabled: bool = False
    gate_trained: bool = False
    system_prompt: str = ""

    @property
    def ready(self) -> bool:
        return self.state == READY


@dataclass(frozen=True)
class RouteChoice:
    """One entry of the fine-tuned side's selector: `key` is `gate`, `static`, `single` or `adapter:NAME`."""

    key: str
    label: str
    tooltip: str
    adapter: str | None = None


@dataclass(frozen=True)
class ChatSettings:
    """One question and the knobs it is asked with (λ is `strength`)."""

    question: str
    route: RouteChoice
    strength: float = 1.0
    temperature: float = 0.7
    max_tokens: int = 256


def chat_availability(result: Any, home: Path | None = None) -> ChatAvailability:
    """From the window's last `CheckResult` (or None) to what the chat pane shows."""
    if result is None:
        return ChatAvailability(CLOSED, "Open a document to chat with it",
                                "Then train it and ask it questions here, next to the base model.")
    if result.report is None:
        return ChatAvailability(INVALID, "Fix the document first",
                                "The document has errors (see the Document tab), so it cannot be trained or asked.")
    front = result.report.frontmatter
    if result.document_path is None:
        return ChatAvailability(UNTITLED, "Save and train this document first",
                                "A new document needs a file and a training run before it can answer.")
    declared = front.training.adapter_names()
    names = tuple(declared) or (FLAT_NAME,)
    known = dict(document_path=Path(result.document_path), dlm_id=front.dlm_id, adapters=names,
                 declared=bool(declared), gate_enabled=bool(front.training.gate.enabled),
                 system_prompt=(front.system_prompt or "").strip())
    try:
        store = StorePaths.for_dlm(front.dlm_id, home=home)
        missing = [name for name in names if resolve_current(store, name if declared else None) is None]
        gate_trained = len(names) > 1 and store.gate_config.is_file()
    except DlmDesktopError as exc:
        return ChatAvailability(UNTRAINED, "Train first", f"{exc.message}. {exc.fix}".strip(), **known)
    if missing:
        return ChatAvailability(UNTRAINED, "Train first", _missing_sentence(missing, len(names)), **known)
    return ChatAvailability(READY, "Ready", "", gate_trained=gate_trained, **known)


def _missing_sentence(missing: list[str], declared: int) -> str:
    then = "Train it, then compare its answers with the base model's here."
    if len(missing) == declared:
        return f"This document has no trained adapter yet. {then}"
    names = ", ".join(f"“{name}”" for name in missing)
    verb = "has" if len(missing) == 1 else "have"
    return f"Adapter{'s' if len(missing) > 1 else ''} {names} {verb} no trained version yet. {then}"


def route_choices(availability: ChatAvailability) -> list[RouteChoice]:
    """The selector's entries: the gate, each adapter, the static mix (several adapters); else the one adapter."""
    names = availability.adapters
    if not availability.declared:
        return [RouteChoice("single", "Your adapter", "This document trains one adapter.")]
    if len(names) == 1:
        return [RouteChoice(f"adapter:{names[0]}", f"Adapter “{names[0]}”", "This document trains one adapter.",
                            names[0])]
    if availability.gate_trained:
        gate = RouteChoice("gate", "Learned gate (per question)",
                           "The trained gate picks the mix of adapters for each question.")
    else:
        gate = RouteChoice("gate", "Equal mix (gate not trained)",
                           "No trained gate yet: every adapter weighs the same.")
    only = [RouteChoice(f"adapter:{name}", f"Only “{name}”", f"Answer with adapter “{name}” alone.", name)
            for name in names]
    static = RouteChoice("static", "Static mix (as exported)",
                         "The fixed mix an export writes for Ollama and llama.cpp, which cannot run the gate.")
    return [gate, *only, static]


def export_mix(availability: ChatAvailability, home: Path | None = None) -> dict[str, float]:
    """The fixed mix an export freezes the adapters to (the gate's mean weights, or equal weights)."""
    from dlm_desktop.core.export.selection import resolve_export_adapters

    store = StorePaths.for_dlm(availability.dlm_id, home=home)
    declared = list(availability.adapters) if availability.declared else []
    selection = resolve_export_adapters(declared, store, gate_enabled=availability.gate_enabled)
    return dict(selection.mix)


def chat_job(availability: ChatAvailability, settings: ChatSettings, session: InferenceSession,
             home: Path | None = None) -> Callable[[Callable[[], bool]], Generator[Any, None, Any]]:
    """The factory `EventJobRunner.start` runs: a side-by-side `prompt_document` on `session`."""

    def run(should_stop: Callable[[], bool]) -> Generator[Any, None, Any]:
        mix = export_mix(availability, home) if settings.route.key == "static" else None
        request = ChatRequest(availability.document_path, settings.question, side_by_side=True,
                              adapter=settings.route.adapter, strength=settings.strength,
                              temperature=settings.temperature, max_tokens=settings.max_tokens, home=home, mix=mix)
        return (yield from prompt_document(request, should_stop=should_stop, session=session))

    return run


def probe_job(availability: ChatAvailability, route: RouteChoice, session: InferenceSession,
              home: Path | None = None) -> Callable[[Callable[[], bool]], Generator[Any, None, Any]]:
    """The factory of the "did it learn?" check, routed like the chat (one adapter, else the gate)."""

    def run(should_stop: Callable[[], bool]) -> Generator[Any, None, Any]:
        request = ProbeRequest(availability.document_path, adapter=route.adapter, home=home)
        return (yield from probe_document(request, should_stop=should_stop, session=session))

    return run


def session_placement(summary: Any) -> tuple[str, str]:
    """`(device, dtype)` for the chat's model from the detected runtime (CPU when unknown)."""
    report = getattr(summary, "report", None)
    backend = getattr(getattr(report, "backend", None), "value", "")
    if backend in ("cuda", "rocm"):
        return "cuda", "float32"
    if backend == "mps":
        return "mps", "float32"
    return "cpu", "float32"


def describe_failure(error: BaseException) -> tuple[str, str, str]:
    """`(title, body, details)` for a failed chat or check: the engine's message and fix, else the exception."""
    if isinstance(error, DlmDesktopError):
        message = error.message[:1].upper() + error.message[1:]
        fix = error.fix[:1].upper() + error.fix[1:] if error.fix else ""
        return message, fix, error.location()
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return ("Something went wrong while answering", f"{type(error).__name__}: {error}".strip(), trace)


def verdict_sentences(report: Any) -> tuple[str, str]:
    """Headline and explanation of a probe report's verdict."""
    if report.status == "cancelled":
        return "Check stopped", "Run it again to see the whole report."
    if report.verdict is None:
        return "No verdict", " ".join(report.notices) or "This backend cannot compare with random adapters."
    headline, explanation = VERDICTS.get(report.verdict, VERDICTS["red"])
    z = "" if report.z is None else f" ({report.z:.1f}σ above random adapters; green from 3σ, yellow from 1σ)"
    return headline, f"{explanation}{z}"


def section_rows(report: Any) -> list[tuple[str, float, str, bool]]:
    """`(label, value, tooltip, got_worse)` per section: the internalization (NLL drop on its own text vs the
    others), and whether the section's own loss rose."""
    rows = []
    for section in report.sections:
        value = section.get("internalization")
        value = section["drop"] if value is None else value
        where = f"Line {section['start_line']}" if section.get("start_line") else "Source file"
        kind = SECTION_KINDS.get(section["type"], section["type"])
        adapter = f" · {section['adapter']}" if section.get("adapter") else ""
        tooltip = (f"{where}, {section['type']} section{adapter}. Loss on its own text: base "
                   f"{section['nll_base']:.3f}, fine-tuned {section['nll_finetuned']:.3f} (drop {section['drop']:+.3f}); "
                   f"compared with the other sections {value:+.3f}")
        rows.append((f"{where} · {kind}{adapter}", float(value), tooltip, section["drop"] < 0))
    return rows


def sections_caption(report: Any) -> str:
    """One line under the section bars saying what a bar left of the centre means for this report.

    The bars are relative (a section's loss drop against the others' mean), so a short bar is not a loss;
    the raw drop says whether a section actually got worse on its own text.
    """
    sections = list(getattr(report, "sections", None) or [])
    if not sections:
        return ""
    worse = [section for section in sections if section["drop"] < 0]
    if worse:
        names = ", ".join(_section_place(section) for section in worse[:3]) + (" …" if len(worse) > 3 else "")
        return (f"The model got worse on its own text for {names}: its loss rose after training. That usually "
                "means too many steps or too high a learning rate on few rows (overfitting); try fewer steps.")
    if len(sections) == 1:
        return f"Its loss on this section's text dropped by {sections[0]['drop']:.2f}."
    low, high = min(s["drop"] for s in sections), max(s["drop"] for s in sections)
    return (f"Every section's loss dropped (by {low:.2f} to {high:.2f}). The bars compare sections with each "
            "other: a bar left of the centre was learned less than the rest, not forgotten.")


def _section_place(section: dict) -> str:
    return f"line {section['start_line']}" if section.get("start_line") else "a source file"


def rich_text(text: str) -> str:
    """`text` escaped for a rich-text label, line breaks kept."""
    return html.escape(text).replace("\n", "<br>")
