"""Watch streams over plain HTTP: replay from a version, 410, bookmarks, timeouts, selectors."""

from __future__ import annotations

import threading
import time

from devcluster import Cluster
from tests.devcluster.kube import Kube


def test_watch_replays_from_resource_version(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    start = kube.get(path).body["metadata"]["resourceVersion"]
    kube.post(path, {"metadata": {"name": "a"}})
    kube.patch(f"{path}/a", {"data": {"k": "v"}})
    kube.delete(f"{path}/a")
    response, events = kube.watch(path, {"resourceVersion": start, "timeoutSeconds": "1"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[1]["object"]["data"] == {"k": "v"}
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(start)


def test_watch_without_version_starts_with_current_state(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    kube.post(path, {"metadata": {"name": "existing"}})
    _, events = kube.watch(path, {"timeoutSeconds": "1"})
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "existing")]


def test_watch_streams_live_events_and_honours_timeout(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    rv = kube.get(path).body["metadata"]["resourceVersion"]

    def write_later() -> None:
        time.sleep(0.3)
        kube.post(path, {"metadata": {"name": "live", "labels": {"x": "y"}}})
        kube.post(path, {"metadata": {"name": "other"}})

    writer = threading.Thread(target=write_later)
    writer.start()
    began = time.monotonic()
    _, events = kube.watch(
        path, {"resourceVersion": rv, "timeoutSeconds": "2", "labelSelector": "x=y"}
    )
    writer.join()
    assert 1.5 < time.monotonic() - began < 5
    assert [e["object"]["metadata"]["name"] for e in events] == ["live"]


def test_watch_field_selector(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    rv = kube.get(path).body["metadata"]["resourceVersion"]
    kube.post(path, {"metadata": {"name": "a"}})
    kube.post(path, {"metadata": {"name": "b"}})
    _, events = kube.watch(
        path, {"resourceVersion": rv, "timeoutSeconds": "1", "fieldSelector": "metadata.name=b"}
    )
    assert [e["object"]["metadata"]["name"] for e in events] == ["b"]


def test_watch_sends_bookmarks_when_allowed(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    rv = kube.get(path).body["metadata"]["resourceVersion"]
    # The shared emulator bookmarks every 0.5 s; a real server does so about once a minute.
    _, events = kube.watch(
        path, {"resourceVersion": rv, "timeoutSeconds": "2", "allowWatchBookmarks": "true"}
    )
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks, events
    assert int(bookmarks[-1]["object"]["metadata"]["resourceVersion"]) >= int(rv)
    assert bookmarks[-1]["object"]["kind"] == "ConfigMap"


def test_watch_from_compacted_version_is_410(tmp_path: object) -> None:
    with Cluster(kubelet=False, event_log_size=5) as cluster:
        kube = Kube(cluster.kubeconfig)
        path = "/api/v1/namespaces/default/configmaps"
        start = kube.get(path).body["metadata"]["resourceVersion"]
        for index in range(10):
            kube.post(path, {"metadata": {"name": f"cm{index}"}})
        _, events = kube.watch(path, {"resourceVersion": start, "timeoutSeconds": "1"})
        assert events[0]["type"] == "ERROR"
        assert events[0]["object"]["code"] == 410
        recent = kube.get(path).body["metadata"]["resourceVersion"]
        _, events = kube.watch(path, {"resourceVersion": recent, "timeoutSeconds": "1"})
        assert events == []


def test_watch_initial_events_end_with_a_bookmark(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    kube.post(path, {"metadata": {"name": "a"}})
    _, events = kube.watch(
        path,
        {
            "sendInitialEvents": "true",
            "allowWatchBookmarks": "true",
            "resourceVersionMatch": "NotOlderThan",
            "timeoutSeconds": "1",
        },
    )
    assert events[0]["type"] == "ADDED"
    marks = [e for e in events if e["type"] == "BOOKMARK"]
    annotations = marks[0]["object"]["metadata"].get("annotations", {})
    assert annotations.get("k8s.io/initial-events-end") == "true"
