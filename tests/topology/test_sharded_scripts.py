"""The Redis Cluster variant of the scripts (``LuaScript.sharded``): sharded pub/sub only,
and a publish the rewrite cannot see is refused when the scripts load."""

from __future__ import annotations

import re

import pytest

from worker_runtime.engine.lua import LuaScriptError, scripts, sharded


def test_every_cluster_script_publishes_on_its_shard_only() -> None:
    published = 0
    for script in scripts().values():
        assert not re.search(r"'(PUBLISH|NUMSUB)'", script.sharded), script.name
        assert script.sharded.count("'SPUBLISH'") == script.source.count("'PUBLISH'")
        published += script.sharded.count("'SPUBLISH'")
    assert published > 10
    assert "'PUBSUB', 'SHARDNUMSUB'" in scripts()["enqueue"].sharded
    assert "'PUBSUB', 'NUMSUB'" in scripts()["enqueue"].source  # a single Redis: unchanged


def test_a_publish_the_rewrite_cannot_see_is_refused() -> None:
    assert sharded("x", "redis.call( 'PUBLISH', c, m)") == "redis.call( 'SPUBLISH', c, m)"
    with pytest.raises(LuaScriptError, match="x: publishes other than"):
        sharded("x", 'redis.call("PUBLISH", c, m)')
    with pytest.raises(LuaScriptError, match="x: publishes other than"):
        sharded("x", "local cmd = 'PUBLISH'; redis.call(cmd, c, m)")
