"""The whole system on one machine (`make run`, the local e2e suite): dev and test only.

Redis, the devcluster (local Kubernetes API and process kubelet) and the operator run as
child processes; nothing in worker_runtime or queue_operator imports this package.
"""

from devstack.stack import Stack, StackConfig

__all__ = ["Stack", "StackConfig"]
