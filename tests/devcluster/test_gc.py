"""Finalizers, deletionTimestamp, ownerReference garbage collection and namespace cleanup."""

from __future__ import annotations

from typing import Any

from tests.devcluster.conftest import wait_for, widget
from tests.devcluster.kube import Kube


def _owned_by(owner: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "ownerReferences": [
                {
                    "apiVersion": owner["apiVersion"],
                    "kind": owner["kind"],
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                }
            ],
        }
    }


def test_finalizers_hold_deletion_until_removed(kube: Kube, namespace: str, widgets: str) -> None:
    path = f"{widgets}/namespaces/{namespace}/widgets"
    body = widget("w")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    kube.post(path, body)
    deleted = kube.delete(f"{path}/w")
    assert deleted.status in (200, 202)
    held = kube.get(f"{path}/w").body
    assert held["metadata"]["deletionTimestamp"]
    assert held["metadata"]["finalizers"] == ["example.com/hold"]
    refused = kube.patch(f"{path}/w", {"metadata": {"finalizers": ["example.com/hold", "new"]}})
    assert refused.status == 422
    released = kube.patch(f"{path}/w", {"metadata": {"finalizers": None}})
    assert released.status == 200
    wait_for(lambda: kube.get(f"{path}/w").status == 404, what="widget to go")


def test_delete_emits_deleted_event(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    kube.post(path, {"metadata": {"name": "a"}})
    rv = kube.get(path).body["metadata"]["resourceVersion"]
    kube.delete(f"{path}/a")
    _, events = kube.watch(path, {"resourceVersion": rv, "timeoutSeconds": "1"})
    assert [e["type"] for e in events] == ["DELETED"]


def test_background_garbage_collection(kube: Kube, namespace: str, widgets: str) -> None:
    owner = kube.post(f"{widgets}/namespaces/{namespace}/widgets", widget("owner")).body
    cms = f"/api/v1/namespaces/{namespace}/configmaps"
    assert kube.post(cms, _owned_by(owner, "child")).status == 201
    kube.delete(f"{widgets}/namespaces/{namespace}/widgets/owner")
    wait_for(lambda: kube.get(f"{cms}/child").status == 404, what="dependent to be collected")


def test_foreground_deletion_waits_for_dependents(kube: Kube, namespace: str, widgets: str) -> None:
    path = f"{widgets}/namespaces/{namespace}/widgets"
    owner = kube.post(path, widget("owner")).body
    cms = f"/api/v1/namespaces/{namespace}/configmaps"
    child = _owned_by(owner, "child")
    child["metadata"]["finalizers"] = ["example.com/hold"]
    child["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] = True
    kube.post(cms, child)
    kube.delete(f"{path}/owner", {"propagationPolicy": "Foreground"})
    held = wait_for(
        lambda: kube.get(f"{cms}/child").body["metadata"].get("deletionTimestamp"),
        what="child to be deleting",
    )
    assert held
    owner_now = kube.get(f"{path}/owner").body
    assert "foregroundDeletion" in owner_now["metadata"]["finalizers"]
    kube.patch(f"{cms}/child", {"metadata": {"finalizers": None}})
    wait_for(lambda: kube.get(f"{path}/owner").status == 404, what="owner to go")


def test_orphan_deletion_keeps_dependents(kube: Kube, namespace: str, widgets: str) -> None:
    path = f"{widgets}/namespaces/{namespace}/widgets"
    owner = kube.post(path, widget("owner")).body
    cms = f"/api/v1/namespaces/{namespace}/configmaps"
    kube.post(cms, _owned_by(owner, "child"))
    kube.delete(f"{path}/owner", {"propagationPolicy": "Orphan"})
    wait_for(lambda: kube.get(f"{path}/owner").status == 404, what="owner to go")
    child = kube.get(f"{cms}/child")
    assert child.status == 200
    assert not child.body["metadata"].get("ownerReferences")


def test_namespace_deletion_removes_its_objects(kube: Kube) -> None:
    assert kube.post("/api/v1/namespaces", {"metadata": {"name": "t-doomed-ns"}}).status == 201
    kube.post("/api/v1/namespaces/t-doomed-ns/configmaps", {"metadata": {"name": "a"}})
    kube.delete("/api/v1/namespaces/t-doomed-ns")
    wait_for(
        lambda: kube.get("/api/v1/namespaces/t-doomed-ns").status == 404,
        timeout=60,
        what="namespace to go",
    )
    listing = kube.get("/api/v1/namespaces").body
    assert listing["kind"] == "NamespaceList"
    assert "default" in [ns["metadata"]["name"] for ns in listing["items"]]
