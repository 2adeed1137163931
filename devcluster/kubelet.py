"""The process kubelet: keeps each Deployment's replicas running as local processes and
reports them back as Pods and Deployment status."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from devcluster import errors
from devcluster.api import Api, WriteOptions
from devcluster.meta import random_suffix
from devcluster.pods import deployment_status, pod_object
from devcluster.podspec import ConfigError, build_launch, free_port, port_is_free
from devcluster.replica import Replica, to_delete
from devcluster.resources import ResourceType
from devcluster.standalone import StandalonePods

JSON = dict[str, Any]
log = logging.getLogger(__name__)

#: Seconds between reconcile passes (also the readiness-probe period: fast, for tests).
TICK = 0.2
#: Upper bound on the grace period honoured when the whole kubelet stops.
STOP_GRACE_CAP = 10.0
PORTS_ANNOTATION = "devcluster.blackroad.io/ports"


def _template_hash(deployment: JSON) -> str:
    template = json.dumps((deployment.get("spec") or {}).get("template") or {}, sort_keys=True)
    return hashlib.sha256(template.encode()).hexdigest()[:10]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _grace(deployment: JSON) -> float:
    pod_spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    return float(pod_spec.get("terminationGracePeriodSeconds", 30))


class Kubelet:
    """Runs in the emulator's event loop and talks to its Api directly."""

    def __init__(self, api: Api, pods_dir: Path, backoff: tuple[float, float]) -> None:
        self.api = api
        self.pods_dir = pods_dir
        self.backoff = backoff
        self.replicas: dict[tuple[str, str], list[Replica]] = {}
        self._terminations: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._run_starts: dict[tuple[str, str], list[int]] = {}
        self.standalone = StandalonePods(self)
        self._deployments = self._type("apps", "v1", "deployments")
        self._pods = self._type("", "v1", "pods")
        self.pods_type = self._pods
        self.ports_annotation = PORTS_ANNOTATION

    def _type(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.api.registry.lookup(group, version, plural)
        assert rt is not None
        return rt

    def run_starts(self, namespace: str, pod: str) -> list[int]:
        """Where each run of the pod's process starts in its log file (for pods/log)."""
        return list(self._run_starts.get((namespace, pod), []))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        stopping = [
            replica.terminate(min(replica.grace, STOP_GRACE_CAP))
            for replicas in [*self.replicas.values(), self.standalone.replicas.values()]
            for replica in replicas
        ]
        await asyncio.gather(*stopping, *self._terminations)
        self.replicas.clear()

    async def _run(self) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception:  # one bad pass must not stop the kubelet
                log.exception("kubelet pass failed")
            await asyncio.sleep(TICK)

    async def reconcile(self) -> None:
        deployments = {
            (d["metadata"]["namespace"], d["metadata"]["name"]): d
            for d in self.api.store.objects(self._deployments.key)
            if not d["metadata"].get("deletionTimestamp")
        }
        for key in list(self.replicas):
            if key not in deployments:
                for replica in self.replicas.pop(key):
                    self._retire(key[0], replica)
        for key, deployment in deployments.items():
            await self._sync(key, deployment)
        await self.standalone.reconcile()

    def _retire(self, namespace: str, replica: Replica) -> None:
        """Stop a replica in the background (SIGTERM, grace, SIGKILL) and delete its Pod."""
        task = asyncio.get_running_loop().create_task(replica.terminate(replica.grace))
        self._terminations.add(task)
        task.add_done_callback(self._terminations.discard)
        self._run_starts.pop((namespace, replica.pod_name), None)
        with contextlib.suppress(errors.ApiError):
            self.api.delete(self._pods, namespace, replica.pod_name, {})

    def retire_in_background(self, namespace: str, replica: Replica) -> None:
        self._retire(namespace, replica)

    def _used_ports(self) -> set[int]:
        return {
            local
            for replicas in [*self.replicas.values(), self.standalone.replicas.values()]
            for r in replicas
            if r.launch is not None
            for local in r.launch.ports.values()
        }

    def _map_ports(self, container: JSON, index: int) -> dict[int, int]:
        """Replica 0 keeps a declared port while it is free; the others get free ports."""
        used, mapping = self._used_ports(), {}
        for port in container.get("ports") or []:
            declared = port["containerPort"]
            keep = index == 0 and declared not in used and port_is_free(declared)
            mapping[declared] = declared if keep else free_port()
        return mapping

    def _new_replica(self, key: tuple[str, str], index: int, template_hash: str) -> Replica:
        pod_name = f"{key[1]}-{template_hash[:8]}-{random_suffix()}"
        log_path = self.pods_dir / f"{key[0]}_{pod_name}.log"
        return Replica(index, pod_name, template_hash, log_path, self.backoff)

    async def _sync(self, key: tuple[str, str], deployment: JSON) -> None:
        spec = deployment.get("spec") or {}
        wanted = int(spec.get("replicas", 1))
        template_hash = _template_hash(deployment)
        grace = _grace(deployment)
        replicas = self.replicas.setdefault(key, [])
        pods = {p["metadata"]["name"]: p for p in self.api.store.objects(self._pods.key, key[0])}
        keep: list[Replica] = []
        for replica in replicas:
            outdated = replica.template_hash != template_hash
            pod_gone = replica.started_at is not None and replica.pod_name not in pods
            replica.grace = grace
            if outdated or pod_gone:
                self._retire(key[0], replica)
            else:
                keep.append(replica)
        # Scale-down removes pods as a ReplicaSet does (deletion cost, readiness, age...).
        for replica in to_delete(keep, pods, len(keep) - wanted):
            keep.remove(replica)
            self._retire(key[0], replica)
        taken = {r.index for r in keep}
        free = (i for i in range(wanted + len(taken)) if i not in taken)
        while len(keep) < wanted:
            keep.append(self._new_replica(key, next(free), template_hash))
            keep[-1].grace = grace
        keep.sort(key=lambda r: r.index)
        self.replicas[key] = keep
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or [{}]
        for replica in keep:
            await self._drive(deployment, containers[0], replica)
        self._write_status(deployment, keep, template_hash)

    async def _drive(self, deployment: JSON, container: JSON, replica: Replica) -> None:
        replica.check_exit()
        self.start_due(deployment["metadata"]["namespace"], container, replica)
        await replica.probe(container)
        self._write_pod(deployment, container, replica)

    def start_due(self, namespace: str, container: JSON, replica: Replica) -> None:
        """(Re)start the replica's process when it is down and its back-off has passed."""
        if replica.alive or time.monotonic() < replica.next_start:
            return
        if not container.get("command") and not container.get("args"):
            replica.waiting_reason = "NoCommand"
            replica.waiting_message = (
                "the devcluster kubelet runs the container's command "
                "and args; image entrypoints are unknown to it"
            )
            return
        ports = self._map_ports(container, replica.index)
        try:
            launch = build_launch(self.api.store, namespace, container, replica.pod_name, ports)
        except ConfigError as exc:
            replica.waiting_reason = "CreateContainerConfigError"
            replica.waiting_message = str(exc)
            return
        key = (namespace, replica.pod_name)
        self._run_starts.setdefault(key, []).append(_size(replica.log_path))
        replica.spawn(launch)

    def _write_pod(self, deployment: JSON, container: JSON, replica: Replica) -> None:
        namespace = deployment["metadata"]["namespace"]
        wanted = pod_object(deployment, container, replica, PORTS_ANNOTATION)
        current = self.api.store.get(self._pods.key, namespace, replica.pod_name)
        opts = WriteOptions(field_validation="Ignore")
        if current is None:
            if replica.started_at is None and replica.waiting_reason == "ContainerCreating":
                return
            # Create drops status (a subresource), so the status follows as an update.
            current = self.api.create(self._pods, namespace, wanted, opts)
        new = copy.deepcopy(current)
        new["status"] = wanted["status"]
        # Clients' annotations (pod-deletion-cost) stay; the kubelet's own are refreshed.
        annotations = (current["metadata"].get("annotations") or {}) | wanted["metadata"][
            "annotations"
        ]
        new["metadata"]["annotations"] = annotations
        self.api.commit(self._pods, current, new, opts)

    def _write_status(self, deployment: JSON, replicas: list[Replica], template_hash: str) -> None:
        status = deployment_status(deployment, replicas, template_hash)
        if status == deployment.get("status"):
            return
        new = copy.deepcopy(deployment)
        new["status"] = status
        self.api.commit(self._deployments, deployment, new, WriteOptions(field_validation="Ignore"))
