"""Discovery, OpenAPI v3, /version, Table output and the /scale subresource over HTTP."""

from __future__ import annotations

from tests.devcluster.conftest import GROUP, widget
from tests.devcluster.kube import Kube

TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}


def test_core_and_group_discovery(kube: Kube, widgets: str) -> None:
    assert "v1" in kube.get("/api").body["versions"]
    core = {r["name"]: r for r in kube.get("/api/v1").body["resources"]}
    assert {"namespaces", "configmaps", "secrets", "services", "pods", "events"} <= set(core)
    assert core["namespaces"]["namespaced"] is False
    groups = {g["name"] for g in kube.get("/apis").body["groups"]}
    assert {"apps", "coordination.k8s.io", "apiextensions.k8s.io", "events.k8s.io", GROUP} <= groups
    apps = {r["name"]: r for r in kube.get("/apis/apps/v1").body["resources"]}
    assert {"deployments", "deployments/status", "deployments/scale"} <= set(apps)
    assert apps["deployments/scale"]["kind"] == "Scale"
    custom = {r["name"]: r for r in kube.get(widgets).body["resources"]}
    assert {"widgets", "widgets/status", "widgets/scale"} <= set(custom)
    assert custom["widgets"]["kind"] == "Widget"
    assert custom["widgets"]["shortNames"] == ["wdg"]
    assert kube.get("/version").body["major"] == "1"


def test_openapi_v3_declares_field_validation(kube: Kube, widgets: str) -> None:
    index = kube.get("/openapi/v3").body["paths"]
    assert f"apis/{GROUP}/v1" in index and "api/v1" in index
    document = kube.get(index[f"apis/{GROUP}/v1"]["serverRelativeURL"]).body
    patches = [
        op["patch"]
        for op in document["paths"].values()
        if "patch" in op and op["patch"]["x-kubernetes-group-version-kind"]["kind"] == "Widget"
    ]
    assert patches
    assert "fieldValidation" in [p["name"] for p in patches[0]["parameters"]]


def test_table_output_uses_printer_columns(kube: Kube, namespace: str, widgets: str) -> None:
    path = f"{widgets}/namespaces/{namespace}/widgets"
    kube.post(path, widget("w", size=7, color="blue"))
    table = kube.get(path, headers=TABLE).body
    assert table["kind"] == "Table"
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names == ["Name", "Size", "Color", "Phase", "Age"]
    assert table["rows"][0]["cells"][:3] == ["w", 7, "blue"]
    assert table["rows"][0]["object"]["metadata"]["name"] == "w"
    single = kube.get(f"{path}/w", headers=TABLE).body
    assert single["kind"] == "Table" and len(single["rows"]) == 1


def test_builtin_tables(kube: Kube, namespace: str) -> None:
    kube.post(
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}},
    )
    table = kube.get(f"/api/v1/namespaces/{namespace}/configmaps", headers=TABLE).body
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert table["rows"][0]["cells"][:2] == ["c", 2]


def test_scale_subresource_for_deployments_and_crds(
    kube: Kube, namespace: str, widgets: str
) -> None:
    deployments = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    kube.post(
        deployments,
        {
            "metadata": {"name": "d"},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "d"}},
                "template": {
                    "metadata": {"labels": {"app": "d"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                },
            },
        },
    )
    scale = kube.get(f"{deployments}/d/scale").body
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"]["replicas"] == 0
    assert scale["status"]["selector"] == "app=d"
    scale["spec"]["replicas"] = 0
    assert kube.put(f"{deployments}/d/scale", scale).status == 200

    path = f"{widgets}/namespaces/{namespace}/widgets"
    kube.post(path, widget("w"))
    patched = kube.patch(f"{path}/w/scale", {"spec": {"replicas": 4}})
    assert patched.status == 200, patched.text
    assert patched.body["spec"]["replicas"] == 4
    assert kube.get(f"{path}/w").body["spec"]["replicas"] == 4
    kube.patch(f"{path}/w/status", {"status": {"replicas": 2, "selector": "app=w"}})
    scale = kube.get(f"{path}/w/scale").body
    assert scale["status"] == {"replicas": 2, "selector": "app=w"}
