"""The taskiq broker (taskiq-redis streams) and task the worker imports."""

from __future__ import annotations

import os

from common import stamp
from taskiq_redis import RedisStreamBroker

broker = RedisStreamBroker(url=os.environ["BENCH_URL"], queue_name=os.environ["BENCH_QUEUE"])


@broker.task
async def noop(t: float) -> None:
    stamp(t)
