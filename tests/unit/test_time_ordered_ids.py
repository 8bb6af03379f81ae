"""New row ids are UUIDv7: 32 hex digits, ordered by the millisecond they were made, random after that."""

from __future__ import annotations

import uuid

from engine.ids import new_id


def test_a_new_id_is_a_version_7_uuid_written_as_32_hex_digits() -> None:
    made = new_id()
    assert len(made) == 32
    assert set(made) <= set("0123456789abcdef")
    parsed = uuid.UUID(made)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


def test_ids_made_in_later_milliseconds_sort_after_earlier_ones() -> None:
    earlier = [new_id(at_ms=1_780_000_000_000 + n) for n in range(100)]
    assert earlier == sorted(earlier)
    assert new_id(at_ms=1_780_000_000_000)[:12] == f"{1_780_000_000_000:012x}"


def test_ids_made_in_the_same_millisecond_differ_in_their_random_part() -> None:
    same = {new_id(at_ms=1_780_000_000_000) for _ in range(10_000)}
    assert len(same) == 10_000
