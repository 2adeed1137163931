"""cron.py: validation errors, next fire times, and DST transitions (pure, no Redis)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from worker_runtime.cron import expressions as cron
from worker_runtime.errors import InvalidArgumentError


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


def utc(ms_: int) -> str:
    return datetime.fromtimestamp(ms_ / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    ("expr", "needle"),
    [
        ("", "empty"),
        ("* * * *", "has 4 fields"),
        ("* * * * * * *", "has 7 fields"),
        ("61 * * * *", "not a valid expression"),
        ("*/0 * * * *", "not a valid expression"),
        ("0 0 30 2 *", "not a valid expression"),  # 30 February never comes
        ("H * * * *", "not a valid expression"),
        ("@fortnightly", "is not one of"),
    ],
)
def test_bad_expressions_name_the_field(expr: str, needle: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^cron: ") as info:
        cron.check_cron(expr)
    assert needle in str(info.value)


@pytest.mark.parametrize("name", ["", "Mars/Olympus_Mons", "../etc/passwd", "Europe", "utc+2"])
def test_bad_time_zones_name_the_field(name: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^time zone: "):
        cron.check_timezone(name)


def test_valid_expressions_are_normalised() -> None:
    assert cron.check_cron("  */15   *  * * * ") == "*/15 * * * *"
    assert cron.check_cron("@Hourly") == "@hourly"
    assert cron.check_cron("*/10 * * * * *") == "*/10 * * * * *"


def test_next_fire_is_strictly_after() -> None:
    at = ms(2026, 1, 1, 10, 0)
    assert cron.next_fire_ms("*/15 * * * *", "UTC", at) == ms(2026, 1, 1, 10, 15)
    assert cron.next_fire_ms("*/15 * * * *", "UTC", at - 1) == at
    assert cron.next_fire_ms("*/10 * * * * *", "UTC", at + 500) == at + 10_000
    assert cron.next_fire_ms("0 9 * * 1-5", "Europe/Berlin", at) == ms(2026, 1, 2, 8, 0)
    assert cron.next_fire_ms("@daily", "America/New_York", at) == ms(2026, 1, 2, 5, 0)


def test_fire_times_window_and_limit() -> None:
    at = ms(2026, 1, 1, 10, 0)
    assert cron.fire_times("* * * * *", "UTC", at, at + 180_000, 10) == [
        at + 60_000,
        at + 120_000,
        at + 180_000,
    ]
    assert len(cron.fire_times("* * * * * *", "UTC", at, at + 3_600_000, 100)) == 100
    assert cron.fire_times("* * * * *", "UTC", at, at, 10) == []


def day_ticks(expr: str, tz: str, day_start_utc: int, hours: int = 26) -> list[str]:
    ticks = cron.fire_times(expr, tz, day_start_utc - 1, day_start_utc + hours * 3_600_000, 500)
    return [utc(t) for t in ticks]


def test_berlin_spring_forward() -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST; the hour 02:xx does not exist.
    start = ms(2026, 3, 28, 23, 0)  # local midnight (CET, UTC+1)
    hourly = day_ticks("0 * * * *", "Europe/Berlin", start, 23)
    assert len(hourly) == 24  # 23 local hours in that day, plus the next midnight
    assert hourly[:4] == [
        "2026-03-28 23:00:00", "2026-03-29 00:00:00", "2026-03-29 01:00:00",
        "2026-03-29 02:00:00",
    ]  # fmt: skip  # local 00:00, 01:00 CET, then 03:00 and 04:00 CEST
    # A daily job inside the missing hour runs once, at the first instant after the gap.
    assert day_ticks("30 2 * * *", "Europe/Berlin", start, 24) == ["2026-03-29 01:00:00"]
    assert day_ticks("30 2 * * *", "Europe/Berlin", start, 48) == [
        "2026-03-29 01:00:00",
        "2026-03-30 00:30:00",
    ]


def test_berlin_fall_back() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET; the hour 02:xx happens twice.
    start = ms(2026, 10, 24, 22, 0)  # local midnight (CEST, UTC+2)
    hourly = day_ticks("0 * * * *", "Europe/Berlin", start, 25)
    assert len(hourly) == 26  # 25 real hours, each fires, plus the next midnight
    assert "2026-10-25 00:00:00" in hourly and "2026-10-25 01:00:00" in hourly  # 02:00 twice
    half = day_ticks("*/30 * * * *", "Europe/Berlin", start, 25)
    gaps = {b - a for a, b in itertools.pairwise(_ms(half))}
    assert gaps == {1_800_000}  # every 30 real minutes, straight through the repeat
    # A daily job in the repeated hour runs once, not twice.
    assert day_ticks("30 2 * * *", "Europe/Berlin", start, 25) == ["2026-10-25 00:30:00"]
    assert day_ticks("30 2 * * *", "Europe/Berlin", start, 49) == [
        "2026-10-25 00:30:00",
        "2026-10-26 01:30:00",
    ]


def test_new_york_transitions() -> None:
    spring = ms(2026, 3, 8, 5, 0)  # local midnight EST (UTC-5); 02:00 becomes 03:00
    assert len(day_ticks("0 * * * *", "America/New_York", spring, 23)) == 24
    assert day_ticks("30 2 * * *", "America/New_York", spring, 24) == ["2026-03-08 07:00:00"]
    fall = ms(2026, 11, 1, 4, 0)  # local midnight EDT (UTC-4); 02:00 becomes 01:00
    assert len(day_ticks("0 * * * *", "America/New_York", fall, 25)) == 26
    assert day_ticks("30 1 * * *", "America/New_York", fall, 25) == ["2026-11-01 05:30:00"]
    # With seconds: every 10 s through the repeated hour, no gap and no repeat.
    ticks = cron.fire_times(
        "*/10 * * * * *", "America/New_York", fall + 3_600_000 - 1, fall + 3 * 3_600_000, 10_000
    )
    assert len(ticks) == len(set(ticks)) == 2 * 360 + 1
    assert {b - a for a, b in itertools.pairwise(ticks)} == {10_000}


def _ms(texts: list[str]) -> list[int]:
    return [int(datetime.fromisoformat(t).replace(tzinfo=UTC).timestamp() * 1000) for t in texts]
