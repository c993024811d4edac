"""Document ids: ULIDs (26 characters of Crockford base32), as the `dlm_id` frontmatter key requires.

A ULID is 128 bits: a 48-bit Unix time in milliseconds followed by 80 random bits, written most significant
bit first as 26 base32 digits (the first digit carries only 3 bits, so it is always 0-7). Ids minted later sort
after ids minted earlier (to the millisecond), which keeps store folders in creation order.
"""

from __future__ import annotations

import re
import secrets
import time

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_LENGTH = 26

_TIME_BITS = 48
_RANDOM_BITS = 80
_ULID_RE = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}\Z")


def encode_ulid(timestamp_ms: int, randomness: int) -> str:
    """Encode a millisecond timestamp (< 2**48) and 80 random bits (< 2**80) as a 26-character ULID."""
    if not 0 <= timestamp_ms < 1 << _TIME_BITS:
        raise ValueError(f"timestamp_ms must fit in 48 bits, got {timestamp_ms}")
    if not 0 <= randomness < 1 << _RANDOM_BITS:
        raise ValueError("randomness must fit in 80 bits")
    number = (timestamp_ms << _RANDOM_BITS) | randomness
    digits = []
    for _ in range(ULID_LENGTH):
        digits.append(CROCKFORD_ALPHABET[number & 0x1F])
        number >>= 5
    return "".join(reversed(digits))


def new_dlm_id() -> str:
    """A fresh ULID for a new document: the current time in milliseconds plus 80 bits from `secrets`."""
    return encode_ulid(time.time_ns() // 1_000_000, secrets.randbits(_RANDOM_BITS))


def is_ulid(value: object) -> bool:
    """True when `value` is 26 upper-case Crockford base32 digits that fit 128 bits (first digit 0-7).

    Stricter than the schema's `dlm_id` check, which accepts any first digit: this tells whether an id could
    have been minted by `new_dlm_id`.
    """
    return isinstance(value, str) and _ULID_RE.match(value) is not None


def ulid_timestamp_ms(ulid: str) -> int:
    """The millisecond timestamp a ULID was minted at (its first 10 digits)."""
    if not is_ulid(ulid):
        raise ValueError(f"not a ULID: {ulid!r}")
    number = 0
    for char in ulid:
        number = (number << 5) | CROCKFORD_ALPHABET.index(char)
    return number >> _RANDOM_BITS
