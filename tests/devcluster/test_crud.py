"""Object lifecycle over plain HTTP: metadata, conflicts, patches, PUT and subresources."""

from __future__ import annotations

from tests.devcluster.conftest import widget
from tests.devcluster.kube import Kube


def test_create_sets_server_metadata(kube: Kube, namespace: str, widgets: str) -> None:
    created = kube.post(f"{widgets}/namespaces/{namespace}/widgets", widget("w"))
    assert created.status == 201, created.text
    md = created.body["metadata"]
    assert md["uid"] and md["resourceVersion"] and md["creationTimestamp"].endswith("Z")
    assert md["generation"] == 1
    assert md["namespace"] == namespace
    fetched = kube.get(f"{widgets}/namespaces/{namespace}/widgets/w").body
    assert fetched["metadata"] == md


def test_resource_versions_increase_with_every_write(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    first = kube.post(path, {"metadata": {"name": "a"}, "data": {"k": "1"}}).body
    second = kube.patch(f"{path}/a", {"data": {"k": "2"}}).body
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    assert kube.get(path).body["kind"] == "ConfigMapList"


def test_generate_name(kube: Kube, namespace: str) -> None:
    created = kube.post(
        f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"generateName": "gen-"}}
    )
    assert created.status == 201
    assert created.body["metadata"]["name"].startswith("gen-")
    assert len(created.body["metadata"]["name"]) > len("gen-")


def test_create_existing_name_is_409(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    assert kube.post(path, {"metadata": {"name": "dup"}}).status == 201
    again = kube.post(path, {"metadata": {"name": "dup"}})
    assert again.status == 409
    assert again.body["reason"] == "AlreadyExists"
    assert again.body["kind"] == "Status"


def test_missing_object_and_namespace_are_404(kube: Kube, namespace: str) -> None:
    assert kube.get(f"/api/v1/namespaces/{namespace}/configmaps/nope").body["reason"] == "NotFound"
    response = kube.post(
        "/api/v1/namespaces/no-such-ns-here/configmaps", {"metadata": {"name": "x"}}
    )
    assert response.status == 404


def test_put_with_stale_resource_version_is_409(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    stale = kube.post(path, {"metadata": {"name": "cm"}, "data": {"v": "1"}}).body
    kube.patch(f"{path}/cm", {"data": {"v": "2"}})
    stale["data"]["v"] = "3"
    response = kube.put(f"{path}/cm", stale)
    assert response.status == 409
    assert response.body["reason"] == "Conflict"


def test_put_replaces_the_object(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    current = kube.post(path, {"metadata": {"name": "cm"}, "data": {"a": "1", "b": "2"}}).body
    current["data"] = {"c": "3"}
    replaced = kube.put(f"{path}/cm", current)
    assert replaced.status == 200
    assert replaced.body["data"] == {"c": "3"}
    assert replaced.body["metadata"]["uid"] == current["metadata"]["uid"]


def test_merge_patch_with_stale_resource_version_is_409(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    old = kube.post(path, {"metadata": {"name": "cm"}}).body["metadata"]["resourceVersion"]
    kube.patch(f"{path}/cm", {"data": {"x": "1"}})
    response = kube.patch(f"{path}/cm", {"metadata": {"resourceVersion": old}, "data": {"x": "2"}})
    assert response.status == 409


def test_merge_patch_merges_and_null_deletes(kube: Kube, namespace: str, widgets: str) -> None:
    path = f"{widgets}/namespaces/{namespace}/widgets"
    kube.post(path, widget("w", tags=["a"], extra={"keep": 1, "drop": 2}))
    patched = kube.patch(f"{path}/w", {"spec": {"size": 5, "extra": {"drop": None}}})
    assert patched.status == 200, patched.text
    assert patched.body["spec"]["size"] == 5
    assert patched.body["spec"]["extra"] == {"keep": 1}
    assert patched.body["spec"]["tags"] == ["a"]


def test_json_patch_and_failing_test_is_422(kube: Kube, namespace: str, widgets: str) -> None:
    path = f"{widgets}/namespaces/{namespace}/widgets"
    created = kube.post(path, widget("w")).body
    rv = created["metadata"]["resourceVersion"]
    ok = kube.patch(
        f"{path}/w",
        [
            {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
            {"op": "add", "path": "/metadata/finalizers", "value": ["x.io/f"]},
            {"op": "replace", "path": "/spec/size", "value": 9},
        ],
        kind="json",
    )
    assert ok.status == 200, ok.text
    assert ok.body["spec"]["size"] == 9
    stale = kube.patch(
        f"{path}/w",
        [
            {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
            {"op": "replace", "path": "/spec/size", "value": 10},
        ],
        kind="json",
    )
    assert stale.status == 422
    kube.patch(f"{path}/w", {"metadata": {"finalizers": None}})


def test_strategic_merge_is_415_for_custom_resources(
    kube: Kube, namespace: str, widgets: str
) -> None:
    path = f"{widgets}/namespaces/{namespace}/widgets"
    kube.post(path, widget("w"))
    response = kube.patch(f"{path}/w", {"spec": {"size": 4}}, kind="strategic")
    assert response.status == 415


def test_strategic_merge_merges_containers_by_name(kube: Kube, namespace: str) -> None:
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    deployment = {
        "metadata": {"name": "d"},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {
                    "containers": [
                        {"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}]},
                        {"name": "b", "image": "y"},
                    ]
                },
            },
        },
    }
    assert kube.post(path, deployment).status == 201
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "z"}]}}}}
    patched = kube.patch(f"{path}/d", patch, kind="strategic")
    assert patched.status == 200, patched.text
    containers = patched.body["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("a", "x"), ("b", "z")]
    assert containers[0]["env"] == [{"name": "A", "value": "1"}]


def test_status_subresource_rules(kube: Kube, namespace: str, widgets: str) -> None:
    path = f"{widgets}/namespaces/{namespace}/widgets"
    created = kube.post(path, {**widget("w"), "status": {"phase": "ignored"}}).body
    assert "status" not in created or "phase" not in created.get("status", {})

    main = kube.patch(
        f"{path}/w", {"status": {"phase": "Main"}, "metadata": {"labels": {"a": "b"}}}
    )
    assert main.body.get("status", {}).get("phase") is None
    assert main.body["metadata"]["labels"] == {"a": "b"}
    assert main.body["metadata"]["generation"] == 1  # metadata-only change

    status = kube.patch(f"{path}/w/status", {"status": {"phase": "Ready"}, "spec": {"size": 50}})
    assert status.status == 200, status.text
    assert status.body["status"]["phase"] == "Ready"
    assert status.body["spec"]["size"] == 3
    assert status.body["metadata"]["generation"] == 1

    spec = kube.patch(f"{path}/w", {"spec": {"size": 4}})
    assert spec.body["metadata"]["generation"] == 2
    assert spec.body["status"]["phase"] == "Ready"

    current = kube.get(f"{path}/w").body
    current["status"] = {"phase": "Put"}
    current["spec"]["size"] = 99
    put = kube.put(f"{path}/w/status", current)
    assert put.status == 200, put.text
    assert put.body["status"]["phase"] == "Put"
    assert put.body["spec"]["size"] == 4


def test_dry_run_persists_nothing(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    response = kube.post(path, {"metadata": {"name": "dry"}}, params={"dryRun": "All"})
    assert response.status == 201
    assert kube.get(f"{path}/dry").status == 404


def test_label_and_field_selectors(kube: Kube, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    kube.post(path, {"metadata": {"name": "one", "labels": {"tier": "a"}}})
    kube.post(path, {"metadata": {"name": "two", "labels": {"tier": "b"}}})

    def names(params: dict[str, str]) -> list[str]:
        return [i["metadata"]["name"] for i in kube.get(path, params=params).body["items"]]

    assert names({"labelSelector": "tier=a"}) == ["one"]
    assert names({"labelSelector": "tier in (a,b)"}) == ["one", "two"]
    assert names({"labelSelector": "tier!=a"}) == ["two"]
    assert names({"fieldSelector": "metadata.name=two"}) == ["two"]


def test_secrets_string_data_becomes_base64_data(kube: Kube, namespace: str) -> None:
    secret = kube.post(
        f"/api/v1/namespaces/{namespace}/secrets",
        {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}},
    ).body
    assert secret["data"] == {"password": "aHVudGVyMg=="}
    assert secret["type"] == "Opaque"


def test_leases_services_and_events(kube: Kube, namespace: str) -> None:
    lease = kube.post(
        f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases",
        {
            "metadata": {"name": "leader"},
            "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15},
        },
    )
    assert lease.status == 201, lease.text
    service = kube.post(
        f"/api/v1/namespaces/{namespace}/services",
        {"metadata": {"name": "svc"}, "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}},
    )
    assert service.status == 201, service.text
    event = {
        "metadata": {"generateName": "w-"},
        "reason": "Tested",
        "message": "hello",
        "type": "Normal",
        "involvedObject": {"kind": "Lease", "name": "leader", "namespace": namespace},
    }
    assert kube.post(f"/api/v1/namespaces/{namespace}/events", event).status == 201
    new_event = {
        "metadata": {"generateName": "n-"},
        "reason": "Tested",
        "note": "hi",
        "type": "Normal",
        "action": "Test",
        "reportingController": "tests",
        "reportingInstance": "tests-1",
        "eventTime": "2024-01-01T00:00:00.000000Z",
        "regarding": {"kind": "Lease", "name": "leader", "namespace": namespace},
    }
    response = kube.post(f"/apis/events.k8s.io/v1/namespaces/{namespace}/events", new_event)
    assert response.status == 201, response.text
