"""A local Kubernetes API emulator and process kubelet, for tests and `make run` only.

Never use it in production: it has no authentication, no persistence and no isolation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the type checker sees the class that __getattr__ hands out
    from devcluster.cluster import Cluster

__version__ = "0.1.0+devcluster.dev-test-only"

__all__ = ["Cluster", "__version__"]


def __getattr__(name: str) -> object:
    # Imported lazily so `devcluster.discovery` can read __version__ without a cycle.
    if name == "Cluster":
        from devcluster.cluster import Cluster

        return Cluster
    raise AttributeError(name)
