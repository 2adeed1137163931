"""Every command a Lua script calls is granted to every role: Redis checks a script's calls
against the caller's ACL, so a command missing here fails only under least privilege."""

from __future__ import annotations

import re
from pathlib import Path

from worker_runtime.engine import acl
from worker_runtime.engine.lua import scripts

LUA = Path(acl.__file__).parent / "lua"
#: redis.call('CMD'[, 'SUB']): a subcommand only where the ACL names it (PUBSUB NUMSUB).
CALL = re.compile(r"redis\.p?call\(\s*'([A-Za-z]+)'(?:\s*,\s*'([A-Za-z]+)')?")
WITH_SUBCOMMAND = {"pubsub", "script", "client", "config", "cluster"}


def called_commands() -> set[str]:
    """What the scripts call, as a single Redis and as a Redis Cluster runs them."""
    found: set[str] = set()
    texts = [path.read_text() for path in LUA.rglob("*.lua")]
    texts += [s.sharded for s in scripts().values()]
    for text in texts:
        for cmd, sub in CALL.findall(text):
            name = cmd.lower()
            found.add(f"{name}|{sub.lower()}" if name in WITH_SUBCOMMAND and sub else name)
    return found


def test_every_command_the_scripts_call_is_granted() -> None:
    called = called_commands()
    assert "zadd" in called and "pubsub|numsub" in called  # the scan sees the scripts
    assert "spublish" in called and "pubsub|shardnumsub" in called  # and their cluster variant
    assert called - set(acl.SCRIPT_COMMANDS) == set()


def test_no_role_gets_a_command_no_script_or_client_sends() -> None:
    assert set(acl.SCRIPT_COMMANDS) - called_commands() == set()
