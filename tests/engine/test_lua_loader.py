"""The Lua loader: key prelude, key checks, includes (dedupe, cycles, unknown), headers."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

import worker_runtime.engine.lua
from worker_runtime import Client
from worker_runtime.engine import writes
from worker_runtime.engine.keys import SCRIPT_KEYS, QueueKeys, ScriptKeys
from worker_runtime.engine.lua import LuaScriptError, build, expand, include_source, scripts
from worker_runtime.engine.operation import Op
from worker_runtime.errors import ConfigError

PAIR = ScriptKeys.of("first second", optional="extra")
PAIR_SCRIPT = """--[[
  pair: test script.

  Keys: K.first  K.second  K.extra (optional)
]]
return { K.first, K.second, K.extra or 'none' }
"""


def includes(files: dict[str, str]) -> Callable[[str], str]:
    def resolve(name: str) -> str:
        if name not in files:
            raise LuaScriptError(f"unknown include {name!r}")
        return files[name]

    return resolve


def test_prelude_binds_keys_by_name_and_absent_optional_keys_to_nil(r: redis.Redis) -> None:
    script = build("pair", PAIR_SCRIPT, PAIR)
    assert script.source.startswith(
        "local K = { first = KEYS[1], second = KEYS[2], extra = KEYS[3] }\n"
    )
    keys = script.key_list({"second": "b", "first": "a"})
    assert keys == ["a", "b"]
    assert r.eval(script.source, len(keys), *keys) == ["a", "b", "none"]
    keys = script.key_list({"extra": "c", "second": "b", "first": "a"})
    assert r.eval(script.source, len(keys), *keys) == ["a", "b", "c"]


@pytest.mark.parametrize(
    "given",
    [
        {"first": "a"},  # a required key missing
        {"first": "a", "second": "b", "third": "c"},  # a key the script does not take
        {"first": "a", "extra": "c"},  # an optional key in place of a required one
    ],
)
def test_callers_must_pass_exactly_the_named_keys(given: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="script pair takes keys first, second"):
        build("pair", PAIR_SCRIPT, PAIR).key_list(given)


def test_optional_keys_may_only_be_left_out_from_the_end() -> None:
    two = ScriptKeys.of("first", optional="x y")
    script = build("two", "--[[ K.first K.x K.y ]]\nreturn 1", two)
    assert script.key_list({"first": "a", "x": "b"}) == ["a", "b"]
    with pytest.raises(ConfigError):
        script.key_list({"first": "a", "y": "c"})


async def test_the_store_refuses_an_op_with_the_wrong_keys(client: Client) -> None:
    keys = dict(QueueKeys.of("q").for_script("progress"))
    del keys["progress"]
    with pytest.raises(ConfigError, match="script progress takes keys lease, progress"):
        await client.store.run(Op(int, "progress", keys, ["id", "1", 5, ""]))


def test_an_include_is_pasted_once_with_its_own_includes_first() -> None:
    resolve = includes(
        {
            "base": "local BASE = 1\n",
            "left": "--@include base\nlocal LEFT = BASE\n",
            "right": "--@include base\nlocal RIGHT = BASE\n",
        }
    )
    text = expand("--@include left\n--@include right\n--@include base\nreturn 1\n", resolve)
    assert text.count("local BASE") == 1
    assert text.index("local BASE") < text.index("local LEFT") < text.index("local RIGHT")


def test_an_include_cycle_is_an_error_naming_it() -> None:
    resolve = includes({"a": "--@include b\n", "b": "--@include c\n", "c": "--@include a\n"})
    with pytest.raises(LuaScriptError, match=re.escape("include cycle: a -> b -> c -> a")):
        expand("--@include a\n", resolve)


def test_an_include_of_itself_is_a_cycle() -> None:
    with pytest.raises(LuaScriptError, match=re.escape("include cycle: a -> a")):
        expand("--@include a\n", includes({"a": "--@include a\n"}))


def test_an_unknown_include_is_an_error() -> None:
    with pytest.raises(LuaScriptError, match="unknown include 'nosuch'"):
        include_source("nosuch")
    with pytest.raises(LuaScriptError, match="unknown include 'nosuch'"):
        build("pair", "--@include nosuch\n" + PAIR_SCRIPT, PAIR)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("return K.first", "header"),
        ("--[[ K.first ]]\nreturn K.first", r"the header documents keys \['first'\]"),
        ("--[[ K.first K.second K.extra K.other ]]\nreturn 1", "the header documents"),
        ("--[[ K.first K.second K.extra ]]\nreturn K.secnd", r"uses keys \['secnd'\]"),
        ("--[[ K.first K.second K.extra ]]\nreturn KEYS[1]", "use K.<name>"),
        ("--[[ K.first K.second K.extra ]]\nlocal K = {}\nreturn 1", "use K.<name>"),
        ("--[[ K.first K.second K.extra ]]\nreturn cfg.lease_mss", "lease_mss"),
    ],
)
def test_a_script_that_disagrees_with_its_key_table_is_refused(text: str, error: str) -> None:
    with pytest.raises(LuaScriptError, match=error):
        build("pair", text, PAIR)


def test_every_script_has_a_key_table_entry_and_loads() -> None:
    loaded = scripts()
    assert set(loaded) == set(SCRIPT_KEYS)
    for name, script in loaded.items():
        assert script.keys == SCRIPT_KEYS[name]
        body = script.source.split("\n", 1)[1]
        assert "KEYS" not in body.replace("SCRIPT_KEYS", ""), name


def test_claim_uses_a_shared_limiter_only_when_the_queue_names_one() -> None:
    plain = writes.claim("q", "w", 1)
    shared = writes.claim("q", "w", 1, limiter="api")
    assert "shared_limiter" not in plain.keys and plain.keys["limiter"] == QueueKeys.of("q").limiter
    assert shared.keys["shared_limiter"] == "brq:limiter:{api}"
    assert shared.keys["limiter"] == "brq:limiter:{api}:log"
    assert len(scripts()["claim"].key_list(plain.keys)) == len(SCRIPT_KEYS["claim"].required)


def _code(source: str) -> str:
    """Lua source without comments and string contents, for scans of names."""
    source = re.sub(r"--\[\[.*?\]\]", "", source, flags=re.DOTALL)
    source = re.sub(r"--[^\n]*", "", source)
    source = re.sub(r"'(?:\\.|[^'\\])*'", "''", source)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', source)


_DEFINITION = re.compile(r"^local (?:function )?(\w+)", re.MULTILINE)


def test_every_helper_a_script_uses_is_pasted_before_its_first_use() -> None:
    """A helper used but not included (or included after its use) is a nil global at run
    time: the script would fail there, possibly after its first write."""
    includes_dir = Path(worker_runtime.engine.lua.__file__).parent / "includes"
    helpers = {
        m.group(1)
        for path in includes_dir.glob("*.lua")
        for m in _DEFINITION.finditer(_code(path.read_text()))
    }
    assert {"readConfig", "toDead", "fmt", "nowMs"} <= helpers
    for verb, script in scripts().items():
        code = _code(script.source)
        for name in sorted(helpers):
            use = re.search(rf"(?<![.\w]){name}\b", code)
            if use is None:
                continue
            defined = re.search(rf"^local (?:function )?{name}\b", code, re.MULTILINE)
            assert defined is not None, f"{verb}.lua uses {name} without its include"
            assert defined.start() <= use.start(), f"{verb}.lua uses {name} before pasting it"


def test_every_config_field_a_script_uses_is_one_it_reads() -> None:
    """``cfg.x`` is nil unless x is in the fields given to readConfig (or FINISH_CONFIG)."""
    finish = re.search(r"FINISH_CONFIG = \{([^}]*)\}", include_source("finishConfig"))
    assert finish is not None
    for verb, script in scripts().items():
        read: set[str] = set()
        for call in re.finditer(r"readConfig\(K\.config, (\{[^}]*\}|FINISH_CONFIG)", script.source):
            fields = finish.group(1) if call.group(1) == "FINISH_CONFIG" else call.group(1)
            read |= set(re.findall(r"'(\w+)'", fields))
        used = set(re.findall(r"\bcfg\.(\w+)", _code(script.source)))
        assert used <= read, f"{verb}.lua uses cfg fields it does not read: {used - read}"
