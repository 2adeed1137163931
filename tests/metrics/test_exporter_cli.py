"""``blackroad exporter``'s argument errors, and the operator's read of a queue's overview."""

from __future__ import annotations

import socket

from click.testing import CliRunner

from queue_operator.redis_admin import RedisAdmin
from worker_runtime import Client, JobSpec
from worker_runtime.cli import cli
from worker_runtime.engine import writes


def _one_line_error(args: list[str], redis_url: str, needle: str) -> None:
    result = CliRunner().invoke(cli, ["--redis-url", redis_url, "exporter", *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.output


def test_a_port_in_use_and_a_bad_queue_name_are_one_line_errors(redis_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _one_line_error(["--port", str(port), "--addr", "127.0.0.1"], redis_url, "--port")
    _one_line_error(["--queues", "a,{b}"], redis_url, "--queues")


async def test_the_operator_reads_the_same_overview(client: Client, redis_url: str) -> None:
    await client.enqueue_many([JobSpec("images", "resize", {}, priority="high")] * 2)
    await client.store.run(writes.worker_beat("w1", {"queues": ["images"]}, 60_000))
    admin = RedisAdmin()
    try:
        overview = await admin.overview(redis_url, "images")
    finally:
        await admin.close()
    assert (overview.stats.pending, overview.workers_active) == (2, 1)
    assert dict(overview.enqueued) == {("resize", 1): 2}
