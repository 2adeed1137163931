"""Whole-keyspace checks of the engine's invariants, read straight from Redis."""

from __future__ import annotations

import json
from typing import cast

import redis

from worker_runtime.engine.keys import STATE_SETS, QueueKeys


def states_of(r: redis.Redis, queue: str) -> dict[str, str]:
    """Every job id of ``queue`` mapped to its one state; fails if a job has two or none."""
    k = QueueKeys.of(queue)
    owner: dict[str, str] = {}
    for state in STATE_SETS:
        for job_id in cast(list[str], r.zrange(k.state_set(state), 0, -1)):
            assert job_id not in owner, f"{job_id} is both {owner[job_id]} and {state}"
            owner[job_id] = state
    records = set(r.hkeys(k.jobs))
    assert records == set(owner), (
        f"jobs without a state: {records - set(owner)}, "
        f"states without a job: {set(owner) - records}"
    )
    return owner


def check_queue(r: redis.Redis, queue: str) -> dict[str, str]:
    """Asserts every invariant of one queue; returns the states."""
    k = QueueKeys.of(queue)
    owner = states_of(r, queue)
    running = {i for i, s in owner.items() if s == "running"}
    leases = set(r.hkeys(k.lease))
    assert leases == running, f"running without lease {running - leases}; stray {leases - running}"
    delayed = {i for i, s in owner.items() if s == "delayed"}
    assert set(r.hkeys(k.dprio)) == delayed
    pending = {i for i, s in owner.items() if s == "pending"}
    assert set(r.hkeys(k.since)) <= pending, "a job that is not pending has a pending-since"
    unfinished = {i for i, s in owner.items() if s in ("pending", "delayed", "running", "waiting")}
    for key, holder in cast(dict[str, str], r.hgetall(k.dedupe)).items():
        assert holder in unfinished, f"dedupe key {key} held by finished job {holder}"
    assert set(r.smembers(k.cancelreq)) <= running
    keys_of_running = cast(dict[str, str], r.hgetall(k.rkey))
    assert set(keys_of_running) <= running, "a finished job still holds a rate_key slot"
    counts: dict[str, int] = {}
    for rk in keys_of_running.values():
        counts[rk] = counts.get(rk, 0) + 1
    assert {rk: int(n) for rk, n in r.hgetall(k.keyrun).items()} == counts
    check_dependencies(r, k, owner)
    assert set(r.hkeys(k.att)) <= unfinished, "a finished job still has an attempt count"
    for key in (k.hist, k.result, k.reason, k.progress):
        assert set(r.hkeys(key)) <= set(owner), f"{key} holds data of a deleted job"
    check_uses(r, k)
    return owner


#: Each letter of the config's ~uses field (lua/includes/uses.lua) and the state it covers.
USES_STATE = {
    "d": ("dk", "dedupe"),
    "c": ("cancelreq",),
    "k": ("rkey",),
    "w": ("deps", "dependants", "waiting"),
    "r": ("result",),
    "s": ("since",),
    "a": ("att",),
    "p": ("progress",),
}


def check_uses(r: redis.Redis, k: QueueKeys) -> None:
    """State whose letter ~uses lacks does not exist (the scripts skip commands for it)."""
    uses = r.hget(k.config, "~uses")
    if uses is None:
        return
    for letter, keys in USES_STATE.items():
        if letter not in str(uses):
            for name in keys:
                assert not r.exists(getattr(k, name)), f"{name} exists, ~uses is {uses!r}"


def check_dependencies(r: redis.Redis, k: QueueKeys, owner: dict[str, str]) -> None:
    """Every waiting job has a dependency entry that still lists one that has not completed;
    dependency data belongs to existing jobs only."""
    deps = cast(dict[str, str], r.hgetall(k.deps))
    assert set(deps) <= set(owner), "dependency data of a deleted job"
    assert set(cast(list[str], r.hkeys(k.dependants))) <= set(owner)
    for job_id, state in owner.items():
        if state != "waiting":
            continue
        left = json.loads(deps[job_id]).get("left")
        assert isinstance(left, list) and left, f"{job_id} waits for nothing"
        assert all(owner.get(d) != "completed" for d in left), f"{job_id} waits for a completed job"
