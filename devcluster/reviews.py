"""Answers to access and identity reviews: no authorization here, so everything is allowed."""

from __future__ import annotations

from typing import Any

from devcluster.resources import ResourceType

JSON = dict[str, Any]

REASON = "the devcluster has no authentication or authorization: everything is allowed"
#: Who every client is (kube-apiserver's own admin identity, as kind gives its kubeconfig).
USER = {"username": "devcluster-admin", "groups": ["system:masters", "system:authenticated"]}


def answer(rt: ResourceType, body: JSON) -> JSON:
    """The review with its status filled: allowed, every rule, or the fixed identity."""
    if rt.kind == "SelfSubjectAccessReview":
        status: JSON = {"allowed": True, "reason": REASON}
    elif rt.kind == "SelfSubjectRulesReview":
        status = {
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False,
            "evaluationError": REASON,
        }
    else:
        status = {"userInfo": USER}
    metadata = {k: v for k, v in (body.get("metadata") or {}).items() if k == "name"}
    return {
        "apiVersion": rt.api_version,
        "kind": rt.kind,
        "metadata": {**metadata, "creationTimestamp": None},
        "spec": body.get("spec") or {},
        "status": status,
    }
