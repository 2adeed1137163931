"""Fixtures for the devcluster tier: an emulator (or a real cluster), kubectl, HTTP, CRDs.

With BLACKROAD_TEST_KUBECONFIG set, the portable tests (those using `kubeconfig`) run
against that cluster instead, so the kind suite doubles as a fidelity check; tests of
emulator-only behaviour (event-log size, the kubelet) always start their own emulator.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devcluster import Cluster
from tests.devcluster.kube import Kube

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
GROUP = "devcluster-test.blackroad.io"

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"widgets.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "shortNames": ["wdg"],
            "categories": ["blackroad-test"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {
                    "status": {},
                    "scale": {
                        "specReplicasPath": ".spec.replicas",
                        "statusReplicasPath": ".status.replicas",
                        "labelSelectorPath": ".status.selector",
                    },
                },
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "x-kubernetes-validations": [
                                    {
                                        "rule": "self.minSize <= self.size",
                                        "message": "minSize must not exceed size",
                                    },
                                ],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 1, "maximum": 100},
                                    "minSize": {"type": "integer", "default": 1},
                                    "replicas": {"type": "integer", "minimum": 0, "default": 1},
                                    "color": {
                                        "type": "string",
                                        "enum": ["red", "green", "blue"],
                                        "default": "red",
                                    },
                                    "label": {
                                        "type": "string",
                                        "maxLength": 8,
                                        "pattern": "^[a-z]+$",
                                    },
                                    "tags": {
                                        "type": "array",
                                        "maxItems": 2,
                                        "items": {"type": "string"},
                                    },
                                    "extra": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "properties": {
                                    "phase": {"type": "string"},
                                    "replicas": {"type": "integer"},
                                    "selector": {"type": "string"},
                                },
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    },
}


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One emulator (no kubelet) shared by the portable tests of the session."""
    cluster = Cluster(
        state_dir=tmp_path_factory.mktemp("emulator"), kubelet=False, bookmark_interval=0.5
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kubeconfig(request: pytest.FixtureRequest) -> Path:
    real = os.environ.get("BLACKROAD_TEST_KUBECONFIG")
    if real:
        return Path(real)
    emulator: Cluster = request.getfixturevalue("emulator")
    return emulator.kubeconfig


@pytest.fixture(scope="session")
def kube(kubeconfig: Path) -> Kube:
    return Kube(kubeconfig)


KubectlFn = Callable[..., subprocess.CompletedProcess[str]]


def make_kubectl(kubeconfig: Path, cache_dir: Path, namespace: str) -> KubectlFn:
    if not Path(KUBECTL).exists():
        pytest.fail(f"kubectl is required for the devcluster tests and was not found at {KUBECTL}")

    def kubectl(
        *args: str, input: str | None = None, timeout: float = 30, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [
            KUBECTL,
            "--kubeconfig",
            str(kubeconfig),
            "--cache-dir",
            str(cache_dir),
            "-n",
            namespace,
            *args,
        ]
        result = subprocess.run(
            command, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    return kubectl


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards (objects go with it)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    created = kube.post("/api/v1/namespaces", {"metadata": {"name": name}})
    assert created.status == 201, created.text
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture
def kubectl(
    kubeconfig: Path, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> KubectlFn:
    return make_kubectl(kubeconfig, tmp_path_factory.getbasetemp() / "kubectl-cache", namespace)


def apply_crd(kube: Kube, crd: dict[str, Any]) -> None:
    name = crd["metadata"]["name"]
    existing = kube.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
    if existing.status == 200:
        body = {
            **crd,
            "metadata": {
                **crd["metadata"],
                "resourceVersion": existing.body["metadata"]["resourceVersion"],
            },
        }
        response = kube.put(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}", body)
    else:
        response = kube.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert response.status in (200, 201), response.text
    plural = crd["spec"]["names"]["plural"]
    group, version = crd["spec"]["group"], crd["spec"]["versions"][0]["name"]
    wait_for(
        lambda: kube.get(f"/apis/{group}/{version}/{plural}").status == 200,
        what=f"CRD {name} to be served",
    )


@pytest.fixture(scope="session")
def widgets(kube: Kube) -> str:
    """The Widget CRD, applied once; returns the collection path prefix for a namespace."""
    apply_crd(kube, WIDGET_CRD)
    return f"/apis/{GROUP}/v1"


def widget(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"size": 3, **spec},
    }


def wait_for(condition: Callable[[], Any], *, timeout: float = 10, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def to_yaml(*docs: dict[str, Any]) -> str:
    return yaml.safe_dump_all(docs)
