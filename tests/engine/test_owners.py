"""ownerreplace.lua, ownerrelease.lua and the claim op: which JobQueue manages a queue."""

from __future__ import annotations

import redis

from worker_runtime import Client
from worker_runtime.engine import owners
from worker_runtime.engine.keys import OPERATOR_CLAIMS


async def test_the_first_claim_wins_and_later_ones_learn_the_holder(
    client: Client, r: redis.Redis
) -> None:
    assert await client.store.run(owners.claim("q", "ns/a/1")) == "ns/a/1"
    assert await client.store.run(owners.claim("q", "ns/b/2")) == "ns/a/1"
    assert r.hgetall(OPERATOR_CLAIMS) == {"q": "ns/a/1"}


async def test_replace_takes_over_from_the_stale_holder_only(
    client: Client, r: redis.Redis
) -> None:
    await client.store.run(owners.claim("q", "ns/a/1"))
    assert not await client.store.run(owners.replace("q", "ns/x/9", "ns/b/2"))  # not the holder
    assert r.hget(OPERATOR_CLAIMS, "q") == "ns/a/1"
    assert await client.store.run(owners.replace("q", "ns/a/1", "ns/b/2"))
    assert r.hget(OPERATOR_CLAIMS, "q") == "ns/b/2"
    assert await client.store.run(owners.replace("free", "ns/a/1", "ns/b/2"))  # unclaimed
    assert r.hget(OPERATOR_CLAIMS, "free") == "ns/b/2"


async def test_release_removes_only_the_holders_claim(client: Client, r: redis.Redis) -> None:
    await client.store.run(owners.claim("q", "ns/a/1"))
    assert not await client.store.run(owners.release("q", "ns/b/2"))
    assert r.hget(OPERATOR_CLAIMS, "q") == "ns/a/1"
    assert await client.store.run(owners.release("q", "ns/a/1"))
    assert r.hgetall(OPERATOR_CLAIMS) == {}
