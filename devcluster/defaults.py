"""Per-kind preparation of built-in objects on write: defaults, derived status, checks."""

from __future__ import annotations

import base64
import zlib
from typing import Any

from devcluster import errors
from devcluster.resources import CRD_CLEANUP_FINALIZER, ResourceType

JSON = dict[str, Any]


def _pull_policy(image: str) -> str:
    # kube-apiserver: Always for an untagged or :latest image (a digest counts as a tag).
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def pod_spec(pod: JSON) -> None:
    """The PodSpec defaults of kube-apiserver for the fields our objects use."""
    pod.setdefault("restartPolicy", "Always")
    pod.setdefault("terminationGracePeriodSeconds", 30)
    pod.setdefault("dnsPolicy", "ClusterFirst")
    pod.setdefault("securityContext", {})
    pod.setdefault("schedulerName", "default-scheduler")
    for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
        if not isinstance(container, dict):
            continue
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("imagePullPolicy", _pull_policy(str(container.get("image", ""))))
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def _deployment(obj: JSON) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxSurge", "25%")
        rolling.setdefault("maxUnavailable", "25%")
    pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))


def _pod(obj: JSON) -> None:
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


def _secret(obj: JSON) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None) or {}
    data = obj.setdefault("data", {})
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()


def _service(obj: JSON) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if "clusterIP" not in spec:
        # A stable fake address: there is no service network, only loopback.
        digest = zlib.crc32(obj["metadata"]["name"].encode())
        spec["clusterIP"] = f"10.96.{digest >> 8 & 0xFF}.{digest & 0xFF or 1}"
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))


def _namespace(obj: JSON) -> None:
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    phase = "Terminating" if obj["metadata"].get("deletionTimestamp") else "Active"
    obj["status"] = {"phase": phase}


def _crd(obj: JSON, old: JSON | None) -> None:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    causes = []
    for field in ("group", "names", "scope", "versions"):
        if not spec.get(field):
            causes.append((f"spec.{field}", "Required value"))
    if causes:
        raise errors.invalid(
            "CustomResourceDefinition", "apiextensions.k8s.io", obj["metadata"]["name"], causes
        )
    expected = f"{names.get('plural')}.{spec['group']}"
    if obj["metadata"]["name"] != expected:
        raise errors.invalid(
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            obj["metadata"]["name"],
            [
                (
                    "metadata.name",
                    f'Invalid value: "{obj["metadata"]["name"]}": '
                    f'must be spec.names.plural+"."+spec.group',
                )
            ],
        )
    if old is None:
        finalizers = obj["metadata"].setdefault("finalizers", [])
        if CRD_CLEANUP_FINALIZER not in finalizers:
            finalizers.append(CRD_CLEANUP_FINALIZER)
    accepted = {
        "kind": names.get("kind"),
        "listKind": names.get("listKind") or f"{names.get('kind')}List",
        **names,
    }
    versions = spec["versions"]
    stored = [v["name"] for v in versions if v.get("storage")] or [versions[0]["name"]]
    obj["status"] = {
        "acceptedNames": accepted,
        "storedVersions": stored,
        "conditions": [
            {
                "type": "NamesAccepted",
                "status": "True",
                "reason": "NoConflicts",
                "message": "no conflicts found",
            },
            {
                "type": "Established",
                "status": "True",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
            },
        ],
    }


def prepare(rt: ResourceType, obj: JSON, old: JSON | None) -> None:
    """Fill the defaults kube-apiserver fills for this kind, and refuse what it refuses."""
    if rt.custom:
        return
    if rt.kind == "Deployment":
        _deployment(obj)
    elif rt.kind == "Pod" and old is None:
        _pod(obj)
    elif rt.kind == "Secret":
        _secret(obj)
    elif rt.kind == "Service":
        _service(obj)
    elif rt.kind == "Namespace":
        _namespace(obj)
    elif rt.kind == "CustomResourceDefinition":
        _crd(obj, old)
