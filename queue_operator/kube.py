"""The operator's only door to the Kubernetes API (besides kopf's own watching and patching).

The official client is synchronous; calls run in a worker thread so kopf's loop stays free.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import threading
from typing import Any

import kopf
import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from queue_operator.constants import GROUP, VERSION

JSON = dict[str, Any]

_lock = threading.Lock()
_api: client.ApiClient | None = None


class KubeError(Exception):
    """A Kubernetes call failed for a reason other than "not found"."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        #: The HTTP status of the API's answer (None: the call failed before one came).
        self.status = status


class ConflictError(KubeError):
    """The API answered 409 Conflict: the object exists already, or changed meanwhile."""


def _error(exc: ApiException) -> KubeError:
    kind = ConflictError if exc.status == 409 else KubeError
    return kind(f"{exc.status} {exc.reason}: {_message(exc)}", exc.status)


def api_client() -> client.ApiClient:
    """One shared client, configured in-cluster or from the kubeconfig (KUBECONFIG)."""
    global _api
    with _lock:
        if _api is None:
            try:
                config.load_incluster_config()  # type: ignore[no-untyped-call]
            except config.ConfigException:
                # Read KUBECONFIG now: the client's default was fixed when it was imported.
                config.load_kube_config(config_file=os.environ.get("KUBECONFIG") or None)  # type: ignore[no-untyped-call]
            _api = client.ApiClient()
        return _api


def reset() -> None:
    """Forget the client (tests point the operator at a new cluster)."""
    global _api
    with _lock:
        _api = None


async def _run(fn: Any, *args: Any, **kwargs: Any) -> JSON | None:
    """Calls ``fn`` in a thread; the JSON body, or None on 404."""

    def call() -> JSON | None:
        try:
            response = fn(*args, _preload_content=False, **kwargs)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise _error(exc) from None
        data: JSON = json.loads(response.data or b"{}")
        return data

    return await asyncio.to_thread(call)


def _message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message", ""))
    except ValueError:
        return ""


async def read_secret(namespace: str, name: str) -> dict[str, bytes] | None:
    """The Secret's data, decoded from base64; None when there is no such Secret."""
    secret = await _run(client.CoreV1Api(api_client()).read_namespaced_secret, name, namespace)
    if secret is None:
        return None
    data = secret.get("data") or {}
    return {key: base64.b64decode(raw) for key, raw in data.items() if isinstance(raw, str)}


async def get_custom(plural: str, namespace: str, name: str) -> JSON | None:
    api = client.CustomObjectsApi(api_client())
    return await _run(api.get_namespaced_custom_object, GROUP, VERSION, namespace, plural, name)


async def get_deployment(namespace: str, name: str) -> JSON | None:
    api = client.AppsV1Api(api_client())
    return await _run(api.read_namespaced_deployment, name, namespace)


async def create_deployment(body: JSON) -> JSON:
    """Creates the Deployment; on 409 (it exists: a rerun) returns the stored one."""
    api = client.AppsV1Api(api_client())
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    try:
        created = await _run(api.create_namespaced_deployment, namespace, body)
    except ConflictError:
        created = await get_deployment(namespace, name)
    if created is None:
        raise KubeError(f"Deployment {namespace}/{name} vanished while being created")
    return created


async def patch_deployment(namespace: str, name: str, patch: JSON) -> JSON | None:
    """A JSON merge patch (lists such as containers are replaced whole: the operator owns them)."""
    api = client.AppsV1Api(api_client())
    return await _run(
        api.patch_namespaced_deployment,
        name,
        namespace,
        patch,
        _content_type="application/merge-patch+json",
    )


async def list_pods(namespace: str, label_selector: str) -> list[JSON]:
    api = client.CoreV1Api(api_client())
    listed = await _run(api.list_namespaced_pod, namespace, label_selector=label_selector)
    items: list[JSON] = (listed or {}).get("items") or []
    return items


async def patch_pod(namespace: str, name: str, patch: JSON) -> JSON | None:
    """A JSON merge patch of a Pod (its labels and annotations); None when it is gone."""
    api = client.CoreV1Api(api_client())
    return await _run(
        api.patch_namespaced_pod,
        name,
        namespace,
        patch,
        _content_type="application/merge-patch+json",
    )


async def get_pdb(namespace: str, name: str) -> JSON | None:
    api = client.PolicyV1Api(api_client())
    return await _run(api.read_namespaced_pod_disruption_budget, name, namespace)


async def apply_pdb(body: JSON, create: bool) -> None:
    """Creates the PodDisruptionBudget, or merge-patches its spec (the unused count nulled)."""
    api = client.PolicyV1Api(api_client())
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    if create:
        with contextlib.suppress(ConflictError):  # a rerun: the next pass compares, patches
            await _run(api.create_namespaced_pod_disruption_budget, namespace, body)
        return
    patch = {"spec": {"minAvailable": None, "maxUnavailable": None, **body["spec"]}}
    await _run(
        api.patch_namespaced_pod_disruption_budget,
        name,
        namespace,
        patch,
        _content_type="application/merge-patch+json",
    )


async def delete_pdb(namespace: str, name: str) -> None:
    api = client.PolicyV1Api(api_client())
    await _run(api.delete_namespaced_pod_disruption_budget, name, namespace)


def post_event(body: Any, type_: str, reason: str, message: str) -> None:
    """Queues a Kubernetes Event about ``body`` (kopf posts it in the background)."""
    kopf.event(body, type=type_, reason=reason, message=message)


async def list_custom(plural: str, namespace: str | None = None) -> list[JSON]:
    """Every object of ``plural`` in ``namespace``, or in every namespace."""
    api = client.CustomObjectsApi(api_client())
    if namespace is None:
        listed = await _run(api.list_cluster_custom_object, GROUP, VERSION, plural)
    else:
        listed = await _run(api.list_namespaced_custom_object, GROUP, VERSION, namespace, plural)
    items: list[JSON] = (listed or {}).get("items") or []
    return items


async def scale_custom(plural: str, namespace: str, name: str, replicas: int) -> JSON | None:
    """Sets ``spec.replicas`` through the /scale subresource, as `kubectl scale` does."""
    api = client.CustomObjectsApi(api_client())
    body = {"spec": {"replicas": replicas}}
    return await _run(
        api.patch_namespaced_custom_object_scale, GROUP, VERSION, namespace, plural, name, body
    )


def not_configured_or_unreachable(exc: BaseException) -> bool:
    """True for the errors that mean "no API here": no kubeconfig, nothing listening."""
    return isinstance(exc, config.ConfigException | urllib3.exceptions.HTTPError | OSError)
