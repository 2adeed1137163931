"""Built-in kinds as kubectl writes them: protobuf bodies, validation, defaults and times."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import yaml

from devcluster import Cluster
from devstack.stack import EXAMPLES_NAMESPACE, Stack, StackConfig
from tests.devcluster.conftest import KUBECTL, KubectlFn, make_kubectl, to_yaml
from tests.devcluster.kube import Kube

ROOT = Path(__file__).parents[2]


def test_kubectl_create_generators_send_protobuf(kubectl: KubectlFn, namespace: str) -> None:
    out = kubectl("create", "secret", "generic", "redis", "--from-literal=url=redis://x:6379/0")
    assert "secret/redis created" in out.stdout
    url = kubectl("get", "secret", "redis", "-o", "jsonpath={.data.url}").stdout
    assert base64.b64decode(url).decode() == "redis://x:6379/0"
    assert kubectl("get", "secret", "redis", "-o", "jsonpath={.type}").stdout == "Opaque"
    kubectl("create", "configmap", "settings", "--from-literal=mode=fast")
    assert kubectl("get", "cm", "settings", "-o", "jsonpath={.data.mode}").stdout == "fast"
    kubectl("create", "serviceaccount", "robot")
    assert kubectl("get", "sa", "robot", "-o", "name").stdout.strip() == "serviceaccount/robot"
    kubectl("create", "service", "clusterip", "web", "--tcp=80:8080")
    ports = kubectl("get", "svc", "web", "-o", "jsonpath={.spec.ports[0]}").stdout
    assert yaml.safe_load(ports) == {
        "name": "80-8080",
        "port": 80,
        "protocol": "TCP",
        "targetPort": 8080,
    }
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=0")
    deployment = yaml.safe_load(kubectl("get", "deploy", "web", "-o", "yaml").stdout)
    assert deployment["spec"]["replicas"] == 0
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container == {
        "name": "nginx",
        "image": "nginx:1.27",
        "imagePullPolicy": "IfNotPresent",
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }


def test_kubectl_create_namespace(kubectl: KubectlFn, kube: Kube, namespace: str) -> None:
    name = f"{namespace}-extra"
    try:
        assert f"namespace/{name} created" in kubectl("create", "namespace", name).stdout
        assert kubectl("get", "ns", name, "-o", "jsonpath={.status.phase}").stdout == "Active"
    finally:
        kube.delete(f"/api/v1/namespaces/{name}")


def test_configmap_data_must_be_strings(kube: Kube, namespace: str) -> None:
    body = {"metadata": {"name": "numbers"}, "data": {"a": 1}}
    response = kube.post(f"/api/v1/namespaces/{namespace}/configmaps", body)
    assert response.status == 400, response.text
    assert "cannot unmarshal number" in response.body["message"]
    bad_secret = {"metadata": {"name": "s"}, "data": {"a": "not base64!"}}
    assert kube.post(f"/api/v1/namespaces/{namespace}/secrets", bad_secret).status == 400


def _deployment(selector: dict[str, str], labels: dict[str, str], image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "main", "image": image, "ports": [{"containerPort": 80}]}
                    ]
                },
            },
        },
    }


def test_deployment_selector_must_match_template(kubectl: KubectlFn) -> None:
    bad = kubectl(
        "apply", "-f", "-", input=to_yaml(_deployment({"app": "a"}, {"app": "b"}, "x")), check=False
    )
    assert bad.returncode != 0
    assert "Invalid" in bad.stderr and "`selector` does not match template `labels`" in bad.stderr


def test_builtin_defaults_match_a_real_server(kubectl: KubectlFn) -> None:
    kubectl("apply", "-f", "-", input=to_yaml(_deployment({"app": "a"}, {"app": "a"}, "redis")))
    pod = yaml.safe_load(kubectl("get", "deploy", "d", "-o", "yaml").stdout)["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "Always"  # untagged image
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert container["terminationMessagePolicy"] == "File"
    assert pod["spec"]["schedulerName"] == "default-scheduler"
    assert pod["spec"]["securityContext"] == {}


def test_times_are_normalised_to_utc(kube: Kube, namespace: str) -> None:
    event = {
        "metadata": {"name": "e1"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": namespace},
        "reason": "Test",
        "message": "m",
        "firstTimestamp": "2026-01-02T03:04:05.678+02:00",
        "lastTimestamp": "2026-01-02T03:04:05+00:00",
        "eventTime": "2026-01-02T01:04:05.5+00:00",
    }
    created = kube.post(f"/api/v1/namespaces/{namespace}/events", event)
    assert created.status == 201, created.text
    assert created.body["firstTimestamp"] == "2026-01-02T01:04:05Z"
    assert created.body["lastTimestamp"] == "2026-01-02T03:04:05Z"
    assert created.body["eventTime"] == "2026-01-02T01:04:05.500000Z"
    bad = {**event, "metadata": {"name": "e2"}, "lastTimestamp": "yesterday"}
    assert kube.post(f"/api/v1/namespaces/{namespace}/events", bad).status == 400


def test_kubectl_apply_f_crds_folder(tmp_path: Path) -> None:
    # Its own emulator: the kopf peering CRDs would change how the kopf tests' operators run.
    # The folder holds the CRDs only; its kustomization is `Kustomization` (no .yaml).
    with Cluster(kubelet=False) as cluster:
        kubectl = make_kubectl(cluster.kubeconfig, tmp_path / "cache", "default")
        kubectl("apply", "-f", str(ROOT / "crds"))
        kubectl("apply", "-k", str(ROOT / "crds"))
        rendered = list(yaml.safe_load_all(kubectl("kustomize", str(ROOT / "manifests")).stdout))
    crds = {d["metadata"]["name"] for d in rendered if d["kind"] == "CustomResourceDefinition"}
    assert "jobqueues.queues.blackroad.io" in crds


def test_make_run_kubeconfig_namespace_is_blackroad(tmp_path: Path) -> None:
    argv = Stack(StackConfig(state_dir=tmp_path)).cluster_argv
    assert argv[argv.index("--namespace") + 1] == EXAMPLES_NAMESPACE == "blackroad"
    with Cluster(kubelet=False, namespace="blackroad") as cluster:
        kube = Kube(cluster.kubeconfig)
        kube.post("/api/v1/namespaces", {"metadata": {"name": "blackroad"}})
        kube.post("/api/v1/namespaces/blackroad/configmaps", {"metadata": {"name": "here"}})
        config = yaml.safe_load(cluster.kubeconfig.read_text())
        assert config["contexts"][0]["context"]["namespace"] == "blackroad"
        plain = subprocess.run(
            [KUBECTL, "--kubeconfig", str(cluster.kubeconfig), "get", "cm", "-o", "name"],
            capture_output=True,
            text=True,
            check=True,
        )
    assert plain.stdout.split() == ["configmap/here"]


def test_builtins_are_checked_against_the_official_schemas(kubectl: KubectlFn, kube: Kube) -> None:
    bad = _deployment({"app": "a"}, {"app": "a"}, "redis:7")
    bad["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eighty"
    wrong = kubectl("apply", "-f", "-", input=to_yaml(bad), check=False)
    assert wrong.returncode != 0 and "cannot unmarshal string" in wrong.stderr
    unknown = _deployment({"app": "a"}, {"app": "a"}, "redis:7")
    unknown["spec"]["replica"] = 2  # a typo: kubectl asks for Strict validation
    strict = kubectl("apply", "-f", "-", input=to_yaml(unknown), check=False)
    assert strict.returncode != 0
    assert 'strict decoding error: unknown field "spec.replica"' in strict.stderr
    warned = kubectl("apply", "--validate=warn", "-f", "-", input=to_yaml(unknown))
    assert 'unknown field "spec.replica"' in warned.stderr
    stored = yaml.safe_load(kubectl("get", "deploy", "d", "-o", "yaml").stdout)
    assert "replica" not in stored["spec"]  # pruned, as a real server drops it
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"targetPort": 80}]},  # the schema requires ports[].port
    }
    invalid = kubectl("apply", "-f", "-", input=to_yaml(service), check=False)
    assert invalid.returncode != 0
    assert 'Service "s" is invalid: spec.ports[0].port' in invalid.stderr
