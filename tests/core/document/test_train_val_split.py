"""The deterministic train/validation split (SPEC-upstream §3.6 and §11 item 8)."""

from __future__ import annotations

import hashlib
import math

import pytest

from dlm_desktop.core.document.errors import SplitError
from dlm_desktop.core.document.split import row_bucket, split_rows


def rows_of(section_id: str, count: int) -> list[dict]:
    return [{"text": f"{section_id}-{i}", "_dlm_section_id": section_id} for i in range(count)]


def texts(rows: list[dict]) -> list[str]:
    return [row["text"] for row in rows]


def test_same_seed_same_split() -> None:
    rows = rows_of("aaaa", 30) + rows_of("bbbb", 30)
    first = split_rows(rows, seed=42, val_frac=0.2)
    second = split_rows(rows, seed=42, val_frac=0.2)
    assert (texts(first[0]), texts(first[1])) == (texts(second[0]), texts(second[1]))
    assert len(first[0]) + len(first[1]) == 60


def test_adding_a_section_does_not_move_existing_rows() -> None:
    base = rows_of("s1", 20) + rows_of("s2", 20)
    _, val_before = split_rows(base, seed=3, val_frac=0.3)
    _, val_after = split_rows(rows_of("new", 25) + base + rows_of("s3", 5), seed=3, val_frac=0.3)
    assert [t for t in texts(val_after) if not t.startswith(("new", "s3"))] == texts(val_before)


def test_rows_of_one_section_spread_over_both_sides() -> None:
    train, val = split_rows(rows_of("only", 50), seed=42, val_frac=0.1)
    assert train and val


def test_the_bucket_rule() -> None:
    expected = int.from_bytes(hashlib.sha256(b"42\x00abc\x003").digest()[:8], "big")
    assert row_bucket(42, "abc", 3) == expected
    rows = rows_of("abc", 4)
    train, val = split_rows(rows, seed=42, val_frac=0.5)
    assert texts(val) == [r["text"] for i, r in enumerate(rows) if row_bucket(42, "abc", i) < 2**63]


def test_copies_of_a_row_are_placed_independently() -> None:
    row = {"text": "x", "_dlm_section_id": "dup"}
    train, val = split_rows([row] * 40, seed=1, val_frac=0.5)
    assert train and val and all(r is row for r in train + val)


@pytest.mark.parametrize("val_frac", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_val_frac_must_lie_strictly_inside_zero_one(val_frac: float) -> None:
    with pytest.raises(SplitError) as info:
        split_rows(rows_of("a", 2), seed=0, val_frac=val_frac)
    assert info.value.fix


@pytest.mark.parametrize("bad", [{}, {"_dlm_section_id": ""}, {"_dlm_section_id": 5}, {"_dlm_section_id": None}])
def test_rows_need_a_section_id(bad: dict) -> None:
    with pytest.raises(SplitError) as info:
        split_rows(rows_of("ok", 1) + [{"text": "t", **bad}], seed=0)
    assert "row 1" in info.value.message
