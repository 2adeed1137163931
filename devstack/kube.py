"""Reads what the live view and the tests need from the Kubernetes API (any cluster)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client, config

GROUP, VERSION = "queues.blackroad.io", "v1alpha1"
POOL_LABEL = f"{GROUP}/workerpool"
#: Annotations of the devcluster's kubelet: the pod's local process and its remapped ports.
PID_ANNOTATION = "devcluster.blackroad.io/pid"
PORTS_ANNOTATION = "devcluster.blackroad.io/ports"


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    pool: str
    ready: bool
    #: The local process on the devcluster; None on a real cluster.
    pid: int | None
    #: Host port of the worker's /metrics on the devcluster.
    metrics_port: int | None
    container_id: str | None
    #: The container runs (on the devcluster: the process is alive).
    running: bool
    #: Being deleted: its process may still be finishing its jobs.
    deleting: bool
    node: str


@dataclass(frozen=True)
class Pool:
    namespace: str
    name: str
    queues: str
    desired: int | None
    replicas: int | None
    ready: int | None
    backlog: int | None
    last_scale_reason: str
    last_scale_time: str


class KubeReader:
    """A kubernetes-client ApiClient from one kubeconfig."""

    def __init__(self, kubeconfig: Path) -> None:
        self.api: Any = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig)
        )
        # Any: the raw responses (_preload_content=False) do not match the declared types.
        self.core: Any = client.CoreV1Api(self.api)
        self.custom: Any = client.CustomObjectsApi(self.api)
        self.apps: Any = client.AppsV1Api(self.api)

    def close(self) -> None:
        self.api.close()

    def deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Deployment as JSON, or None when it does not exist."""
        try:
            got = self.apps.read_namespaced_deployment(name, namespace, _preload_content=False)
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        body: dict[str, Any] = json.loads(got.data)
        return body

    def resource(self, namespace: str, plural: str, name: str) -> dict[str, Any] | None:
        """A custom resource of queues.blackroad.io as JSON, or None when it does not exist."""
        try:
            got = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, name, _preload_content=False
            )
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        body: dict[str, Any] = json.loads(got.data)
        return body

    def schedules(self) -> list[dict[str, Any]]:
        got = self.custom.list_cluster_custom_object(
            GROUP, VERSION, "schedules", _preload_content=False
        )
        return _items(got)

    def pools(self) -> list[Pool]:
        got = self.custom.list_cluster_custom_object(
            GROUP, VERSION, "workerpools", _preload_content=False
        )
        return sorted((_pool(item) for item in _items(got)), key=_pool_key)

    def pods(self, namespace: str | None = None, pool: str | None = None) -> list[Pod]:
        selector = f"{POOL_LABEL}={pool}" if pool else POOL_LABEL
        # Raw JSON: the client's models reject fields a devcluster leaves empty (imageID).
        if namespace:
            got = self.core.list_namespaced_pod(
                namespace, label_selector=selector, _preload_content=False
            )
        else:
            got = self.core.list_pod_for_all_namespaces(
                label_selector=selector, _preload_content=False
            )
        return sorted((_pod(item) for item in _items(got)), key=lambda p: (p.namespace, p.name))


def _items(response: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(response.data).get("items") or []
    return items


def _pool_key(p: Pool) -> tuple[str, str]:
    return p.namespace, p.name


def _pool(item: dict[str, Any]) -> Pool:
    meta, st = item["metadata"], item.get("status") or {}
    return Pool(
        meta["namespace"],
        meta["name"],
        st.get("queues") or ",".join(q["name"] for q in item["spec"].get("queues", [])),
        st.get("desiredReplicas"),
        st.get("replicas"),
        st.get("readyReplicas"),
        st.get("backlog"),
        st.get("lastScaleReason") or "",
        st.get("lastScaleTime") or "",
    )


def _pod(item: dict[str, Any]) -> Pod:
    meta, st = item["metadata"], item.get("status") or {}
    notes = meta.get("annotations") or {}
    pid = notes.get(PID_ANNOTATION)
    ports = json.loads(notes.get(PORTS_ANNOTATION) or "{}")
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or []
    )
    containers = st.get("containerStatuses") or []
    return Pod(
        meta["namespace"],
        meta["name"],
        (meta.get("labels") or {}).get(POOL_LABEL, ""),
        ready,
        int(pid) if pid else None,
        _metrics_port(ports),
        containers[0].get("containerID") if containers else None,
        bool(containers and (containers[0].get("state") or {}).get("running")),
        meta.get("deletionTimestamp") is not None,
        (item.get("spec") or {}).get("nodeName") or "",
    )


def _metrics_port(ports: Any) -> int | None:
    if not isinstance(ports, dict):
        return None
    for key in ("metrics", "9100"):
        if key in ports:
            return int(ports[key])
    return None
