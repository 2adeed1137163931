"""Unit: what the operator builds and what we ship are valid for real Kubernetes.

Built-in kinds are checked against the official Kubernetes schemas of every supported
version, as shipped by the kubernetes-validate package (strict: unknown fields fail), never
against the devcluster's idea of them. Our own custom resources (the examples) are checked
against the CRDs' generated OpenAPI schemas.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes_validate import utils as kv
from packaging.version import Version

from queue_operator.builders.deployment import (
    REDIS_TLS_DIR,
    Owner,
    SecretRef,
    build_deployment,
    termination_grace,
)
from queue_operator.builders.disruption import build_pdb
from queue_operator.constants import GROUP
from queue_operator.crdgen import ROOT
from queue_operator.metrics import OperatorMetrics
from queue_operator.models import WorkerPoolSpec

JSON = dict[str, Any]

# kubernetes-validate reads (and parses) the multi-megabyte definitions file on every call;
# the files never change, so parse each once (9 versions x ~40 documents otherwise: ~10 s).
kv.schema_contents = functools.lru_cache(maxsize=None)(kv.schema_contents)

#: The oldest Kubernetes minor we support; the newest is the newest the package ships.
OLDEST = Version("1.29")
SHIPPED = sorted({Version(v).release[:2] for v in kv.all_versions()})
VERSIONS = [f"{major}.{minor}" for major, minor in SHIPPED if Version(f"{major}.{minor}") >= OLDEST]
#: kustomize's own configuration files are not API objects.
NOT_API_OBJECTS = {"Kustomization"}
#: Third-party kinds with no schema in kubernetes-validate: checked in test_keda_example.
KEDA = ("keda.sh/v1alpha1", "ScaledObject")
# The Prometheus Operator's kinds: tests/metrics checks their fields against our pods and rules.
THIRD_PARTY = {
    KEDA,
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}

OWNER = Owner("agents", "jobs", "0b4c7f0e-3d1f-4a7e-9a55-8f9e1c2d3e4f")
REDIS = SecretRef("blackroad-redis", "url")

BASE: JSON = {
    "queues": [{"name": "lucidia"}, {"name": "alice"}],
    "image": "ghcr.io/blackroad/worker:0.1.0",
    "handlers": "worker_runtime.examples",
}
FULL: JSON = {
    **BASE,
    "imagePullPolicy": "IfNotPresent",
    "concurrency": 20,
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}},
    "env": [
        {"name": "LOG_LEVEL", "value": "debug"},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
    ],
    "envFrom": [{"configMapRef": {"name": "settings"}}, {"secretRef": {"name": "creds"}}],
    "pod": {
        "labels": {"team": "ml"},
        "annotations": {"prometheus.io/scrape": "true"},
        "nodeSelector": {"pool": "cpu"},
        "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                    ]
                }
            }
        },
        "serviceAccountName": "workers",
        "imagePullSecrets": ["registry"],
        "priorityClassName": "batch",
    },
    "terminationGracePeriodSeconds": 120,
    "disruptionBudget": {"maxUnavailable": "25%"},
    "autoscaling": {"minReplicas": 0, "maxReplicas": 20},
}
SPECS: dict[str, tuple[JSON, int | None]] = {
    "minimal": (BASE, None),
    "full overrides, explicit grace": (FULL, None),
    "grace from a long job timeout": ({**BASE, "maxGraceSeconds": 7200}, 5_400_000),
    "grace capped": ({**BASE, "maxGraceSeconds": 600}, 86_400_000),
    "external autoscaling": (
        {**BASE, "autoscaling": {"mode": "external"}, "disruptionBudget": {"minAvailable": 1}},
        None,
    ),
}


def violations(obj: JSON) -> list[str]:
    """Every supported version's complaint about ``obj`` (empty: valid everywhere)."""
    found = []
    for version in VERSIONS:
        try:
            kv.validate(obj, version, strict=True)
        except kv.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path)
            found.append(f"{version}: {where}: {exc.message}")
        except kv.SchemaNotFoundError as exc:
            found.append(f"{version}: {exc.message}")
    return found


def built(name: str) -> Iterator[JSON]:
    raw, timeout_ms = SPECS[name]
    spec = WorkerPoolSpec.model_validate(raw)
    external = spec.autoscaling is not None and spec.autoscaling.mode == "external"
    grace = termination_grace(spec, timeout_ms)
    yield build_deployment(OWNER, spec, "lucidia,alice", REDIS, None if external else 3, grace)
    if spec.disruption_budget is not None:
        yield build_pdb(OWNER, spec.disruption_budget)


def test_versions_cover_what_we_support() -> None:
    assert VERSIONS[0] == "1.29"
    assert Version(VERSIONS[-1]) >= Version("1.34"), VERSIONS


@pytest.mark.parametrize("name", list(SPECS))
def test_built_objects_are_valid_kubernetes(name: str) -> None:
    for obj in built(name):
        assert violations(obj) == [], f"{obj['kind']} of spec {name!r}"


def test_an_invalid_object_is_caught() -> None:
    # The check itself must bite (it reports the first problem of each version).
    misspelt = next(built("minimal"))
    misspelt["spec"]["replica"] = 2
    assert len(violations(misspelt)) == len(VERSIONS)
    mistyped = next(built("minimal"))
    mistyped["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "30"
    assert len(violations(mistyped)) == len(VERSIONS)
    pdb = build_pdb(OWNER, WorkerPoolSpec.model_validate(FULL).disruption_budget)  # type: ignore[arg-type]
    pdb["spec"]["maxUnavailable"] = 1.5
    assert len(violations(pdb)) == len(VERSIONS)


def test_the_redis_tls_secret_mount_is_validated_in_every_pool() -> None:
    # Every pool mounts the Redis Secret's optional TLS keys; the checks above see it only if
    # the builders keep producing it, so say so, and show a broken mount is caught.
    for name in SPECS:
        deployment = next(built(name))
        pod = deployment["spec"]["template"]["spec"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == "redis-tls"]
        assert volume["secret"]["secretName"] == REDIS.name, name
        assert volume["secret"]["optional"] is True, name
        (container,) = pod["containers"]
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == "redis-tls"]
        assert mount["mountPath"] == REDIS_TLS_DIR and mount["readOnly"] is True, name
        assert violations(deployment) == [], name
    broken = next(built("minimal"))
    (volume,) = [v for v in broken["spec"]["template"]["spec"]["volumes"] if "secret" in v]
    volume["secret"]["items"][0]["mode"] = "0400"  # an int32 in Kubernetes
    assert len(violations(broken)) == len(VERSIONS)


def shipped_documents() -> Iterator[tuple[str, JSON]]:
    for folder in ("manifests", "crds"):
        for path in sorted((ROOT / folder).rglob("*.yaml")):
            for index, doc in enumerate(yaml.safe_load_all(path.read_text())):
                if doc is not None:
                    yield f"{path.relative_to(ROOT)}#{index}", doc


DOCUMENTS = dict(shipped_documents())


def _kind(doc: JSON) -> tuple[str, str]:
    return str(doc.get("apiVersion")), str(doc.get("kind"))


def _crd_schemas() -> dict[tuple[str, str], JSON]:
    schemas = {}
    for where, doc in DOCUMENTS.items():
        if doc["kind"] != "CustomResourceDefinition" or not where.startswith("crds/"):
            continue
        for version in doc["spec"]["versions"]:
            api_version = f"{doc['spec']['group']}/{version['name']}"
            schemas[(api_version, doc["spec"]["names"]["kind"])] = version["schema"][
                "openAPIV3Schema"
            ]
    return schemas


#: Our custom resources and kopf's peering ones: (apiVersion, kind) -> the CRD's schema.
CUSTOM = _crd_schemas()


@pytest.mark.parametrize(
    "where",
    [
        w
        for w, d in DOCUMENTS.items()
        if d["kind"] not in NOT_API_OBJECTS
        and _kind(d) not in THIRD_PARTY
        and _kind(d) not in CUSTOM
    ],
)
def test_shipped_manifests_are_valid_kubernetes(where: str) -> None:
    assert violations(DOCUMENTS[where]) == []


@pytest.mark.parametrize("where", [w for w, d in DOCUMENTS.items() if _kind(d) in CUSTOM])
def test_custom_resource_examples_match_our_crds(where: str) -> None:
    doc = DOCUMENTS[where]
    schema = CUSTOM[_kind(doc)]
    # OpenAPI v3.0 schemas use draft 4's boolean exclusiveMinimum/Maximum.
    errors = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(doc)]
    assert errors == []
    if doc["kind"] == "WorkerPool":
        WorkerPoolSpec.model_validate(doc["spec"])  # and the operator parses it


def test_every_shipped_document_is_checked() -> None:
    kinds = {_kind(d) for d in DOCUMENTS.values()}
    assert ("policy/v1", "PodDisruptionBudget") in kinds  # the operator's own PDB
    assert ("autoscaling/v2", "HorizontalPodAutoscaler") in kinds
    assert ("keda.sh/v1alpha1", "ScaledObject") in kinds
    assert {(f"{GROUP}/v1alpha1", "WorkerPool"), ("kopf.dev/v1", "ClusterKopfPeering")} <= kinds


def test_keda_example() -> None:
    # KEDA's CRD is not in the Kubernetes schemas: check the fields KEDA requires and the
    # ones that tie it to our metric and pool.
    (scaled,) = [d for d in DOCUMENTS.values() if _kind(d) == KEDA]
    spec = scaled["spec"]
    # The fields of KEDA's ScaledObject CRD (keda.sh/v1alpha1) we use, by its schema's names.
    assert set(spec) <= {
        "scaleTargetRef",
        "minReplicaCount",
        "maxReplicaCount",
        "pollingInterval",
        "cooldownPeriod",
        "triggers",
    }
    assert set(spec["scaleTargetRef"]) <= {"apiVersion", "kind", "name"}
    assert all(isinstance(spec[k], int) for k in set(spec) - {"scaleTargetRef", "triggers"})
    assert spec["scaleTargetRef"]["kind"] == "Deployment"
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus"
    meta = trigger["metadata"]
    assert "blackroad_workerpool_backlog" in meta["query"]
    assert all(isinstance(meta[k], str) for k in ("serverAddress", "query", "threshold"))
    pools = [
        d
        for d in DOCUMENTS.values()
        if d["kind"] == "WorkerPool" and d["metadata"]["name"] == spec["scaleTargetRef"]["name"]
    ]
    assert pools and pools[0]["spec"]["autoscaling"]["mode"] == "external"


def test_hpa_example_reads_the_operators_backlog_through_the_adapter() -> None:
    # The schemas accept any metric name: check the HPA, the prometheus-adapter rule and the
    # series the operator exports name one another.
    hpas = [d for d in DOCUMENTS.values() if d["kind"] == "HorizontalPodAutoscaler"]
    assert hpas
    metrics = OperatorMetrics()
    exported = {family.name for family in metrics.registry.collect()}
    labels = set(metrics.pool_backlog._labelnames)
    (adapter,) = [
        d
        for d in DOCUMENTS.values()
        if d["kind"] == "ConfigMap" and "externalRules" in d.get("data", {}).get("config.yaml", "")
    ]
    rules = yaml.safe_load(adapter["data"]["config.yaml"])["externalRules"]
    served = {rule["name"]["as"]: rule for rule in rules}
    for hpa in hpas:
        spec = hpa["spec"]
        (metric,) = spec["metrics"]
        assert metric["type"] == "External"
        name = metric["external"]["metric"]["name"]
        assert name in exported and name in served, name
        assert name in served[name]["seriesQuery"]
        assert set(metric["external"]["metric"]["selector"]["matchLabels"]) <= labels
        assert spec["scaleTargetRef"]["kind"] == "Deployment"
        pools = [
            d
            for d in DOCUMENTS.values()
            if d["kind"] == "WorkerPool" and d["metadata"]["name"] == spec["scaleTargetRef"]["name"]
        ]
        assert pools and pools[0]["spec"]["autoscaling"]["mode"] == "external", hpa
        selector = metric["external"]["metric"]["selector"]["matchLabels"]
        assert selector.get("workerpool") == pools[0]["metadata"]["name"]
