"""What a worker knows of its queues' settings: the lease learnt from each claim (and from
the config before any claim) and the config that upkeep refreshes."""

from __future__ import annotations

from collections.abc import Mapping

from worker_runtime.models import StoredConfig

#: The lease assumed until the first claim tells the queue's own.
DEFAULT_LEASE_MS = 30_000


class QueueSettings:
    """Per-queue lease and config, as last read from Redis."""

    def __init__(self, queues: list[str], lease_ms: int = -1) -> None:
        lease = lease_ms if lease_ms > 0 else DEFAULT_LEASE_MS
        self._overridden = lease_ms > 0
        self._lease_ms: dict[str, int] = {q: lease for q in queues}
        self._config: dict[str, StoredConfig] = {q: StoredConfig() for q in queues}
        # Read-only views for everyone; only the methods below write. Mappings rather than
        # getters: the config is read once per job, and a subscript costs no call.
        self.lease_ms: Mapping[str, int] = self._lease_ms
        self.config: Mapping[str, StoredConfig] = self._config

    def shortest_lease_ms(self) -> int:
        """Heartbeats and recovery run at a pace set by the shortest lease of any queue."""
        return min(self._lease_ms.values())

    def learn_lease(self, queue: str, lease_ms: int) -> None:
        """Every claim reply carries the lease the script granted (override or config)."""
        self._lease_ms[queue] = lease_ms

    def update_config(self, queue: str, config: StoredConfig) -> None:
        self._config[queue] = config
        if not self._overridden:
            # What the next claim will grant; until one has, the stall guard's first
            # threshold and the first claim's deadline need it (the default is 30 s).
            self._lease_ms[queue] = config.lease_ms
