"""Pods created directly (not by a Deployment): one local process each, as restartPolicy says."""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

from devcluster.api import WriteOptions
from devcluster.pods import kubelet_annotations, pod_status
from devcluster.replica import Replica

if TYPE_CHECKING:
    from devcluster.kubelet import Kubelet

JSON = dict[str, Any]


def _controlled(pod: JSON) -> bool:
    """Whether a controller (a Deployment, for the devcluster kubelet) owns the pod."""
    return any(ref.get("controller") for ref in pod["metadata"].get("ownerReferences") or [])


class StandalonePods:
    """The kubelet's part for Pods that users (`kubectl run`, kopf handlers) create."""

    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet
        self.replicas: dict[tuple[str, str], Replica] = {}
        #: Pods whose process exited for good (restartPolicy Never, or OnFailure and exit 0).
        self.finished: set[tuple[str, str]] = set()

    async def reconcile(self) -> None:
        api, pods = self.kubelet.api, self.kubelet.pods_type
        wanted = {
            (p["metadata"]["namespace"], p["metadata"]["name"]): p
            for p in api.store.objects(pods.key)
            if not _controlled(p) and not p["metadata"].get("deletionTimestamp")
        }
        for key in list(self.replicas):
            if key not in wanted:
                replica = self.replicas.pop(key)
                self.finished.discard(key)
                self.kubelet.retire_in_background(key[0], replica)
        for key, pod in wanted.items():
            await self._sync(key, pod)

    async def _sync(self, key: tuple[str, str], pod: JSON) -> None:
        spec = pod.get("spec") or {}
        replica = self.replicas.get(key)
        if replica is None:
            log_path = self.kubelet.pods_dir / f"{key[0]}_{key[1]}.log"
            replica = Replica(0, key[1], "", log_path, self.kubelet.backoff)
            self.replicas[key] = replica
        replica.grace = float(spec.get("terminationGracePeriodSeconds", 30))
        container = (spec.get("containers") or [{}])[0]
        if replica.check_exit() and self._stays_down(spec, replica):
            replica.next_start = math.inf  # never restarted
            replica.restarts -= 1
            self.finished.add(key)
        self.kubelet.start_due(key[0], container, replica)
        await replica.probe(container)
        self._write(pod, container, replica, key in self.finished)

    @staticmethod
    def _stays_down(spec: JSON, replica: Replica) -> bool:
        policy = spec.get("restartPolicy", "Always")
        code = ((replica.last_exit or {}).get("terminated") or {}).get("exitCode", 1)
        return bool(policy == "Never" or (policy == "OnFailure" and code == 0))

    def _write(self, pod: JSON, container: JSON, replica: Replica, finished: bool) -> None:
        new = copy.deepcopy(pod)
        new["status"] = pod_status(container, replica, finished)
        md = new["metadata"]
        md["annotations"] = {
            **(md.get("annotations") or {}),
            **kubelet_annotations(replica, self.kubelet.ports_annotation),
        }
        new.setdefault("spec", {})["nodeName"] = "devcluster"
        self.kubelet.api.commit(
            self.kubelet.pods_type, pod, new, WriteOptions(field_validation="Ignore")
        )
