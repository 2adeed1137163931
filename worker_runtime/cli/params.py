"""Click parameter types that check durations, priorities and JSON before Redis is touched."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from worker_runtime.cli.context import InputError
from worker_runtime.durations import format_ms, parse_ms
from worker_runtime.errors import InvalidArgumentError
from worker_runtime.models import parse_priority

if TYPE_CHECKING:  # ParamType is generic in click's stubs only from 8.2 on; not at run time
    _IntType = click.ParamType[int, Any]
    _AnyType = click.ParamType[Any, Any]
else:
    _IntType = _AnyType = click.ParamType


def _opt(param: click.Parameter | None) -> str:
    if param is None:
        return "value"
    return param.opts[0] if param.opts else str(param.name)


class Duration(_IntType):
    """A human duration (``500ms``, ``30s``, ``1h30m``; a bare number is seconds), in ms."""

    name = "duration"

    def __init__(self, min_ms: int = 0, max_ms: int | None = None) -> None:
        self.min_ms = min_ms
        self.max_ms = max_ms

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            ms = parse_ms(str(value), field=_opt(param))
        except InvalidArgumentError as exc:
            raise InputError(str(exc)) from None
        if ms < self.min_ms:
            raise InputError(f"{_opt(param)}: must be at least {self.min_ms} ms, got {value!r}")
        if self.max_ms is not None and ms > self.max_ms:
            raise InputError(
                f"{_opt(param)}: must be at most {format_ms(self.max_ms)}, got {value!r}"
            )
        return ms


class PriorityType(_IntType):
    """A priority name (critical, high, normal, low, bulk) or an integer 0-10."""

    name = "priority"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            return parse_priority(value)
        except InvalidArgumentError as exc:
            raise InputError(f"--{exc}") from None  # the engine says "priority: ..."


class JsonDocument(_AnyType):
    """A JSON document given inline, as ``@path`` to a file, or as ``-`` for stdin."""

    name = "json"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        opt, text = _opt(param), value
        if value == "-":
            text = sys.stdin.read()
        elif value.startswith("@"):
            try:
                text = Path(value[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise InputError(f"{opt}: cannot read {value[1:]!r} ({exc.strerror})") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{opt}: not valid JSON ({exc.msg} at char {exc.pos}); pass a JSON document "
                """like '{"a": 1}', @file.json, or - for stdin"""
            ) from None
        except ValueError as exc:  # an integer of over 4,300 digits
            raise InputError(f"{opt}: not readable JSON ({exc})") from None
        except RecursionError:
            raise InputError(f"{opt}: JSON nested too deeply to read") from None


class Rate(_AnyType):
    """A rate ``N/PERIOD``: ``100/s``, ``600/1m``, ``5/250ms``; as (count, period ms)."""

    name = "rate"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        count, _, period = str(value).partition("/")
        try:
            n = int(count)
            ms = parse_ms(period if period[:1].isdigit() else f"1{period}", field=_opt(param))
        except (ValueError, InvalidArgumentError):
            raise InputError(
                f"{_opt(param)}: {value!r} is not a rate; use e.g. 100/s or 600/1m"
            ) from None
        if n < 1 or ms < 1:
            raise InputError(f"{_opt(param)}: count and period must be positive, got {value!r}")
        return (n, ms)


class Weights(_AnyType):
    """Weights per priority level, ``0:10,1:5,5:2,8:1,10:0.5``."""

    name = "weights"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dict):
            return value
        try:
            pairs = [p.split(":") for p in str(value).split(",") if p]
            out = {int(level): float(w) for level, w in pairs}
        except ValueError:
            raise InputError(
                f"{_opt(param)}: {value!r} is not LEVEL:WEIGHT,...; e.g. 0:10,5:2"
            ) from None
        if any(not 0 <= level <= 10 or w <= 0 for level, w in out.items()):
            raise InputError(f"{_opt(param)}: levels are 0-10 and weights positive, got {value!r}")
        return out


class AgingRules(_AnyType):
    """Aging rules ``FROM:TO:AFTER,...`` (``8:5:30m,5:1:15m``)."""

    name = "rules"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, list):
            return value
        rules = []
        for part in filter(None, str(value).split(",")):
            try:
                src, dst, after = part.split(":")
                rules.append(
                    {
                        "from_priority": int(src),
                        "to_priority": int(dst),
                        "after_ms": parse_ms(after, field=_opt(param)),
                    }
                )
            except (ValueError, InvalidArgumentError):
                raise InputError(
                    f"{_opt(param)}: {part!r} is not FROM:TO:AFTER, e.g. 8:5:30m"
                ) from None
        return rules


class Instant(_AnyType):
    """An ISO 8601 time with its zone (``2026-12-01T10:00:00Z``, ``...+01:00``)."""

    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise InputError(
                f"{_opt(param)}: {value!r} is not an ISO 8601 time; e.g. 2026-12-01T10:00:00Z"
            ) from None
        if moment.tzinfo is None:
            raise InputError(f"{_opt(param)}: {value!r} has no time zone; add Z or +01:00")
        return moment
