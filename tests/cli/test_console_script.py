"""The installed ``blackroad`` console script, run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from worker_runtime.client import SyncClient


def test_console_script_lists_queues(redis_url: str, sync_client: SyncClient) -> None:
    sync_client.enqueue("emails", "send", {"to": "a"})
    script = Path(sys.executable).parent / "blackroad"

    done = subprocess.run(
        [str(script), "--redis-url", redis_url, "queue", "list", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    [queue] = json.loads(done.stdout)
    assert queue["queue"] == "emails" and queue["pending"] == 1
