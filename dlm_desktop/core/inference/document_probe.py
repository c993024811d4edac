"""`probe_document`: the "did it learn?" report of a trained document (`dlm-desktop probe DOC`).

Loads the document's base and adapters (one model), takes the document's own prompts and section texts
(`doc_prompts`), and runs `probes.run_probes` on the `hf` backend.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from dlm_desktop.core.document.pipeline import analyze_document
from dlm_desktop.core.inference.doc_prompts import MAX_PROMPTS, MAX_SECTIONS, document_prompts, section_texts
from dlm_desktop.core.inference.probes import LAMBDAS, ProbeProgress, ProbeReport, ProbeSettings, run_probes
from dlm_desktop.core.inference.session import InferenceSession, LoadEvent, open_document
from dlm_desktop.core.inference.store_adapters import GateChoice

ProbeEvent = Union[LoadEvent, ProbeProgress]


@dataclass(frozen=True)
class ProbeRequest:
    """What to probe: the fine-tuned side is routed as chat routes it (`gate`, `adapter`)."""

    document_path: Path
    gate: GateChoice = "auto"
    adapter: str | None = None
    top_k: int = 64
    null_seeds: tuple[int, ...] = (0, 1, 2, 3)
    lambdas: tuple[float, ...] = LAMBDAS
    max_prompts: int = MAX_PROMPTS
    max_sections: int = MAX_SECTIONS
    home: Path | None = None
    offline: bool | None = None


def probe_document(
    request: ProbeRequest,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    session: InferenceSession | None = None,
) -> Generator[ProbeEvent, None, ProbeReport]:
    """Yield loading and `ProbeProgress` events; return the `ProbeReport` (see `probes.py`)."""
    opened = open_document(request.document_path, home=request.home, adapter=request.adapter, gate=request.gate)
    report = analyze_document(opened.parsed)
    prompts = document_prompts(report.sections, request.max_prompts)
    sections = section_texts(report.sections, request.max_sections)
    settings = ProbeSettings(top_k=request.top_k, null_seeds=tuple(request.null_seeds),
                             lambdas=tuple(request.lambdas))
    own_session = session is None
    session = session or InferenceSession()
    try:
        backend = yield from session.backend_for(opened, offline=request.offline, should_stop=should_stop)
        result = yield from run_probes(backend, prompts, sections, settings, should_stop=should_stop)
    finally:
        if own_session:
            session.close()
    result.notices = list(opened.adapters.notices) + result.notices
    return result
