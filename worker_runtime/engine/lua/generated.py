"""Lua includes generated from Python declarations, so each fact is written once."""

from __future__ import annotations

import re
from collections.abc import Callable

from worker_runtime.models import QueueConfig

#: Values pasted into Lua source unescaped: no quotes, backslashes or newlines.
_PLAIN = re.compile(r"^[\w.:,-]*$")


def _numeric_fields() -> list[str]:
    return [
        name
        for name, info in QueueConfig.model_fields.items()
        if info.annotation in (int, int | None)
    ]


def config_defaults() -> dict[str, int | str]:
    """What each unset field of a queue's config hash reads as in Lua: its QueueConfig
    default, as a number for numeric fields, else in the hash's own string form. Fields
    without a default (None) are left out: they read as nil."""
    numeric = set(_numeric_fields())
    defaults = QueueConfig()
    out: dict[str, int | str] = {}
    for name, stored in defaults.to_redis().items():
        if stored == "":
            continue
        out[name] = int(stored) if name in numeric else stored
    return out


def _lua_value(value: int | str) -> str:
    if isinstance(value, int):
        return str(value)
    if not _PLAIN.match(value):
        raise ValueError(f"config default {value!r} needs Lua escaping")
    return f"'{value}'"


def config_defaults_lua() -> str:
    """The ``configDefaults`` include: CONFIG_DEFAULTS and CONFIG_NUMBERS for readConfig."""
    defaults = ", ".join(f"{k} = {_lua_value(v)}" for k, v in config_defaults().items())
    numbers = ", ".join(f"{k} = true" for k in _numeric_fields())
    return (
        "-- Generated from worker_runtime.models.QueueConfig by lua/generated.py.\n"
        f"local CONFIG_DEFAULTS = {{ {defaults} }}\n"
        f"local CONFIG_NUMBERS = {{ {numbers} }}\n"
    )


#: Includes with no file: the loader asks for them by name like any other.
GENERATED: dict[str, Callable[[], str]] = {"configDefaults": config_defaults_lua}
