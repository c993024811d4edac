"""Progress events of the model jobs (resolution, hub download, offline conversion).

The jobs are generators: they yield `ModelProgress` events, check a `should_stop` callable between steps and
return their result. The CLI renders the events as a progress bar, the GUI as a progress widget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

ModelJob = Literal["resolve", "download", "convert"]


@dataclass(frozen=True)
class ModelProgress:
    """One step of a model job.

    `job` says which kind of work runs, `stage` names the step (stable identifiers such as `"download"`,
    `"load-gguf"`, `"save-weights"`), `message` is a sentence for the user. `fraction` is the share of the
    whole job done so far (0..1), or None while a step runs whose progress cannot be measured (show a busy
    indicator then). Downloads fill `bytes_done`/`bytes_total`; `elapsed_s` counts seconds in the step.
    """

    job: ModelJob
    stage: str
    message: str
    fraction: float | None = None
    bytes_done: int = 0
    bytes_total: int = 0
    elapsed_s: float = 0.0


ShouldStop = Callable[[], bool]


def never_stop() -> bool:
    """The default `should_stop`: the job runs to its end."""
    return False
