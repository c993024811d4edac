"""Comparing one case: upstream's result against ours, field by field, and our refusal line's shape."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

CORE_FIELDS = ("sections", "rows", "expanded_section_ids", "split", "routing")
EXTRA_FIELDS = ("weights", "weight_distribution", "frontmatter", "dlm_id", "dlm_version", "base_model")
SECTION_KEYS = ("type", "adapter", "start_line", "section_id", "content", "tags")
REFUSAL_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<msg>\S.*)$")


@dataclass
class Verdict:
    identical: bool
    signature: str  # "" when identical
    details: list[str] = field(default_factory=list)
    extra_diffs: list[str] = field(default_factory=list)


def stem(message: str) -> str:
    """A message with paths, quoted parts and numbers blanked out: groups refusals of one kind."""
    text = re.sub(r"(/[^\s:'\"]+)+", "<path>", message)
    text = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "<q>", text)
    text = re.sub(r"\d+(\.\d+)?", "<n>", text)
    return " ".join(text.split()[:8])


def parse_ours(raw: dict[str, Any]) -> tuple[str, Any]:
    """('accept', json) | ('refuse', stderr) | ('crash', text)."""
    if raw.get("crash"):
        return "crash", raw["crash"]
    code = raw["exit_code"]
    if code == 0:
        try:
            return "accept", json.loads(raw["stdout"])
        except json.JSONDecodeError as exc:
            return "crash", f"exit 0 but stdout is not one JSON object: {exc}: {raw['stdout'][:200]!r}"
    if code == 2:
        return "refuse", raw["stderr"]
    return "crash", f"exit {code}: {raw['stderr'][-800:]}"


def refusal_problem(stderr: str, doc: str, cwd: str | None = None) -> str | None:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    if len(lines) != 1:
        return f"refusal prints {len(lines)} stderr lines"
    match = REFUSAL_LINE.match(lines[0])
    if match is None:
        return "refusal line is not path:line[:col]: message"
    path = match.group("path")
    if not (path == doc or os.path.exists(os.path.join(cwd or os.getcwd(), path))):
        return "refusal names a path that does not exist"
    return None


def _section_diff(up: list[dict[str, Any]], ours: list[dict[str, Any]]) -> tuple[str, str]:
    if len(up) != len(ours):
        return "sections:count", f"upstream {len(up)} sections, ours {len(ours)}"
    for i, (a, b) in enumerate(zip(up, ours)):
        keys = [k for k in SECTION_KEYS if a.get(k) != b.get(k)]
        if keys:
            detail = "; ".join(f"{k}: upstream {a.get(k)!r} ours {b.get(k)!r}"[:400] for k in keys)
            return "sections:" + "+".join(keys), f"section {i}: {detail}"
    return "", ""


def _rows_diff(up: list[dict[str, Any]], ours: list[dict[str, Any]]) -> tuple[str, str]:
    if len(up) != len(ours):
        return "rows:count", f"upstream {len(up)} rows, ours {len(ours)}"
    for i, (a, b) in enumerate(zip(up, ours)):
        if a != b:
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            detail = "; ".join(f"{k}: upstream {a.get(k)!r} ours {b.get(k)!r}"[:400] for k in keys)
            return "rows:" + "+".join(keys), f"row {i}: {detail}"
    return "", ""


def _field_diff(name: str, up: Any, ours: Any) -> tuple[str, str]:
    if name == "sections" and isinstance(up, list) and isinstance(ours, list):
        return _section_diff(up, ours)
    if name == "rows" and isinstance(up, list) and isinstance(ours, list):
        return _rows_diff(up, ours)
    if up == ours:
        return "", ""
    if name == "expanded_section_ids" and isinstance(up, list) and isinstance(ours, list):
        kind = "count" if len(up) != len(ours) else "order"
        return f"expanded:{kind}", f"upstream {len(up)} ids, ours {len(ours)}"
    if name == "routing" and (up is None) != (ours is None):
        return "routing:null", f"upstream {up!r:.200} ours {ours!r:.200}"
    return name, f"upstream {json.dumps(up, ensure_ascii=False)[:300]} ours {json.dumps(ours, ensure_ascii=False)[:300]}"


def compare_case(up_raw: dict[str, Any], ours_raw: dict[str, Any], doc: str) -> Verdict:
    status, ours = parse_ours(ours_raw)
    up_ok = up_raw["exit_code"] == 0
    if status == "crash":
        last = str(ours).strip().splitlines()[-1] if str(ours).strip() else "?"
        return Verdict(False, f"ours crashed: {stem(last)}", [str(ours)[-1500:]])
    if up_raw["exit_code"] not in (0, 2):
        return Verdict(False, f"upstream abnormal: {up_raw.get('error')}", [])
    if not up_ok and status == "accept":
        err = up_raw["error"]
        kind = err.split(":")[0]
        return Verdict(False, f"upstream refuses, ours accepts: {kind}: {stem(err[len(kind) + 1:])}", [err])
    if up_ok and status == "refuse":
        return Verdict(False, f"upstream accepts, ours refuses: {stem(after_location(ours))}", [ours.strip()])
    if not up_ok:
        problem = refusal_problem(ours, ours_raw.get("arg", doc), ours_raw.get("cwd"))
        if problem:
            return Verdict(False, f"refusal format: {problem}", [ours.strip()[:1500], up_raw["error"]])
        return Verdict(True, "")
    up = up_raw["result"]
    sigs: list[str] = []
    details: list[str] = []
    for name in CORE_FIELDS:
        if name not in ours:
            sigs.append(f"{name}:missing")
            continue
        sig, detail = _field_diff(name, up.get(name), ours.get(name))
        if sig:
            sigs.append(sig)
            details.append(f"{name}: {detail}")
    extra: list[str] = []
    for name in EXTRA_FIELDS:
        if name not in ours:
            extra.append(f"{name}:missing")
            continue
        sig, detail = _field_diff(name, up.get(name), ours.get(name))
        if sig:
            extra.append(f"{name}: {detail}" if name != "frontmatter" else "frontmatter: " + _dict_diff(
                up.get(name), ours.get(name)))
    return Verdict(not sigs, " + ".join(sigs), details, extra)


def after_location(stderr: str) -> str:
    line = (stderr.strip().splitlines() or [""])[-1]
    match = REFUSAL_LINE.match(line)
    return match.group("msg") if match else line


def _dict_diff(a: Any, b: Any, prefix: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key, "<absent>") != b.get(key, "<absent>"):
                return _dict_diff(a.get(key, "<absent>"), b.get(key, "<absent>"), f"{prefix}.{key}")
        return prefix
    return f"{prefix.lstrip('.')}: upstream {a!r:.120} ours {b!r:.120}"


def same_outcome(cli_raw: dict[str, Any], inproc_raw: dict[str, Any]) -> bool:
    """The CLI run agrees with the in-process run (refusal messages compared after their location; warnings,
    which name paths, left out)."""
    a, b = parse_ours(cli_raw), parse_ours(inproc_raw)
    if a[0] != b[0]:
        return False
    if a[0] == "accept":
        return {k: v for k, v in a[1].items() if k != "warnings"} == {k: v for k, v in b[1].items() if k != "warnings"}
    if a[0] == "refuse":
        return after_location(a[1]) == after_location(b[1])
    return True
