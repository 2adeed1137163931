"""The script-section profile: every cut of a hot script is a script Redis accepts, and a cut
stops the script there."""

from __future__ import annotations

import redis

from bench.luasections import CUT, Profile, cuts
from worker_runtime.engine.lua import scripts


def test_every_cut_of_the_hot_scripts_compiles(redis_url: str) -> None:
    r = redis.Redis.from_url(redis_url)
    for name in ("enqueue", "claim", "complete"):
        source = scripts()[name].source
        found = cuts(source)
        # One cut per top-level statement at least: the profile resolves the whole body.
        assert len(found) > 10, name
        assert found[-1] == ("end", source)
        for label, cut in found[:-1]:
            assert cut.count(CUT) == 1, (name, label)
            r.script_load(cut)


def test_a_cut_returns_before_its_statement(redis_url: str) -> None:
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    profile = Profile(r, 20)
    rows = profile.all()
    assert set(rows) == {"enqueue", "claim", "complete"}
    for name, timed in rows.items():
        assert all(us > 0 for _, us in timed), name
    # The first cut of enqueue is before any write: nothing was stored by it.
    first = cuts(scripts()["enqueue"].source)[0][1]
    r.flushall()
    sha = r.script_load(first)
    assert r.evalsha(sha, 0) == 1
    assert r.dbsize() == 0
