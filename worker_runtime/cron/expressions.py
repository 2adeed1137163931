"""Cron expressions and IANA time zones: validation and fire times in milliseconds, DST-safe."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from worker_runtime.errors import InvalidArgumentError

#: Shorthands croniter expands; every other expression has 5 fields, or 6 with seconds first.
MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_FIELDS = "minute hour day-of-month month day-of-week"


@lru_cache(maxsize=512)
def check_timezone(name: str) -> ZoneInfo:
    """The zone named ``name`` (``UTC``, ``Europe/Berlin``); raises InvalidArgumentError."""
    hint = "use an IANA name such as UTC, Europe/Berlin or America/New_York"
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(f"time zone: {name!r} is empty; {hint}", field="timezone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: a path-like name ("../etc"); OSError: a directory such as "Europe".
        raise InvalidArgumentError(
            f"time zone: {name!r} is not known; {hint}", field="timezone"
        ) from None


def _has_seconds(expr: str) -> bool:
    return len(expr.split()) == 6


@lru_cache(maxsize=512)
def check_cron(expr: str) -> str:
    """``expr`` with its whitespace normalised; raises InvalidArgumentError naming the problem."""
    if not isinstance(expr, str) or not expr.strip():
        raise InvalidArgumentError(
            f"cron: {expr!r} is empty; use e.g. '*/15 * * * *'", field="cron"
        )
    text = " ".join(expr.split())
    if text.startswith("@"):
        if text.lower() not in MACROS:
            raise InvalidArgumentError(
                f"cron: {expr!r} is not one of {', '.join(MACROS)}", field="cron"
            )
        text = text.lower()
    elif len(text.split()) not in (5, 6):
        raise InvalidArgumentError(
            f"cron: {expr!r} has {len(text.split())} fields; use 5 ({_FIELDS}) "
            "or 6 with a leading seconds field",
            field="cron",
        )
    try:
        # A valid expression may still never match (30 February): look for one fire time.
        _croniter(text, ZoneInfo("UTC"), 0).get_next(datetime)
    except CroniterError as exc:
        raise InvalidArgumentError(
            f"cron: {expr!r} is not a valid expression ({exc})", field="cron"
        ) from None
    return text


def _croniter(expr: str, zone: ZoneInfo, after_ms: int) -> croniter:
    start = datetime.fromtimestamp(after_ms / 1000, zone)
    return croniter(expr, start, second_at_beginning=_has_seconds(expr))


def _fixed_hour(expr: str) -> bool:
    if expr.startswith("@"):
        return expr != "@hourly"
    fields = expr.split()
    return not fields[2 if len(fields) == 6 else 1].startswith("*")


def _repeated_wall_time(moment: datetime, zone: ZoneInfo) -> bool:
    """True for the second occurrence of a wall-clock time when clocks fall back."""
    naive = moment.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0).utcoffset()
    second = naive.replace(tzinfo=zone, fold=1).utcoffset()
    return first != second and moment.utcoffset() == second


def iter_fire_times(expr: str, zone: ZoneInfo, after_ms: int) -> Iterator[int]:
    """Fire times strictly after ``after_ms``, ascending, in ms.

    DST follows Vixie cron: a time skipped when clocks spring forward fires at the first
    instant after the gap (croniter does this), and a schedule with a fixed hour fires
    once, not twice, in the hour repeated when clocks fall back; schedules whose hour is
    a wildcard or a step (``*``, ``*/2``) keep firing at real intervals through both.
    """
    fixed = _fixed_hour(expr)
    it = _croniter(expr, zone, after_ms)
    last = after_ms
    while True:
        moment: datetime = it.get_next(datetime)
        ms = round(moment.timestamp() * 1000)
        if ms <= last or (fixed and _repeated_wall_time(moment, zone)):
            continue
        last = ms
        yield ms


def next_fire_ms(expr: str, tz: str, after_ms: int) -> int:
    """The first fire time strictly after ``after_ms`` (Unix ms) in time zone ``tz``."""
    return next(iter_fire_times(check_cron(expr), check_timezone(tz), after_ms))


def fire_times(expr: str, tz: str, after_ms: int, until_ms: int, limit: int) -> list[int]:
    """Fire times in ``(after_ms, until_ms]``, ascending, at most ``limit`` of them."""
    out: list[int] = []
    if limit <= 0 or until_ms <= after_ms:
        return out
    for ms in iter_fire_times(check_cron(expr), check_timezone(tz), after_ms):
        if ms > until_ms:
            break
        out.append(ms)
        if len(out) >= limit:
            break
    return out
