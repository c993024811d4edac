"""Worked example 3 of SPEC-upstream §12 (a two-adapter document with a learned gate), read by the parser,
gate-sample and gate-run tests. Import it into a test module: `from tests.spec_examples import EXAMPLE_3`.
"""

from __future__ import annotations

EXAMPLE_3_BODY = """::instruction#lexer::
### Q
what is a token?
### A
the smallest atom the parser reads.

::instruction#runtime::
### Q
what is a heap block?
### A
a range of contiguously-allocated memory.
"""
EXAMPLE_3_GATE = "    enabled: true\n    hidden_proj_dim: 16\n    steps: 200\n    lr: 0.003\n    cold_start_floor: 1\n"


def example_3(gate_yaml: str) -> str:
    """Example 3 with `gate_yaml` (the indented lines under `gate:`) in place of its gate settings."""
    return (
        "---\ndlm_id: 01KPQ8GATEMTEG000000000000\ndlm_version: 8\nbase_model: smollm2-135m\ntraining:\n"
        f"  adapters:\n    lexer: {{}}\n    runtime: {{}}\n  gate:\n{gate_yaml}---\n{EXAMPLE_3_BODY}"
    )


EXAMPLE_3 = example_3(EXAMPLE_3_GATE)  # as written in the spec
