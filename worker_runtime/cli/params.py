"""Click parameter types that check durations, priorities and JSON before Redis is touched."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from worker_runtime.cli.context import InputError
from worker_runtime.durations import parse_ms
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

    def __init__(self, min_ms: int = 0) -> None:
        self.min_ms = min_ms

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            ms = parse_ms(str(value), field=_opt(param))
        except InvalidArgumentError as exc:
            raise InputError(str(exc)) from None
        if ms < self.min_ms:
            raise InputError(f"{_opt(param)}: must be at least {self.min_ms} ms, got {value!r}")
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
