"""The systems compared: our engine and each peer, how to install it and how to drive it."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import envs

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "bench" / "peers"


@dataclass(frozen=True)
class System:
    key: str
    name: str
    #: "ours" (this repository's virtualenv), "python" (own virtualenv) or "node".
    kind: str
    env_name: str
    #: Pinned pip or npm specifiers.
    requirements: tuple[str, ...]
    #: Distributions whose versions the results name.
    distributions: tuple[str, ...]
    driver: str
    #: The bulk API used, or None where the library has none.
    bulk: str | None
    #: What the library's default concurrency is, in words.
    default_concurrency: str
    #: What the driver's ``--concurrency`` gets for the default run.
    default_arg: str = "default"
    #: Whether one worker process can run 50 jobs at once.
    c50: bool = True
    notes: str = ""


SYSTEMS: tuple[System, ...] = (
    System(
        "ours",
        "BlackRoad Queues",
        "ours",
        "",
        (),
        ("blackroad-queues", "redis", "hiredis", "uvloop"),
        "ours_driver.py",
        "Client.enqueue_many",
        "10 (uvloop)",
    ),
    System(
        "bullmq",
        "BullMQ",
        "node",
        "bullmq",
        ("bullmq@6.7.0", "ioredis@6.0.0"),
        ("bullmq", "ioredis"),
        "bullmq_driver.mjs",
        "Queue.addBulk",
        "1",
    ),
    System(
        "saq",
        "SAQ",
        "python",
        "saq",
        ("saq[redis]==0.26.4", "typing_extensions"),
        ("saq", "redis"),
        "saq_driver.py",
        None,
        "10 (asyncio)",
    ),
    System(
        "taskiq",
        "taskiq + taskiq-redis streams",
        "python",
        "taskiq",
        ("taskiq==0.13.0", "taskiq-redis==1.2.4"),
        ("taskiq", "taskiq-redis", "redis"),
        "taskiq_driver.py",
        None,
        "100 async tasks, 1 worker process (child of the CLI)",
    ),
    System(
        "dramatiq",
        "Dramatiq (Redis broker)",
        "python",
        "dramatiq",
        ("dramatiq[redis]==2.2.1",),
        ("dramatiq", "redis"),
        "dramatiq_driver.py",
        None,
        "8 threads, --processes 1",
    ),
    System(
        "celery",
        "Celery (Redis broker)",
        "python",
        "celery",
        ("celery[redis]==5.7.0",),
        ("celery", "kombu", "redis"),
        "celery_driver.py",
        "group (one publish per job)",
        f"prefork, {os.cpu_count()} processes (one per CPU); 50 = threads pool",
    ),
    System(
        "arq",
        "arq",
        "python",
        "arq",
        ("arq==0.28.0",),
        ("arq", "redis"),
        "arq_driver.py",
        None,
        "10 (asyncio), 0.5 s poll",
    ),
    System(
        "rq",
        "RQ (forks per job)",
        "python",
        "rq",
        ("rq==3.0.0",),
        ("rq", "redis"),
        "rq_driver.py",
        "Queue.enqueue_many",
        "1 (a fork per job)",
        c50=False,
    ),
    System(
        "rq-simple",
        "RQ SimpleWorker",
        "python",
        "rq",
        ("rq==3.0.0",),
        ("rq", "redis"),
        "rq_driver.py",
        "Queue.enqueue_many",
        "1 (in-process)",
        "simple",
        c50=False,
    ),
)


@dataclass(frozen=True)
class Ready:
    """An installed system: the argv prefix that runs its driver, and its versions."""

    system: System
    prefix: list[str]
    env: dict[str, str]
    versions: dict[str, str]

    def argv(self, command: str, url: str, queue: str, **opts: object) -> list[str]:
        args = [command, "--url", url, "--queue", queue]
        for k, v in opts.items():
            args += [f"--{k}", str(v)]
        return [*self.prefix, *args]


def prepare(system: System) -> Ready:
    """Installs the system's environment if needed (raises envs.InstallError)."""
    env = dict(os.environ)
    driver = str(PEERS / system.driver)
    if system.kind == "ours":
        env["PYTHONPATH"] = str(ROOT)
        built = envs.Env("ours", python=Path(sys.executable))
        prefix = [sys.executable, driver]
    elif system.kind == "python":
        built = envs.python_env(system.env_name, list(system.requirements))
        prefix = [str(built.python), driver]
    else:
        built = envs.node_env(system.env_name, list(system.requirements))
        node = shutil.which("node") or "node"
        env["BENCH_NODE_DIR"] = str(built.node_dir)
        prefix = [node, driver]
    versions = envs.installed_versions(built, list(system.distributions))
    return Ready(system, prefix, env, versions)
