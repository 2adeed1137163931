"""Lua includes generated from Python declarations, so each fact is written once."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from worker_runtime.engine.keys import PREFIX, SUFFIXES
from worker_runtime.models import CONFIG_FIELDS, NUMERIC_CONFIG_FIELDS, StoredConfig

#: Values pasted into Lua source unescaped: no quotes, backslashes or newlines.
_PLAIN = re.compile(r"^[\w.:,-]*$")


def config_defaults() -> dict[str, int | str]:
    """What each unset field of a queue's config hash reads as in Lua: its StoredConfig
    default, as a number for numeric fields, else in the hash's own string form. Fields
    without a default (None) are left out: they read as nil."""
    out: dict[str, int | str] = {}
    for name, stored in StoredConfig().to_redis().items():
        if stored == "":
            continue
        out[name] = int(stored) if name in NUMERIC_CONFIG_FIELDS else stored
    return out


def _lua_value(value: int | str) -> str:
    if isinstance(value, int):
        return str(value)
    if not _PLAIN.match(value):
        raise ValueError(f"config default {value!r} needs Lua escaping")
    return f"'{value}'"


def config_defaults_lua(only: Collection[str] | None = None) -> str:
    """The ``configDefaults`` include: CONFIG_DEFAULTS and CONFIG_NUMBERS for readConfig,
    limited to the fields ``only`` names (Lua builds both tables on every call: the loader
    keeps the fields its script reads, see ``config_fields_used``)."""
    keep = set(CONFIG_FIELDS) if only is None else set(only)
    defaults = ", ".join(
        f"{k} = {_lua_value(v)}" for k, v in config_defaults().items() if k in keep
    )
    numbers = ", ".join(
        f"{k} = true" for k in CONFIG_FIELDS if k in NUMERIC_CONFIG_FIELDS and k in keep
    )
    return (
        "-- Generated from worker_runtime.models.StoredConfig by lua/generated.py.\n"
        f"local CONFIG_DEFAULTS = {{ {defaults} }}\n"
        f"local CONFIG_NUMBERS = {{ {numbers} }}\n"
    )


def config_fields_used(source: str) -> set[str]:
    """The config fields a script may read: those it names as a string literal (the field
    lists of readConfig) or as ``CONFIG_DEFAULTS.<field>``."""
    named = set(re.findall(r"['\"](\w+)['\"]", source))
    named |= set(re.findall(r"\bCONFIG_DEFAULTS\.(\w+)", source))
    return named & set(CONFIG_FIELDS)


def queue_keys_lua() -> str:
    """The ``queueKeys`` include: the data keys of ANOTHER queue by name, laid out as
    ``keys.QueueKeys`` does. Only cross-queue dependencies use it (single Redis only: those
    keys are in another hash slot and not in the script's KEYS)."""
    suffixes = ", ".join(f"'{s}'" for s in SUFFIXES)
    return (
        "-- Generated from worker_runtime.engine.keys by lua/generated.py.\n"
        f"local QUEUE_KEY_SUFFIXES = {{ {suffixes} }}\n"
        "local function queueKeys(queue)\n"
        f"  local K2, tag = {{}}, '{PREFIX}:{{' .. queue .. '}}:'\n"
        "  for _, s in ipairs(QUEUE_KEY_SUFFIXES) do K2[s] = tag .. s end\n"
        "  return K2\n"
        "end\n"
        "-- The queue a key of the calling script belongs to ('brq:{q}:jobs' -> 'q').\n"
        "local function queueOf(key)\n"
        f"  return string.match(key, '^{PREFIX}:{{(.*)}}:[a-z]+$')\n"
        "end\n"
    )


#: Includes with no file: the loader asks for them by name like any other.
GENERATED: dict[str, Callable[[], str]] = {
    "configDefaults": config_defaults_lua,
    "queueKeys": queue_keys_lua,
}
