"""Property: whatever the bytes, the engine either yields a report or raises a typed DocumentError that names a
location and a fix. Never another exception (a crash in the app)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlm_desktop.core.document.errors import DocumentError
from dlm_desktop.core.document.pipeline import analyze_document
from dlm_desktop.core.document.parse import parse_bytes

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"
SEEDS = [p.read_bytes() for p in sorted(EXAMPLES.glob("*.dlm"))]

FRONT_KEYS = [
    "dlm_id: 01HZ4X7TGZM3J1A2B3C4D5E6F7",
    "dlm_version: 3",
    "dlm_version: 16",
    "base_model: smollm2-135m",
    "system_prompt: hi",
    "training: {lora_r: 0}",
    "training: {adapters: {a: {}, b: {lora_r: 4}}, gate: {enabled: true}}",
    "training: {adapters: {}}",
    "training: {sources: [{path: .}]}",
    "training: {sources: [{path: ../../..}], sources_policy: strict}",
    "training: {dpo: {enabled: yes, beta: 0.3}}",
    "export: {default_quant: F16}",
    "weird: 1",
    "? [a, b]\n: c",
    "*anchor",
    "x: !!binary aGVsbG8=",
    "learning_rate: 1e-4",
]
BODY_LINES = [
    "::instruction::", "::instruction#a::", "::instruction#b::", "::preference::", "::prose::", "::prose#a::",
    "::instruction#::", "::Instruction::", "::image::", '::image path="x.png"::', '::audio path="a" transcript="t"::',
    '::instruction path="x"::', "::instruction:: ", "```", "```python", "### Q", "### A", "### Q !probe",
    "### Prompt", "### Chosen", "### Rejected", "### Q inline", "", " ", "plain text", "# heading",
    '<!-- dlm-auto-harvest: source="s" -->',
    '<!-- dlm-auto-synth: synth_teacher="t" synth_strategy="s" synth_at="2026-01-01" source_section_id="0123456789abcdef" -->',
    '<!-- dlm-auto-mined: judge_name="j" judge_score_chosen="1" judge_score_rejected="x" mined_at="no" mined_run_id="0" -->',
    "\u2028", "\x0b", "\x1c", "é ü 中文", "---",
]


def _assert_typed(raw: bytes, tmp: Path) -> None:
    path = tmp / "fuzz.dlm"
    try:
        analyze_document(parse_bytes(raw, path=path))
    except DocumentError as exc:
        assert exc.message and exc.fix, f"error without a message or a fix: {exc!r}"
        assert str(exc).startswith(str(path)), str(exc)


@st.composite
def documents(draw) -> bytes:
    keys = draw(st.lists(st.sampled_from(FRONT_KEYS), max_size=6))
    body = draw(st.lists(st.sampled_from(BODY_LINES) | st.text(max_size=20), max_size=30))
    opener = draw(st.sampled_from(["---", "---", "--- ", ""]))
    closer = draw(st.sampled_from(["---", "---", ""]))
    newline = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    text = newline.join([opener, *keys, closer, *body])
    return text.encode("utf-8", "surrogatepass") if draw(st.booleans()) else text.encode("utf-8", "replace")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=documents())
def test_random_documents_raise_only_typed_errors(raw, tmp_path):
    _assert_typed(raw, tmp_path)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.sampled_from(["set", "insert", "delete"])), max_size=8),
)
def test_byte_mutations_of_real_documents_raise_only_typed_errors(seed, edits, tmp_path):
    data = bytearray(seed)
    for position, value, action in edits:
        position %= max(len(data), 1)
        if action == "set" and data:
            data[position] = value
        elif action == "insert":
            data.insert(position, value)
        elif data:
            del data[position]
    _assert_typed(bytes(data), tmp_path)
