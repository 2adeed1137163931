"""`kubectl apply --server-side` (Flux, Argo CD): field managers, conflicts and force."""

from __future__ import annotations

from typing import Any

import yaml

from tests.devcluster.conftest import KubectlFn, to_yaml, widget
from tests.devcluster.kube import Kube


def _managers(kubectl: KubectlFn, *what: str) -> dict[tuple[str, str], dict[str, Any]]:
    obj = yaml.safe_load(kubectl("get", *what, "-o", "yaml", "--show-managed-fields").stdout)
    return {(m["manager"], m["operation"]): m["fieldsV1"] for m in obj["metadata"]["managedFields"]}


def test_apply_creates_and_records_the_manager(kubectl: KubectlFn, widgets: str) -> None:
    out = kubectl("apply", "--server-side", "-f", "-", input=to_yaml(widget("w", size=3)))
    assert "widget.devcluster-test.blackroad.io/w serverside-applied" in out.stdout
    managers = _managers(kubectl, "widget", "w")
    assert managers[("kubectl", "Apply")] == {"f:spec": {"f:size": {}}}
    again = kubectl("apply", "--server-side", "-f", "-", input=to_yaml(widget("w", size=3)))
    assert again.returncode == 0


def test_second_manager_conflicts_then_forces(kubectl: KubectlFn, widgets: str) -> None:
    kubectl("apply", "--server-side", "-f", "-", input=to_yaml(widget("w", size=3, label="a")))
    changed = to_yaml(widget("w", size=5))
    conflict = kubectl(
        "apply", "--server-side", "--field-manager=flux", "-f", "-", input=changed, check=False
    )
    assert conflict.returncode != 0
    assert (
        'Apply failed with 1 conflict: conflict with "kubectl" using '
        "devcluster-test.blackroad.io/v1: .spec.size" in conflict.stderr
    )
    assert "--force-conflicts" in conflict.stderr  # kubectl's advice on a real Conflict
    assert kubectl("get", "widget", "w", "-o", "jsonpath={.spec.size}").stdout == "3"
    # The same value is shared ownership, not a conflict.
    kubectl(
        "apply",
        "--server-side",
        "--field-manager=argo",
        "-f",
        "-",
        input=to_yaml(widget("w", size=3)),
    )
    kubectl(
        "apply",
        "--server-side",
        "--field-manager=flux",
        "--force-conflicts",
        "-f",
        "-",
        input=changed,
    )
    assert kubectl("get", "widget", "w", "-o", "jsonpath={.spec.size}").stdout == "5"
    managers = _managers(kubectl, "widget", "w")
    assert managers[("flux", "Apply")] == {"f:spec": {"f:size": {}}}
    assert managers[("kubectl", "Apply")] == {"f:spec": {"f:label": {}}}
    assert ("argo", "Apply") not in managers  # it lost its only field
    back = kubectl(
        "apply",
        "--server-side",
        "-f",
        "-",
        input=to_yaml(widget("w", size=3, label="a")),
        check=False,
    )
    assert 'conflict with "flux"' in back.stderr


def test_fields_left_out_are_removed_unless_shared(kubectl: KubectlFn, widgets: str) -> None:
    kubectl(
        "apply",
        "--server-side",
        "-f",
        "-",
        input=to_yaml(widget("w", size=3, label="a", tags=["x"])),
    )
    kubectl(
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        "-",
        input=to_yaml(widget("w", size=3, tags=["x"])),
    )
    kubectl("apply", "--server-side", "-f", "-", input=to_yaml(widget("w", size=3)))
    spec = yaml.safe_load(kubectl("get", "widget", "w", "-o", "yaml").stdout)["spec"]
    assert "label" not in spec  # only kubectl owned it
    assert spec["tags"] == ["x"]  # "other" still owns it


def test_update_managers_conflict_too(kubectl: KubectlFn) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"team": "a"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
            },
        },
    }
    kubectl("apply", "--server-side", "-f", "-", input=to_yaml(deployment))
    kubectl("patch", "deploy", "web", "--type=merge", "-p", '{"spec":{"replicas":0}}')
    back = kubectl("apply", "--server-side", "-f", "-", input=to_yaml(deployment), check=False)
    assert 'conflict with "kubectl-patch" using apps/v1: .spec.replicas' in back.stderr
    # A second manager adds a sidecar: the list of containers merges by name.
    sidecar = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox:1"}]}}},
    }
    kubectl("apply", "--server-side", "--field-manager=mesh", "-f", "-", input=to_yaml(sidecar))
    names = kubectl(
        "get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[*].name}"
    )
    assert names.stdout == "main sidecar"
    fields = _managers(kubectl, "deploy", "web")[("mesh", "Apply")]
    containers = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert set(containers['k:{"name":"sidecar"}']) == {".", "f:name", "f:image"}


def test_apply_needs_a_field_manager(kube: Kube, namespace: str) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    path = f"/api/v1/namespaces/{namespace}/configmaps/c"
    missing = kube.patch(path, body, kind="apply")
    assert missing.status == 422, missing.text
    created = kube.patch(path, body, kind="apply", params={"fieldManager": "me"})
    assert created.status == 201, created.text
    assert created.body["metadata"]["managedFields"][0]["manager"] == "me"
