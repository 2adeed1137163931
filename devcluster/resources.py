"""The resource types the emulator serves: built-ins plus those registered by CRDs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

#: The CRD finalizer that makes deleting a CRD delete its custom resources first.
CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")


@dataclass(frozen=True)
class ScaleSpec:
    """Where a resource keeps the numbers the `/scale` subresource reads and writes."""

    spec_replicas_path: str = ".spec.replicas"
    status_replicas_path: str = ".status.replicas"
    label_selector_path: str | None = None


@dataclass(frozen=True)
class ResourceType:
    """One served group/version/resource, with what the API must know about it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    scale: ScaleSpec | None = None
    #: Whether metadata.generation is tracked (bumped on spec changes).
    generation: bool = False
    #: Served only for reading and deleting: the kubelet owns these objects.
    kubelet_owned: bool = False
    #: Create-only and never stored: the answer is computed (access and identity reviews).
    review: bool = False
    custom: bool = False
    schema: JSON | None = field(default=None, compare=False)
    printer_columns: tuple[JSON, ...] = field(default=(), compare=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: all versions of one resource share their objects."""
        return (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


def _builtin(group: str, version: str, plural: str, kind: str, **kw: Any) -> ResourceType:
    singular = kw.pop("singular", kind.lower())
    return ResourceType(group, version, plural, kind, singular=singular, **kw)


BUILTINS: tuple[ResourceType, ...] = (
    _builtin(
        "",
        "v1",
        "namespaces",
        "Namespace",
        namespaced=False,
        short_names=("ns",),
        status_subresource=True,
    ),
    _builtin("", "v1", "events", "Event", namespaced=True, short_names=("ev",)),
    _builtin("", "v1", "configmaps", "ConfigMap", namespaced=True, short_names=("cm",)),
    _builtin("", "v1", "secrets", "Secret", namespaced=True),
    _builtin(
        "",
        "v1",
        "services",
        "Service",
        namespaced=True,
        short_names=("svc",),
        categories=("all",),
        status_subresource=True,
    ),
    _builtin("", "v1", "serviceaccounts", "ServiceAccount", namespaced=True, short_names=("sa",)),
    _builtin(
        "",
        "v1",
        "pods",
        "Pod",
        namespaced=True,
        short_names=("po",),
        categories=("all",),
        status_subresource=True,
        kubelet_owned=True,
    ),
    _builtin(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        namespaced=True,
        short_names=("deploy",),
        categories=("all",),
        status_subresource=True,
        scale=ScaleSpec(label_selector_path=".spec.selector"),
        generation=True,
    ),
    _builtin(
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        namespaced=True,
        short_names=("rs",),
        categories=("all",),
        status_subresource=True,
        generation=True,
    ),
    _builtin(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        namespaced=True,
        short_names=("pdb",),
        status_subresource=True,
        generation=True,
    ),
    _builtin("coordination.k8s.io", "v1", "leases", "Lease", namespaced=True),
    *(
        _builtin(group, "v1", kind.lower() + "s", kind, namespaced=False, review=True)
        for group, kind in (
            ("authorization.k8s.io", "SelfSubjectAccessReview"),
            ("authorization.k8s.io", "SelfSubjectRulesReview"),
            ("authentication.k8s.io", "SelfSubjectReview"),
        )
    ),
    _builtin("events.k8s.io", "v1", "events", "Event", namespaced=True, short_names=("ev",)),
    _builtin(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        short_names=("crd", "crds"),
        status_subresource=True,
        generation=True,
    ),
)


def types_from_crd(crd: JSON) -> list[ResourceType]:
    """The resource types one CustomResourceDefinition serves, one per served version."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    served: list[ResourceType] = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        scale = subresources.get("scale")
        served.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                kind=names["kind"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                singular=names.get("singular") or names["kind"].lower(),
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status_subresource="status" in subresources,
                scale=ScaleSpec(
                    spec_replicas_path=scale.get("specReplicasPath", ".spec.replicas"),
                    status_replicas_path=scale.get("statusReplicasPath", ".status.replicas"),
                    label_selector_path=scale.get("labelSelectorPath"),
                )
                if scale is not None
                else None,
                generation=True,
                custom=True,
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
            )
        )
    return served


class Registry:
    """Looks resource types up by group, version and plural (or kind)."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._by_crd: dict[str, list[ResourceType]] = {}
        for rt in BUILTINS:
            self._add(rt)

    def _add(self, rt: ResourceType) -> None:
        self._types[(rt.group, rt.version, rt.plural)] = rt

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def by_key(self, key: tuple[str, str]) -> list[ResourceType]:
        return [rt for rt in self._types.values() if rt.key == key]

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        for rt in self._types.values():
            if rt.api_version == api_version and rt.kind == kind:
                return rt
        return None

    def all(self) -> list[ResourceType]:
        return list(self._types.values())

    def group_versions(self) -> dict[str, list[str]]:
        """Every served group with its versions, the preferred (first-registered) first."""
        groups: dict[str, list[str]] = {}
        for rt in self._types.values():
            versions = groups.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return groups

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self._types.values() if (rt.group, rt.version) == (group, version)]

    def sync_crd(self, crd: JSON) -> None:
        """Serve (or re-serve, after an update) the resources of an applied CRD."""
        self.drop_crd(crd["metadata"]["name"])
        served = types_from_crd(crd)
        for rt in served:
            self._add(rt)
        self._by_crd[crd["metadata"]["name"]] = served

    def drop_crd(self, name: str) -> None:
        for rt in self._by_crd.pop(name, []):
            self._types.pop((rt.group, rt.version, rt.plural), None)

    def sync_all(self, crds: list[JSON]) -> None:
        """Serve exactly the resources of the CRDs currently stored."""
        names = {crd["metadata"]["name"] for crd in crds}
        for name in set(self._by_crd) - names:
            self.drop_crd(name)
        for crd in crds:
            self.sync_crd(crd)
