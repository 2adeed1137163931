"""Loads the Lua scripts, one per state transition, and checks how callers use them.

A script is named ``<verb>-<number of KEYS>.lua``; a line ``--@include NAME`` pastes
``includes/NAME.lua`` in its place (Redis has no module system for scripts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_DIR = Path(__file__).parent
_NAME = re.compile(r"^(?P<verb>[a-z_]+)-(?P<keys>\d+)\.lua$")
_INCLUDE = re.compile(r"^--@include (\w+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class LuaScript:
    name: str
    num_keys: int
    source: str


def _expand(source: str, seen: frozenset[str] = frozenset()) -> str:
    def paste(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in seen:
            return ""
        text = (_DIR / "includes" / f"{name}.lua").read_text()
        return _expand(text, seen | {name})

    return _INCLUDE.sub(paste, source)


@cache
def scripts() -> dict[str, LuaScript]:
    """Every script by verb, with its includes expanded."""
    found: dict[str, LuaScript] = {}
    for path in sorted(_DIR.glob("*.lua")):
        m = _NAME.match(path.name)
        if m is None:
            raise RuntimeError(f"{path.name}: Lua scripts are named <verb>-<number of KEYS>.lua")
        verb = m.group("verb")
        found[verb] = LuaScript(verb, int(m.group("keys")), _expand(path.read_text()))
    return found
