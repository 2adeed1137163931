"""``blackroad worker start`` runs jobs without loading pydantic or the client (issue 17:
a worker's memory); the import-linter contract covers ``worker_runtime.worker`` alone, this
covers everything the command loads on its way, imports made at run time included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from worker_runtime import JobSpec, SyncClient

ROOT = Path(__file__).parents[2]
#: Modules a worker has no use for: validation of what the CLI and operator write, and
#: the client's management API.
UNWANTED = ("pydantic", "worker_runtime.client", "worker_runtime.queue_config")

_PROBE = """
import json, sys
from worker_runtime.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="blackroad")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted(m for m in %r if m in sys.modules)}))
"""


def test_worker_start_runs_jobs_without_pydantic_or_the_client(
    redis_url: str, sync_client: SyncClient
) -> None:
    sync_client.enqueue_many([JobSpec("a", "noop")] * 3)
    args = ["--redis-url", redis_url, "worker", "start", "--queues", "a", "--burst"]
    args += ["--handlers", "worker_runtime.examples", "--metrics-port", "0"]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE % (UNWANTED,), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "loaded": []}, done.stderr
    assert sync_client.stats("a").completed == 3
