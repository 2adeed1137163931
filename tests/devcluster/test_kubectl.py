"""The real kubectl (v1.32) against the cluster: every command the operator's users run."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import yaml

from tests.devcluster.conftest import KUBECTL, KubectlFn, to_yaml, widget
from tests.devcluster.kube import Kube


def _deployment(name: str, replicas: int = 0) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "none"}]},
            },
        },
    }


def test_apply_creates_then_updates(kubectl: KubectlFn, widgets: str) -> None:
    out = kubectl("apply", "-f", "-", input=to_yaml(widget("w1", size=3))).stdout
    assert "widget.devcluster-test.blackroad.io/w1 created" in out
    out = kubectl("apply", "-f", "-", input=to_yaml(widget("w1", size=4))).stdout
    assert "configured" in out
    assert kubectl("get", "widget", "w1", "-o", "jsonpath={.spec.size}").stdout == "4"
    out = kubectl("apply", "-f", "-", input=to_yaml(widget("w1", size=4))).stdout
    assert "unchanged" in out


def test_apply_builtins_twice(kubectl: KubectlFn) -> None:
    manifest = to_yaml(
        _deployment("d"),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}},
    )
    assert "created" in kubectl("apply", "-f", "-", input=manifest).stdout
    changed = _deployment("d")
    changed["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    out = kubectl("apply", "-f", "-", input=to_yaml(changed)).stdout
    assert "deployment.apps/d configured" in out
    env = kubectl(
        "get", "deploy", "d", "-o", "jsonpath={.spec.template.spec.containers[0].env[0].value}"
    ).stdout
    assert env == "1"


def test_apply_rejected_by_server_side_validation(kubectl: KubectlFn, widgets: str) -> None:
    bad_type = kubectl("apply", "-f", "-", input=to_yaml(widget("bad", size="big")), check=False)
    assert bad_type.returncode != 0
    assert "spec.size" in bad_type.stderr and "integer" in bad_type.stderr
    unknown = kubectl("apply", "-f", "-", input=to_yaml(widget("bad", sizee=3)), check=False)
    assert unknown.returncode != 0
    assert 'unknown field "spec.sizee"' in unknown.stderr
    loose = kubectl("apply", "--validate=false", "-f", "-", input=to_yaml(widget("ok", sizee=3)))
    assert "created" in loose.stdout


def test_get_with_printer_columns_and_yaml(kubectl: KubectlFn, widgets: str) -> None:
    kubectl("apply", "-f", "-", input=to_yaml(widget("w", size=7, color="green")))
    lines = kubectl("get", "widgets").stdout.splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "COLOR", "PHASE", "AGE"]
    assert lines[1].split()[:3] == ["w", "7", "green"]
    assert kubectl("get", "wdg").stdout.splitlines()[1].split()[0] == "w"
    document = yaml.safe_load(kubectl("get", "widget", "w", "-o", "yaml").stdout)
    assert document["spec"]["color"] == "green"
    assert document["metadata"]["uid"]
    assert "w" in kubectl("get", "blackroad-test").stdout


def test_get_watch(kubectl: KubectlFn, kubeconfig: Any, namespace: str, widgets: str) -> None:
    kubectl("apply", "-f", "-", input=to_yaml(widget("w")))
    watcher = subprocess.Popen(
        [
            KUBECTL,
            "--kubeconfig",
            str(kubeconfig),
            "-n",
            namespace,
            "get",
            "widgets",
            "-w",
            "--request-timeout=4s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1)  # let the watch list and start streaming before the change
        kubectl("patch", "widget", "w", "--type", "merge", "-p", '{"spec":{"size":42}}')
        out, _ = watcher.communicate(timeout=15)
    finally:
        watcher.kill()
        watcher.wait()
    rows = [line.split() for line in out.splitlines()]
    assert rows[0][:2] == ["NAME", "SIZE"]
    assert ["w", "42"] in [row[:2] for row in rows[1:]]


def test_scale(kubectl: KubectlFn, widgets: str) -> None:
    kubectl("apply", "-f", "-", input=to_yaml(_deployment("d"), widget("w")))
    kubectl("scale", "deployment/d", "--replicas=0")
    kubectl("scale", "widget/w", "--replicas=5")
    assert kubectl("get", "widget", "w", "-o", "jsonpath={.spec.replicas}").stdout == "5"


def test_replace_with_stale_resource_version(kubectl: KubectlFn, widgets: str) -> None:
    kubectl("apply", "-f", "-", input=to_yaml(widget("w")))
    stale = kubectl("get", "widget", "w", "-o", "yaml").stdout
    kubectl("patch", "widget", "w", "--type", "merge", "-p", '{"spec":{"size":5}}')
    refused = kubectl("replace", "-f", "-", input=stale, check=False)
    assert refused.returncode != 0
    assert "the object has been modified" in refused.stderr
    fresh = yaml.safe_load(kubectl("get", "widget", "w", "-o", "yaml").stdout)
    fresh["spec"]["size"] = 6
    assert "replaced" in kubectl("replace", "-f", "-", input=yaml.safe_dump(fresh)).stdout


def test_patch_types(kubectl: KubectlFn, widgets: str) -> None:
    kubectl("apply", "-f", "-", input=to_yaml(widget("w"), _deployment("d")))
    kubectl("patch", "widget", "w", "--type", "merge", "-p", '{"spec":{"size":8}}')
    kubectl(
        "patch",
        "widget",
        "w",
        "--type",
        "json",
        "-p",
        '[{"op":"replace","path":"/spec/size","value":9}]',
    )
    assert kubectl("get", "widget", "w", "-o", "jsonpath={.spec.size}").stdout == "9"
    refused = kubectl(
        "patch", "widget", "w", "--type", "strategic", "-p", '{"spec":{"size":1}}', check=False
    )
    assert refused.returncode != 0
    kubectl(
        "patch",
        "deployment",
        "d",
        "--type",
        "strategic",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"v2"}]}}}}',
    )
    image = kubectl(
        "get", "deploy", "d", "-o", "jsonpath={.spec.template.spec.containers[*].image}"
    ).stdout
    assert image == "v2"


def test_delete_with_finalizers_and_garbage_collection(
    kubectl: KubectlFn, kube: Kube, namespace: str, widgets: str
) -> None:
    held = widget("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    kubectl("apply", "-f", "-", input=to_yaml(held))
    owner = yaml.safe_load(kubectl("get", "widget", "held", "-o", "yaml").stdout)
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "child",
            "ownerReferences": [
                {
                    "apiVersion": owner["apiVersion"],
                    "kind": "Widget",
                    "name": "held",
                    "uid": owner["metadata"]["uid"],
                }
            ],
        },
    }
    kubectl("apply", "-f", "-", input=to_yaml(child))
    kubectl("delete", "widget", "held", "--wait=false")
    timestamp = kubectl("get", "widget", "held", "-o", "jsonpath={.metadata.deletionTimestamp}")
    assert timestamp.stdout
    kubectl("patch", "widget", "held", "--type", "merge", "-p", '{"metadata":{"finalizers":null}}')
    kubectl("wait", "--for=delete", "widget/held", "--timeout=10s")
    kubectl("wait", "--for=delete", "configmap/child", "--timeout=10s")


def test_wait_for_condition(kubectl: KubectlFn, kube: Kube, namespace: str, widgets: str) -> None:
    kubectl("apply", "-f", "-", input=to_yaml(widget("w")))
    status = {
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "Tested", "message": "ok"}]
        }
    }
    kube.patch(f"{widgets}/namespaces/{namespace}/widgets/w/status", status)
    kubectl("wait", "--for=condition=Ready", "widget/w", "--timeout=10s")
    kubectl("wait", "--for=jsonpath={.spec.size}=3", "widget/w", "--timeout=10s")


def test_describe(kubectl: KubectlFn, kube: Kube, namespace: str, widgets: str) -> None:
    kubectl("apply", "-f", "-", input=to_yaml(widget("w"), _deployment("d")))
    uid = kubectl("get", "widget", "w", "-o", "jsonpath={.metadata.uid}").stdout
    kube.post(
        f"/api/v1/namespaces/{namespace}/events",
        {
            "metadata": {"generateName": "w-"},
            "type": "Normal",
            "reason": "Described",
            "message": "visible in describe",
            "count": 1,
            "firstTimestamp": "2024-01-01T00:00:00Z",
            "lastTimestamp": "2024-01-01T00:00:00Z",
            "involvedObject": {
                "apiVersion": f"{widgets.split('/', 2)[2]}",
                "kind": "Widget",
                "name": "w",
                "namespace": namespace,
                "uid": uid,
            },
        },
    )
    out = kubectl("describe", "widget", "w").stdout
    assert "Name:" in out and "Size:" in out
    assert "visible in describe" in out
    assert "Replicas:" in kubectl("describe", "deployment", "d").stdout
