"""Provenance marker comments at the top of instruction and preference sections.

Tools that write sections back into a document (harvest, preference mining, instruction synthesis) mark them with
an HTML comment on the first content line. Markers are metadata: they are lifted out of the content before the
section id is computed, so a marked section has the id of the same hand-written section. Several may stack.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from dlm_desktop.core.document.errors import FenceError
from dlm_desktop.core.document.sections import SectionType

_HARVEST = re.compile(r'<!-- dlm-auto-harvest: source="([^"]*)" -->')
_MINED = re.compile(r"<!-- dlm-auto-mined:(.*) -->")
_SYNTH = re.compile(r"<!-- dlm-auto-synth:(.*) -->")
_ATTRIBUTE_RUN = re.compile(r'(?:\s+[a-z][a-z0-9_]*="[^"\n]*")+')
_ATTRIBUTE_PAIR = re.compile(r'([a-z][a-z0-9_]*)="([^"\n]*)"')
_MINED_KEYS = frozenset({"judge_name", "judge_score_chosen", "judge_score_rejected", "mined_at", "mined_run_id"})
_SYNTH_KEYS = frozenset({"synth_teacher", "synth_strategy", "synth_at", "source_section_id"})
_HEX16 = re.compile(r"[0-9a-f]{16}")


def lift_markers(
    lines: list[str], kind: SectionType, *, line: int, path: Path | None
) -> tuple[list[str], Mapping[str, object]]:
    """Remove leading marker lines; return the remaining lines and the collected marker fields."""
    found: dict[str, object] = {}
    index = 0
    while index < len(lines):
        first = lines[index]
        match = _HARVEST.fullmatch(first)
        if match:
            found.update(auto_harvest=True, harvest_source=match.group(1))
        elif kind is SectionType.PREFERENCE and (match := _MINED.fullmatch(first)):
            found.update(_mined_fields(match.group(1), line=line, path=path))
        elif kind is SectionType.INSTRUCTION and (match := _SYNTH.fullmatch(first)):
            found.update(_synth_fields(match.group(1), line=line, path=path))
        else:
            break
        index += 1
    return lines[index:], MappingProxyType(found)


def _attributes(blob: str, allowed: frozenset[str], marker: str, *, line: int, path: Path | None) -> dict[str, str]:
    def fail(message: str) -> FenceError:
        return FenceError(
            f"dlm-auto-{marker} marker {message}",
            path=path,
            line=line,
            col=1,
            fix=f"remove the marker line, or give it exactly: {', '.join(sorted(allowed))}",
        )

    if not _ATTRIBUTE_RUN.fullmatch(blob):
        raise fail("is malformed")
    attributes: dict[str, str] = {}
    for pair in _ATTRIBUTE_PAIR.finditer(blob):
        key, value = pair.group(1), pair.group(2)
        if key in attributes:
            raise fail(f"repeats {key!r}")
        if key not in allowed:
            raise fail(f"has unknown attribute {key!r}")
        attributes[key] = value
    missing = sorted(allowed - attributes.keys())
    if missing:
        raise fail(f"is missing {', '.join(missing)}")
    return attributes


def _is_iso_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _mined_fields(blob: str, *, line: int, path: Path | None) -> dict[str, object]:
    values = _attributes(blob, _MINED_KEYS, "mined", line=line, path=path)

    def fail(message: str) -> FenceError:
        return FenceError(f"dlm-auto-mined marker: {message}", path=path, line=line, col=1, fix="correct the value")

    try:
        chosen, rejected = float(values["judge_score_chosen"]), float(values["judge_score_rejected"])
    except ValueError:
        raise fail("judge scores must be numbers") from None
    if not (math.isfinite(chosen) and math.isfinite(rejected)):
        raise fail("judge scores must be finite")
    if not _is_iso_timestamp(values["mined_at"]):
        raise fail("mined_at must be an ISO-8601 timestamp")
    try:
        run_id = int(values["mined_run_id"])
    except ValueError:
        raise fail("mined_run_id must be a whole number") from None
    if run_id < 1:
        raise fail("mined_run_id must be 1 or more")
    return {
        "auto_mined": True,
        "judge_name": values["judge_name"],
        "judge_score_chosen": chosen,
        "judge_score_rejected": rejected,
        "mined_at": values["mined_at"],
        "mined_run_id": run_id,
    }


def _synth_fields(blob: str, *, line: int, path: Path | None) -> dict[str, object]:
    values = _attributes(blob, _SYNTH_KEYS, "synth", line=line, path=path)

    def fail(message: str) -> FenceError:
        return FenceError(f"dlm-auto-synth marker: {message}", path=path, line=line, col=1, fix="correct the value")

    if not _is_iso_timestamp(values["synth_at"]):
        raise fail("synth_at must be an ISO-8601 timestamp")
    if not _HEX16.fullmatch(values["source_section_id"]):
        raise fail("source_section_id must be 16 lowercase hex characters")
    if not values["synth_teacher"]:
        raise fail("synth_teacher must not be empty")
    if not values["synth_strategy"]:
        raise fail("synth_strategy must not be empty")
    return {"auto_synth": True, **values}
