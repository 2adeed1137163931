"""kopf 1.45 against the cluster: a minimal operator run with `kopf.testing.KopfRunner`."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kopf
import pytest
from kopf.testing import KopfRunner

from tests.devcluster.conftest import GROUP, apply_crd, wait_for, widget
from tests.devcluster.kube import Kube


def _log(message: str) -> None:
    # KopfRunner swaps sys.stdout while it runs; the original stderr is always safe.
    print(f"[kopf-test] {message}", file=sys.__stderr__)


class Seen:
    """What the handlers observed, shared with the test thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []

    def add(self, kind: str, name: str) -> None:
        with self.lock:
            self.events.append((kind, name))
        _log(f"{kind} {name}")

    def has(self, kind: str, name: str) -> bool:
        with self.lock:
            return (kind, name) in self.events


def _registry(seen: Seen) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    resource = (GROUP, "v1", "widgets")

    # A private registry has none of kopf's default login handlers: name one explicitly.
    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_with_kubeconfig(**kwargs)

    @kopf.on.create(*resource, id="created", registry=registry)
    def created(
        name: str, spec: Any, body: kopf.Body, patch: kopf.Patch, **_: Any
    ) -> dict[str, Any]:
        seen.add("create", name)
        kopf.info(body, reason="Observed", message="seen by the test operator")
        patch.status["phase"] = "Created"
        return {"size": spec["size"]}

    @kopf.on.update(*resource, id="updated", field="spec.size", registry=registry)
    def updated(name: str, new: Any, patch: kopf.Patch, **_: Any) -> None:
        seen.add("update", name)
        patch.status["phase"] = f"Resized-{new}"

    @kopf.timer(*resource, id="ticked", interval=0.5, registry=registry)
    def ticked(name: str, **_: Any) -> None:
        if not seen.has("timer", name):
            seen.add("timer", name)

    @kopf.on.delete(*resource, id="deleted", registry=registry)
    def deleted(name: str, **_: Any) -> None:
        seen.add("delete", name)

    return registry


@pytest.fixture
def operator_env(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    yield


def _settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.watching.server_timeout = 10
    settings.posting.level = 0
    return settings


def test_kopf_operator_lifecycle(
    operator_env: None, kube: Kube, namespace: str, widgets: str
) -> None:
    seen = Seen()
    path = f"{widgets}/namespaces/{namespace}/widgets"
    args = ["run", "--standalone", "--namespace", namespace, "--verbose"]
    with KopfRunner(args, registry=_registry(seen), settings=_settings(), timeout=30) as runner:
        assert kube.post(path, widget("w")).status == 201
        wait_for(lambda: seen.has("create", "w"), what="create handler", timeout=20)
        status = wait_for(
            lambda: (kube.get(f"{path}/w").body.get("status") or {}).get("created"),
            what="handler result in status",
            timeout=20,
        )
        assert status == {"size": 3}
        assert kube.get(f"{path}/w").body["status"]["phase"] == "Created"
        finalizers = kube.get(f"{path}/w").body["metadata"].get("finalizers") or []
        assert "kopf.zalando.org/KopfFinalizerMarker" in finalizers

        kube.patch(f"{path}/w", {"spec": {"size": 9}})
        wait_for(lambda: seen.has("update", "w"), what="update handler", timeout=20)
        wait_for(
            lambda: kube.get(f"{path}/w").body["status"].get("phase") == "Resized-9",
            what="status patch from update",
            timeout=20,
        )
        wait_for(lambda: seen.has("timer", "w"), what="timer", timeout=20)

        kube.delete(f"{path}/w")
        wait_for(lambda: seen.has("delete", "w"), what="delete handler", timeout=20)
        wait_for(
            lambda: kube.get(f"{path}/w").status == 404,
            what="finalizer removal to finish the delete",
            timeout=20,
        )

        def posted() -> bool:
            events = kube.get(f"/api/v1/namespaces/{namespace}/events").body["items"]
            return any(
                e["involvedObject"].get("name") == "w" and e["reason"] == "Observed" for e in events
            )

        wait_for(posted, what="kopf to post k8s events about its handlers", timeout=20)
    assert runner.exit_code == 0, runner.output
    assert runner.exception is None


def _peering_crd(kind: str, plural: str, scope: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.kopf.dev"},
        "spec": {
            "group": "kopf.dev",
            "scope": scope,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


def test_kopf_peering_over_applied_crds(
    operator_env: None, kube: Kube, namespace: str, widgets: str
) -> None:
    apply_crd(kube, _peering_crd("KopfPeering", "kopfpeerings", "Namespaced"))
    apply_crd(kube, _peering_crd("ClusterKopfPeering", "clusterkopfpeerings", "Cluster"))
    peerings = f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings"
    created = kube.post(
        peerings,
        {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "default"}},
    )
    assert created.status == 201, created.text
    args = ["run", "--peering=default", "--namespace", namespace]
    with KopfRunner(args, registry=_registry(Seen()), settings=_settings(), timeout=30) as runner:
        wait_for(
            lambda: kube.get(f"{peerings}/default").body.get("status"),
            what="kopf to announce itself in the peering object",
            timeout=20,
        )
    assert runner.exit_code == 0, runner.output


def _pod_registry(seen: Seen) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_with_kubeconfig(**kwargs)

    # kopf drops handlers on a resource whose discovery lacks the verbs it needs (patch for
    # its progress annotations): before pods took patches, neither handler ever ran.
    @kopf.on.create("v1", "pods", id="pod-created", registry=registry)
    def created(name: str, patch: kopf.Patch, **_: Any) -> None:
        seen.add("create", name)
        patch.metadata.labels["handled"] = "yes"

    @kopf.on.update(
        "v1", "pods", id="pod-relabelled", field="metadata.labels.tier", registry=registry
    )
    def relabelled(name: str, new: Any, patch: kopf.Patch, **_: Any) -> None:
        seen.add(f"tier={new}", name)
        patch.metadata.annotations["example.com/tier-seen"] = str(new)

    return registry


def _pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"tier": "low"}},
        "spec": {"containers": [{"name": "main", "image": "python:3.11"}]},
    }


def test_kopf_handlers_on_pods(operator_env: None, kube: Kube, namespace: str) -> None:
    seen = Seen()
    path = f"/api/v1/namespaces/{namespace}/pods"
    args = ["run", "--standalone", "--namespace", namespace, "--verbose"]
    with KopfRunner(args, registry=_pod_registry(seen), settings=_settings(), timeout=30) as runner:
        assert kube.post(path, _pod("p")).status == 201
        wait_for(lambda: seen.has("create", "p"), what="the pod's create handler", timeout=20)
        wait_for(
            lambda: kube.get(f"{path}/p").body["metadata"]["labels"].get("handled") == "yes",
            what="the create handler's label patch on the pod",
            timeout=20,
        )
        assert kube.patch(f"{path}/p", {"metadata": {"labels": {"tier": "high"}}}).status == 200
        wait_for(lambda: seen.has("tier=high", "p"), what="the pod's update handler", timeout=20)
        wait_for(
            lambda: (
                kube.get(f"{path}/p").body["metadata"]["annotations"].get("example.com/tier-seen")
                == "high"
            ),
            what="the update handler's annotation patch on the pod",
            timeout=20,
        )
        kube.delete(f"{path}/p")
        wait_for(lambda: kube.get(f"{path}/p").status == 404, what="the pod deleted", timeout=20)
    assert runner.exit_code == 0, runner.output
    assert runner.exception is None
