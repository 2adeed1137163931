"""CRDs: served once applied, validated against openAPIV3Schema, defaulted, pruned, CEL."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.devcluster.conftest import GROUP, WIDGET_CRD, apply_crd, wait_for, widget
from tests.devcluster.kube import Kube


def _create(kube: Kube, widgets: str, namespace: str, body: dict[str, Any], **params: str) -> Any:
    return kube.post(f"{widgets}/namespaces/{namespace}/widgets", body, params=params or None)


def test_defaults_are_applied(kube: Kube, namespace: str, widgets: str) -> None:
    created = _create(kube, widgets, namespace, widget("w")).body
    assert created["spec"] == {"size": 3, "minSize": 1, "replicas": 1, "color": "red"}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"size": "three"}, "spec.size"),
        ({"size": 0}, "spec.size"),
        ({"size": 101}, "spec.size"),
        ({"size": 3, "color": "purple"}, "spec.color"),
        ({"size": 3, "label": "waytoolongforit"}, "spec.label"),
        ({"size": 3, "label": "UPPER"}, "spec.label"),
        ({"size": 3, "tags": ["a", "b", "c"]}, "spec.tags"),
        ({"color": "red"}, "spec.size"),
    ],
)
def test_invalid_specs_are_422(
    kube: Kube, namespace: str, widgets: str, spec: dict[str, Any], field: str
) -> None:
    body = widget("w")
    body["spec"] = spec
    response = _create(kube, widgets, namespace, body)
    assert response.status == 422, response.text
    assert response.body["reason"] == "Invalid"
    assert field in response.body["message"]
    assert field in [cause["field"] for cause in response.body["details"]["causes"]]


def test_cel_rule_rejects(kube: Kube, namespace: str, widgets: str) -> None:
    response = _create(kube, widgets, namespace, widget("w", size=2, minSize=5))
    assert response.status == 422
    assert "minSize must not exceed size" in response.body["message"]


def test_unknown_fields_pruned_with_warning(kube: Kube, namespace: str, widgets: str) -> None:
    response = _create(kube, widgets, namespace, widget("w", bogus=1, extra={"free": True}))
    assert response.status == 201
    assert "bogus" not in response.body["spec"]
    assert response.body["spec"]["extra"] == {"free": True}
    assert 'unknown field \\"spec.bogus\\"' in response.headers.get("Warning", "")


def test_unknown_fields_rejected_when_strict(kube: Kube, namespace: str, widgets: str) -> None:
    response = _create(kube, widgets, namespace, widget("w", bogus=1), fieldValidation="Strict")
    assert response.status == 400
    assert 'unknown field "spec.bogus"' in response.body["message"]


def test_updates_are_validated_too(kube: Kube, namespace: str, widgets: str) -> None:
    _create(kube, widgets, namespace, widget("w"))
    response = kube.patch(f"{widgets}/namespaces/{namespace}/widgets/w", {"spec": {"size": -1}})
    assert response.status == 422


def test_crd_status_and_deletion_removes_custom_resources(kube: Kube, namespace: str) -> None:
    crd = copy.deepcopy(WIDGET_CRD)
    crd["metadata"]["name"] = f"gadgets.{GROUP}"
    crd["spec"]["names"] = {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"}
    apply_crd(kube, crd)
    base = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.{GROUP}"
    conditions = {c["type"]: c["status"] for c in kube.get(base).body["status"]["conditions"]}
    assert conditions["Established"] == "True"
    gadgets = f"/apis/{GROUP}/v1/namespaces/{namespace}/gadgets"
    body = {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Gadget",
        "metadata": {"name": "g"},
        "spec": {"size": 1},
    }
    assert kube.post(gadgets, body).status == 201
    kube.delete(base)
    wait_for(lambda: kube.get(base).status == 404, what="CRD to go", timeout=30)
    wait_for(lambda: kube.get(gadgets).status == 404, what="gadgets to stop being served")


def test_crd_name_must_match_plural_and_group(kube: Kube) -> None:
    crd = copy.deepcopy(WIDGET_CRD)
    crd["metadata"]["name"] = f"wrong.{GROUP}"
    response = kube.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert response.status == 422
