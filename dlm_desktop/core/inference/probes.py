""""Did it learn?" (SPEC A4), on any differential backend.

On the document's own prompts:

1. divergence: mean JS divergence of the next-token distributions, base vs fine-tuned (`divergence.py`),
   as a z-score against null adapters (random adapters of the same structure) scored on the SAME prompts:
   ≥ 3σ green, ≥ 1σ yellow, else red;
2. per-section internalization: the drop in per-token NLL (base − fine-tuned) on each section's own text,
   minus the mean drop on the other sections;
3. the adapter-strength curve: the divergence from the base at λ ∈ {0, 0.25, 0.5, 0.75, 1, 1.25}.

Optional protocols the backend lacks (null or scaled adapters) leave their part empty, with a notice.
`run_probes` is a generator of `ProbeProgress` events returning a `ProbeReport` (status `cancelled` with
the parts done so far when `should_stop()` turns True).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlm_desktop.core.inference.divergence import mean_js, verdict_for, z_score
from dlm_desktop.core.inference.doc_prompts import SectionText
from dlm_desktop.core.inference.errors import ApiBackendError, ChatRequestError
from dlm_desktop.core.inference.protocols import TokenDist, satisfied_protocols

LAMBDAS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25)


@dataclass(frozen=True)
class ProbeSettings:
    """`top_k` of each distribution, the null adapters' seeds and size, and the λ grid."""

    top_k: int = 64
    null_seeds: tuple[int, ...] = (0, 1, 2, 3)
    null_init_scale: float | None = None
    null_rank_scale: float = 1.0
    lambdas: tuple[float, ...] = LAMBDAS


@dataclass(frozen=True)
class ProbeProgress:
    """`done` of `total` scoring steps finished; `stage` names the current one."""

    stage: str
    done: int
    total: int
    message: str


@dataclass
class ProbeReport:
    """Everything the "did it learn?" panel shows; `as_json_dict()` is JSON-serialisable."""

    prompts: list[str]
    protocols: tuple[str, ...]
    top_k: int
    status: str = "ok"
    divergence: float | None = None
    per_prompt: list[float] = field(default_factory=list)
    null_divergences: list[float] = field(default_factory=list)
    z: float | None = None
    verdict: str | None = None
    sections: list[dict[str, Any]] = field(default_factory=list)
    lambda_curve: list[dict[str, float]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_json_dict(self) -> dict[str, Any]:
        """The `probe --json` object."""
        null = self.null_divergences
        return {
            "status": self.status, "protocols": list(self.protocols), "top_k": self.top_k, "prompts": self.prompts,
            "divergence": {
                "finetuned": self.divergence, "per_prompt": self.per_prompt, "null": null,
                "null_mean": statistics.fmean(null) if null else None,
                "null_std": statistics.stdev(null) if len(null) > 1 else None,
                "z": self.z, "verdict": self.verdict,
            },
            "sections": self.sections, "lambda_curve": self.lambda_curve, "notices": self.notices,
            "timing": {"total_s": round(self.seconds, 3)},
        }


class _Cancelled(Exception):
    """Internal: `should_stop()` turned True between two steps."""


def run_probes(backend: Any, prompts: Sequence[str], sections: Sequence[SectionText],
               settings: ProbeSettings = ProbeSettings(), *,
               should_stop: Callable[[], bool] = lambda: False) -> Generator[ProbeProgress, None, ProbeReport]:
    """Run the three probes of the module docstring on `backend`."""
    if not prompts:
        raise ChatRequestError("the document has no prompts to probe with",
                               fix="add an instruction section (### Q / ### A) or some prose, then train")
    started = time.monotonic()
    report = ProbeReport(list(prompts), satisfied_protocols(backend), settings.top_k)
    steps = _Steps(_step_count(report.protocols, sections, settings), should_stop)
    try:
        if "preflight" in report.protocols:
            backend.preflight_finite_check()
        base = yield from _divergence(backend, report, settings, steps)
        yield from _lambda_curve(backend, report, settings, steps, base)
        yield from _internalization(backend, report, sections, steps)
    except ApiBackendError as exc:  # a server that cannot score whole texts: the other parts still stand
        if report.divergence is None:
            raise
        report.notices.append(f"The rest of the report is unavailable: {exc.message}")
    except _Cancelled:
        report.status = "cancelled"
    report.seconds = time.monotonic() - started
    return report


class _Steps:
    """Counts steps, emits progress and honours `should_stop` between steps."""

    def __init__(self, total: int, should_stop: Callable[[], bool]) -> None:
        self.total, self.done, self.should_stop = total, 0, should_stop

    def advance(self, stage: str, message: str) -> ProbeProgress:
        if self.should_stop():
            raise _Cancelled()
        self.done += 1
        return ProbeProgress(stage, self.done, self.total, message)


def _step_count(protocols: Sequence[str], sections: Sequence[SectionText], settings: ProbeSettings) -> int:
    nulls = len(settings.null_seeds) if "null_adapter" in protocols else 0
    lambdas = len(settings.lambdas) if "scaled_adapter" in protocols else 0
    return 2 + nulls + lambdas + 2 * len(sections)


def _dists(opener: Any, prompts: Sequence[str], top_k: int) -> list[TokenDist]:
    with opener as view:
        return view.next_token_dist_batch(list(prompts), top_k)


def _divergence(backend: Any, report: ProbeReport, settings: ProbeSettings,
                steps: _Steps) -> Generator[ProbeProgress, None, list[TokenDist]]:
    prompts, k = report.prompts, settings.top_k
    base = _dists(backend.as_base(), prompts, k)
    yield steps.advance("divergence", "Scored the base model")
    tuned = _dists(backend.as_finetuned(), prompts, k)
    report.divergence, report.per_prompt = mean_js(base, tuned)
    yield steps.advance("divergence", "Scored the fine-tuned model")
    if "null_adapter" not in report.protocols:
        report.notices.append("This backend has no null adapters: the divergence has no z-score.")
        return base
    for seed in settings.null_seeds:
        opener = backend.as_null_adapter(seed, settings.null_init_scale, settings.null_rank_scale)
        report.null_divergences.append(mean_js(base, _dists(opener, prompts, k))[0])
        yield steps.advance("null", f"Scored null adapter {seed}")
    report.z = z_score(report.divergence, report.null_divergences)
    report.verdict = verdict_for(report.z)
    return base


def _lambda_curve(backend: Any, report: ProbeReport, settings: ProbeSettings, steps: _Steps,
                  base: list[TokenDist]) -> Generator[ProbeProgress, None, None]:
    if "scaled_adapter" not in report.protocols:
        report.notices.append("This backend cannot scale its adapter: no strength curve.")
        return
    for strength in settings.lambdas:
        scaled = _dists(backend.as_scaled_adapter(strength), report.prompts, settings.top_k)
        report.lambda_curve.append({"lambda": strength, "divergence": mean_js(base, scaled)[0]})
        yield steps.advance("lambda", f"Scored adapter strength {strength:g}")


def _internalization(backend: Any, report: ProbeReport, sections: Sequence[SectionText],
                     steps: _Steps) -> Generator[ProbeProgress, None, None]:
    nll: dict[str, list[float]] = {}
    for label, opener in (("base", backend.as_base), ("finetuned", backend.as_finetuned)):
        with opener() as view:
            for section in sections:
                nll.setdefault(label, []).append(-view.rolling_logprob(section.text).mean)
                yield steps.advance("sections", f"Scored section at line {section.start_line} ({label})")
    drops = [b - f for b, f in zip(nll.get("base", []), nll.get("finetuned", []))]
    for index, section in enumerate(sections):
        others = drops[:index] + drops[index + 1:]
        report.sections.append({
            "section_id": section.section_id, "type": section.section_type, "start_line": section.start_line,
            "adapter": section.adapter, "nll_base": nll["base"][index], "nll_finetuned": nll["finetuned"][index],
            "drop": drops[index],
            "internalization": drops[index] - statistics.fmean(others) if others else None,
        })
