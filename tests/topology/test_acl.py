"""Each role works with exactly the rules ``blackroad acl`` prints, and with nothing more: a
producer of queue A gets NOPERM on queue B, and no role may FLUSHALL, CONFIG or KEYS."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from click.testing import CliRunner

from queue_operator.redis_admin import RedisAdmin, RedisAdminError
from tests.worker.fleet import Fleet
from worker_runtime.cli import cli
from worker_runtime.client import Client, SyncClient
from worker_runtime.cron.schedules import ScheduleSpec
from worker_runtime.engine import acl
from worker_runtime.errors import NotReplicatedError, WaitTimeoutError

PASSWORD = "acl-test-pw"
MakeUser = Callable[[str, str], str]


def printed_rules(role: str, queues: str) -> list[str]:
    """The rules exactly as the command prints them (its JSON form)."""
    args = ["acl", "--role", role] + (["--queues", queues] if queues else [])
    result = CliRunner().invoke(cli, [*args, "-o", "json"])
    assert result.exit_code == 0, result.output
    rules: list[str] = json.loads(result.output)["rules"]
    line = CliRunner().invoke(cli, args).output.strip()
    assert line.endswith(" ".join(rules))  # the table form prints the same rules
    return rules


@pytest.fixture
def user_url(redis_url: str, r: redis.Redis) -> Iterator[MakeUser]:
    """Creates an ACL user with a role's printed rules; returns its URL. Users are removed."""
    made: list[str] = []

    def make(role: str, queues: str) -> str:
        name = f"test-{role}-{len(made)}"
        r.execute_command(  # type: ignore[no-untyped-call]
            "ACL", "SETUSER", name, "reset", "on", f">{PASSWORD}", *printed_rules(role, queues)
        )
        made.append(name)
        return f"redis://{name}:{PASSWORD}@{urlsplit(redis_url).netloc}/0"

    yield make
    for name in made:
        r.execute_command("ACL", "DELUSER", name)  # type: ignore[no-untyped-call]


def test_printed_rules_grant_nothing_dangerous() -> None:
    for role in ("producer", "worker", "operator"):
        rules = printed_rules(role, "a")
        assert "-@all" in rules and not any("@" in x for x in rules if x.startswith("+"))
        assert not {"+keys", "+flushall", "+flushdb", "+config", "+debug"} & set(rules)
        assert "~brq:{a}:*" in rules and "~brq:{b}:*" not in rules


@pytest.mark.parametrize("role", ["producer", "worker", "operator"])
def test_no_role_may_flush_configure_or_list_keys(role: str, user_url: MakeUser) -> None:
    conn = redis.Redis.from_url(user_url(role, ""), decode_responses=True)
    try:
        for command in (
            ("FLUSHALL",),
            ("CONFIG", "GET", "maxmemory"),
            ("KEYS", "*"),
            ("SCRIPT", "FLUSH"),
        ):
            with pytest.raises(redis.exceptions.NoPermissionError):
                conn.execute_command(*command)  # type: ignore[no-untyped-call]
    finally:
        conn.close()


async def test_producer_of_a_works_on_a_and_gets_noperm_on_b(
    user_url: MakeUser, sync_client: SyncClient
) -> None:
    url = user_url("producer", "a")
    async with Client.from_url(url) as producer:
        done = await producer.enqueue("a", "job", {"n": 1}, dedupe_key="k")
        assert (await producer.get_job(done.id, "a")) is not None
        assert (await producer.stats("a")).pending == 1
        await producer.cancel(done.id, "a")
        with pytest.raises(WaitTimeoutError):
            await producer.wait((await producer.enqueue("a", "job")).id, timeout=0.2, queue="a")
        with pytest.raises(redis.exceptions.NoPermissionError):
            await producer.enqueue("b", "job")
        with pytest.raises(redis.exceptions.NoPermissionError):
            await producer.store.redis.hgetall("brq:{b}:jobs")
    async with Client.from_url(url, durable=True, durable_timeout=0.01) as durable:
        with pytest.raises(NotReplicatedError):  # WAIT is allowed; this server has no replica
            await durable.enqueue("a", "job")
    assert "b" not in sync_client.queues()


def test_worker_of_a_runs_its_jobs(
    user_url: MakeUser, sync_client: SyncClient, tmp_path: Path
) -> None:
    ids = [sync_client.enqueue("a", "work", {"s": 0}).id for _ in range(20)]
    fleet = Fleet(user_url("worker", "a"), tmp_path, queues="a", concurrency=4)
    try:
        fleet.start(0)
        fleet.wait_until(lambda: sync_client.stats("a").completed == len(ids), 60)
    finally:
        fleet.close()
    logs = "".join(p.read_text() for p in tmp_path.glob("worker-*.log"))
    assert "NOPERM" not in logs and "permission" not in logs.lower()


async def test_operator_of_a_manages_its_queue(user_url: MakeUser, sync_client: SyncClient) -> None:
    url = user_url("operator", "a")
    admin = RedisAdmin()
    try:
        health = await admin.health(url)
        assert health.reachable and health.config_denied  # CONFIG is refused; it says so
        assert await admin.read_config(url, "a") == {}
        await admin.apply_config(url, "a", {"max_attempts": 5})
        assert (await admin.read_config(url, "a"))["max_attempts"] == 5
        assert (await admin.stats(url, "a")).pending == 0
        assert (await admin.backlog(url, "a", 1000)).total == 0
        assert await admin.claim(url, "a", "ns/jq/uid") == "ns/jq/uid"
        spec = ScheduleSpec(name="nightly", queue="a", job_name="work", cron="0 3 * * *")
        assert (await admin.upsert_schedule(url, spec)).spec.name == "nightly"
        assert await admin.remove_schedule(url, "nightly")
        await admin.release(url, "a", "ns/jq/uid")
        await admin.delete_queue(url, "a")
        with pytest.raises(RedisAdminError, match="NoPermissionError"):
            await admin.stats(url, "b")
    finally:
        await admin.close()
    assert "a" not in sync_client.queues()


@pytest.mark.slow  # starts worker processes: not for the pure tier
def test_a_worker_that_cannot_connect_never_logs_the_password(tmp_path: Path) -> None:
    from tests.redis_server import free_port

    dead = free_port()
    for n, url in enumerate(
        (
            f"redis://app:{PASSWORD}@127.0.0.1:{dead}/0",
            f"redis+sentinel://app:{PASSWORD}@127.0.0.1:{dead}/m?sentinel_password={PASSWORD}",
        )
    ):
        workdir = tmp_path / str(n)
        workdir.mkdir()
        fleet = Fleet(url, workdir, queues="a", concurrency=1, health=True)

        def logs(where: Path = workdir) -> str:
            return "".join(p.read_text() for p in where.glob("worker-*.log"))

        try:
            fleet.start(0)
            fleet.wait_until(lambda: "redis" in logs().lower().split("serving", 1)[-1], 60)
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{fleet.ports[0]}/metrics").read()
        finally:
            fleet.close()
        assert PASSWORD not in logs() and PASSWORD.encode() not in metrics


def test_every_command_the_scripts_call_is_granted() -> None:
    # Redis checks a script's calls against the caller's ACL: a command missing here fails
    # only at run time, for ACL users alone (PUBSUB NUMSUB did, once events came).
    lua = Path(acl.__file__).parent / "lua"
    call = re.compile(r"redis\.p?call\(\s*'(\w+)'(?:\s*,\s*'(\w+)')?")
    containers = {"pubsub", "script", "client", "object", "memory"}  # granted per subcommand
    called = set()
    for script in lua.rglob("*.lua"):
        for command, sub in call.findall(script.read_text()):
            name = command.lower()
            called.add(f"{name}|{sub.lower()}" if name in containers else name)
    assert called, "no script calls found"
    assert sorted(called - set(acl.COMMANDS)) == []
