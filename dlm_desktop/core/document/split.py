"""The deterministic train/validation split.

A row's side depends only on the seed, its section id and its position among the rows of that section
(`sub_index`, counted in row order; the copies made by tag weights count as separate positions). So adding
or removing a section never moves the rows of another section between train and validation. The rule is
upstream's: the row is for validation when the first 8 bytes of `sha256("{seed}\\0{section_id}\\0{sub_index}")`,
read big-endian, are below `int(val_frac * 2**64)`.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

from dlm_desktop.core.document.errors import SplitError

Row = dict[str, Any]
DEFAULT_VAL_FRAC = 0.1


def val_threshold(val_frac: float) -> int:
    """The 64-bit bucket bound below which a row goes to validation. Refuses `val_frac` outside (0, 1)."""
    # Written as a negated range test so that NaN is refused too.
    if not 0.0 < val_frac < 1.0:
        raise SplitError(
            f"the validation fraction must lie strictly between 0 and 1, got {val_frac!r}",
            fix="use a fraction such as 0.1",
        )
    return int(val_frac * (1 << 64))


def row_bucket(seed: int, section_id: str, sub_index: int) -> int:
    """The 64-bit bucket of the `sub_index`-th row of a section."""
    digest = hashlib.sha256(f"{seed}\x00{section_id}\x00{sub_index}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=False)


def split_rows(
    rows: Sequence[Row], *, seed: int, val_frac: float = DEFAULT_VAL_FRAC
) -> tuple[list[Row], list[Row]]:
    """Split rows into (train_rows, val_rows), both in input order. The rows are not modified.

    Every row needs a non-empty string `_dlm_section_id`; a row without one raises `SplitError`.
    """
    threshold = val_threshold(val_frac)
    train: list[Row] = []
    val: list[Row] = []
    seen_per_section: dict[str, int] = {}
    for position, row in enumerate(rows):
        section_id = row.get("_dlm_section_id")
        if not isinstance(section_id, str) or not section_id:
            raise SplitError(
                f"row {position} has no section id (`_dlm_section_id`), so it cannot be placed",
                fix="build rows from sections (every row must carry its section's id)",
            )
        sub_index = seen_per_section.get(section_id, 0)
        seen_per_section[section_id] = sub_index + 1
        (val if row_bucket(seed, section_id, sub_index) < threshold else train).append(row)
    return train, val
