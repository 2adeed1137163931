"""Loads the Lua scripts, one per state transition, and checks them and their callers.

A script ``<verb>.lua`` takes the keys that ``keys.SCRIPT_KEYS[verb]`` names. The loader
opens it with ``local K = {pending = KEYS[1], ...}``, so the script says ``K.pending``,
never ``KEYS[n]``; its header documents every key by name (checked here). A line
``--@include NAME`` pastes ``includes/NAME.lua`` (one function each, which may include
others) in its place, once per script; ``configDefaults`` is generated (see
``generated``), with only the fields its script names. Redis has no module system for scripts.
Each script also has a variant for Redis Cluster (``LuaScript.sharded``) that publishes
with sharded pub/sub.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from worker_runtime.engine.keys import SCRIPT_KEYS, ScriptKeys
from worker_runtime.engine.lua.generated import (
    GENERATED,
    config_defaults_lua,
    config_fields_used,
)
from worker_runtime.errors import ConfigError
from worker_runtime.models import CONFIG_FIELDS

_DIR = Path(__file__).parent
_NAME = re.compile(r"^[a-z_]+$")
_INCLUDE = re.compile(r"^--@include (\w+)\s*$", re.MULTILINE)
_HEADER = re.compile(r"\A\s*--\[\[(.*?)\]\]", re.DOTALL)
_KEY_USE = re.compile(r"\bK\.([A-Za-z_]\w*)")
_CONFIG_USE = re.compile(r"\bcfg\.([A-Za-z_]\w*)")
_PUBLISH = re.compile(r"(redis\.p?call\(\s*)'PUBLISH'")
_NUMSUB = re.compile(r"'PUBSUB'(\s*,\s*)'NUMSUB'")
_UNSHARDED = re.compile(r"""["'](?:PUBLISH|NUMSUB)["']""", re.IGNORECASE)


class LuaScriptError(RuntimeError):
    """A Lua script or include is malformed, or disagrees with keys.SCRIPT_KEYS."""


@dataclass(frozen=True)
class LuaScript:
    name: str
    keys: ScriptKeys
    #: What Redis runs: the K prelude, then the script with its includes pasted.
    source: str
    #: ``source`` for a Redis Cluster: SPUBLISH and PUBSUB SHARDNUMSUB (``sharded``).
    sharded: str

    def key_list(self, given: Mapping[str, str]) -> list[str]:
        """KEYS for a call: ``given`` (keys by name) in the script's order; exactly the
        required names plus, optionally, a leading run of the optional ones."""
        out = [given[n] for n in self.keys.required if n in given]
        complete = len(out) == len(self.keys.required)
        for n in self.keys.optional:
            if n not in given:
                break
            out.append(given[n])
        if not complete or len(out) != len(given):
            raise ConfigError(
                f"script {self.name} takes keys {', '.join(self.keys.required)}"
                + (f" [{', '.join(self.keys.optional)}]" if self.keys.optional else "")
                + f"; got {', '.join(given)}"
            )
        return out


def include_source(name: str) -> str:
    """The text of one include, generated or from includes/NAME.lua."""
    if name in GENERATED:
        return GENERATED[name]()
    path = _DIR / "includes" / f"{name}.lua"
    if not path.is_file():
        raise LuaScriptError(f"unknown include {name!r}: no includes/{name}.lua")
    return path.read_text()


def expand(text: str, resolve: Callable[[str], str] = include_source) -> str:
    """``text`` with every ``--@include`` replaced by that include (its own includes
    first), each at most once; a cycle is an error that names it."""
    seen: set[str] = set()

    def paste(stack: tuple[str, ...]) -> Callable[[re.Match[str]], str]:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in stack:
                cycle = " -> ".join((*stack[stack.index(name) :], name))
                raise LuaScriptError(f"include cycle: {cycle}")
            if name in seen:
                return ""
            seen.add(name)
            return _INCLUDE.sub(paste((*stack, name)), resolve(name))

        return one

    return _INCLUDE.sub(paste(()), text)


def prelude(keys: ScriptKeys) -> str:
    """Binds the script's keys by name; absent optional keys are nil."""
    pairs = ", ".join(f"{n} = KEYS[{i}]" for i, n in enumerate(keys.names, start=1))
    return f"local K = {{ {pairs} }}\n"


def sharded(name: str, source: str) -> str:
    """``source`` publishing with sharded pub/sub: on a cluster a PUBLISH is broadcast to
    every node, while SPUBLISH stays on the channel's slot (``brq:{q}:*``, the script's
    own) and reaches the subscribers of that slot's master; the listeners count is then
    PUBSUB SHARDNUMSUB. A PUBLISH this rewrite cannot see is an error, not a silent
    broadcast."""
    out = _NUMSUB.sub(r"'PUBSUB'\1'SHARDNUMSUB'", _PUBLISH.sub(r"\1'SPUBLISH'", source))
    if _UNSHARDED.search(out):
        raise LuaScriptError(
            f"{name}: publishes other than by redis.call('PUBLISH', ...) or asks NUMSUB other "
            "than by redis.call('PUBSUB', 'NUMSUB', ...): the Redis Cluster variant would "
            "not shard it"
        )
    return out


def _check(name: str, text: str, expanded: str, keys: ScriptKeys) -> None:
    header = _HEADER.match(text)
    if header is None:
        raise LuaScriptError(f"{name}: opens with a --[[ header ]] documenting its keys")
    documented = set(_KEY_USE.findall(header.group(1)))
    if documented != set(keys.names):
        raise LuaScriptError(
            f"{name}: the header documents keys {sorted(documented)}, "
            f"keys.SCRIPT_KEYS says {sorted(keys.names)}"
        )
    unknown = set(_KEY_USE.findall(text[header.end() :])) - set(keys.names)
    if unknown:
        raise LuaScriptError(f"{name}: uses keys {sorted(unknown)} not in keys.SCRIPT_KEYS")
    if "KEYS[" in expanded or re.search(r"\blocal\s+K\b", expanded):
        raise LuaScriptError(f"{name}: use K.<name>; the loader binds KEYS")
    fields = set(_CONFIG_USE.findall(expanded)) - set(CONFIG_FIELDS)
    if fields:
        raise LuaScriptError(f"{name}: reads config fields {sorted(fields)} not in StoredConfig")


def build(
    name: str, text: str, keys: ScriptKeys, resolve: Callable[[str], str] = include_source
) -> LuaScript:
    """One script, checked, with its prelude and includes."""
    expanded = expand(text, resolve)
    _check(name, text, expanded, keys)
    every = config_defaults_lua()
    if every in expanded:
        expanded = expanded.replace(every, config_defaults_lua(config_fields_used(expanded)))
    source = prelude(keys) + expanded
    return LuaScript(name, keys, source, sharded(name, source))


@cache
def scripts() -> dict[str, LuaScript]:
    """Every script by verb."""
    found: dict[str, LuaScript] = {}
    for path in sorted(_DIR.glob("*.lua")):
        verb = path.name.removesuffix(".lua")
        if not _NAME.match(verb):
            raise LuaScriptError(f"{path.name}: Lua scripts are named <verb>.lua")
        if verb not in SCRIPT_KEYS:
            raise LuaScriptError(f"{path.name}: no entry in keys.SCRIPT_KEYS")
        found[verb] = build(verb, path.read_text(), SCRIPT_KEYS[verb])
    missing = set(SCRIPT_KEYS) - set(found)
    if missing:
        raise LuaScriptError(f"keys.SCRIPT_KEYS names scripts with no file: {sorted(missing)}")
    return found
