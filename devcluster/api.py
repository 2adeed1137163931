"""The API semantics of reads and writes: metadata, preconditions, subresources, finalizers."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from devcluster import (
    apply,
    defaults,
    errors,
    gc,
    meta,
    official,
    patching,
    schema,
    validation,
)
from devcluster.resources import CRD_KEY, Registry, ResourceType
from devcluster.selectors import field_matcher, label_matcher
from devcluster.store import Store

JSON = dict[str, Any]

#: Metadata the server owns: a write may not change these.
_SERVER_FIELDS = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")


@dataclass
class WriteOptions:
    """Query parameters every write takes."""

    field_validation: str = "Warn"  # Strict | Warn | Ignore
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    #: Who writes (managedFields); None for the devcluster's own writes (kubelet, GC).
    field_manager: str | None = None
    #: A server-side apply (and whether it takes fields from other managers).
    applying: bool = False
    force: bool = False


def render(rt: ResourceType, obj: JSON) -> JSON:
    """The stored object as seen through one served version."""
    if obj.get("apiVersion") == rt.api_version and obj.get("kind") == rt.kind:
        return obj
    return {**obj, "apiVersion": rt.api_version, "kind": rt.kind}


def _spec_part(rt: ResourceType, obj: JSON) -> JSON:
    skip = {"metadata", "status"} if rt.status_subresource else {"metadata"}
    return {k: v for k, v in obj.items() if k not in skip}


def _managed_on_create(rt: ResourceType, obj: JSON, opts: WriteOptions) -> None:
    """An apply brings its own managedFields; any other create owns every field it sets."""
    if opts.applying:
        return
    obj["metadata"].pop("managedFields", None)
    if opts.field_manager:
        apply.record_update(rt, None, obj, opts.field_manager)


class Api:
    """Every read and write of the emulator goes through here, from HTTP or the kubelet."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self._collecting = False

    # -- reads -------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> JSON:
        obj = self.store.get(rt.key, namespace, name)
        if obj is None:
            raise errors.not_found(rt.group, rt.plural, name)
        return render(rt, obj)

    def listing(
        self, rt: ResourceType, namespace: str | None, labels: str | None, fields: str | None
    ) -> JSON:
        match_labels, match_fields = label_matcher(labels), field_matcher(fields)
        items = [
            render(rt, obj)
            for obj in self.store.objects(rt.key, namespace)
            if match_labels(obj) and match_fields(obj)
        ]
        return {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(self.store.rv)},
            "items": items,
        }

    # -- create ------------------------------------------------------------------------

    def _require_namespace(self, rt: ResourceType, namespace: str) -> None:
        if not rt.namespaced:
            return
        ns = self.store.get(("", "namespaces"), "", namespace)
        if ns is None:
            raise errors.not_found("", "namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                f"unable to create new content in namespace {namespace} "
                "because it is being terminated"
            )

    def _admit(self, rt: ResourceType, obj: JSON, old: JSON | None, opts: WriteOptions) -> None:
        name = obj["metadata"].get("name", "")
        if rt.custom:
            outcome = schema.admit(rt.schema, obj, old)
            unknown = [f'unknown field "{path}"' for path in outcome.unknown_fields]
            if unknown and opts.field_validation == "Strict":
                raise errors.bad_request(
                    f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                    f"strict decoding error: {', '.join(unknown)}"
                )
            if opts.field_validation == "Warn":
                opts.warnings.extend(unknown)
            if outcome.causes:
                raise errors.invalid(rt.kind, rt.group, name, outcome.causes)
        else:
            validation.check(rt, obj, old)
            if opts.field_manager:  # a client's write; the kubelet's own are trusted
                official.check(rt, obj, opts)
        defaults.prepare(rt, obj, old)

    def create(self, rt: ResourceType, namespace: str, body: JSON, opts: WriteOptions) -> JSON:
        obj = copy.deepcopy(body)
        md = obj.setdefault("metadata", {})
        if rt.namespaced:
            if md.get("namespace", namespace) != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
            md["namespace"] = namespace
        else:
            md.pop("namespace", None)
        if not md.get("name"):
            if not md.get("generateName"):
                raise errors.invalid(
                    rt.kind,
                    rt.group,
                    "",
                    [("metadata.name", "Required value: name or generateName is required")],
                )
            md["name"] = md["generateName"] + meta.random_suffix()
        if not meta.is_dns_subdomain(md["name"]) and rt.kind != "Event":
            raise errors.invalid(
                rt.kind,
                rt.group,
                md["name"],
                [
                    (
                        "metadata.name",
                        f'Invalid value: "{md["name"]}": a lowercase RFC 1123 subdomain '
                        "must consist of lower case alphanumeric characters, '-' or '.', "
                        "and must start and end with an alphanumeric character",
                    )
                ],
            )
        self._require_namespace(rt, namespace)
        if self.store.get(rt.key, md.get("namespace", ""), md["name"]) is not None:
            raise errors.already_exists(rt.group, rt.plural, md["name"])
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if rt.status_subresource and rt.kind != "CustomResourceDefinition":
            obj.pop("status", None)
        for server_field in (*_SERVER_FIELDS, "resourceVersion", "generation"):
            md.pop(server_field, None)
        _managed_on_create(rt, obj, opts)
        self._admit(rt, obj, None, opts)
        md["uid"] = meta.new_uid()
        md["creationTimestamp"] = meta.now()
        if rt.generation:
            md["generation"] = 1
        if opts.dry_run:
            return obj
        md["resourceVersion"] = self.store.next_rv()
        self.store.put(rt.key, obj, "ADDED")
        self._after_write(rt)
        return obj

    # -- update ------------------------------------------------------------------------

    def _current(self, rt: ResourceType, namespace: str, name: str) -> JSON:
        old = self.store.get(rt.key, namespace, name)
        if old is None:
            raise errors.not_found(rt.group, rt.plural, name)
        return old

    def _check_precondition(self, rt: ResourceType, old: JSON, new: JSON) -> None:
        wanted = (new.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.group, rt.plural, old["metadata"]["name"])

    def _merge_subresource(self, rt: ResourceType, old: JSON, new: JSON, sub: str | None) -> JSON:
        """Status rules: main writes keep the old status, /status writes keep all but status."""
        if sub == "status":
            merged = copy.deepcopy(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            return merged
        if rt.status_subresource and rt.kind != "CustomResourceDefinition":
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        return new

    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: JSON,
        sub: str | None,
        opts: WriteOptions,
    ) -> JSON:
        """PUT: replace the object (or its status), honouring a resourceVersion precondition."""
        old = self._current(rt, namespace, name)
        if not isinstance(body.get("metadata"), dict):
            body = {**body, "metadata": {}}
        if body["metadata"].get("name", name) != name:
            raise errors.bad_request("the name of the object does not match the name on the URL")
        self._check_precondition(rt, old, body)
        new = self._merge_subresource(rt, old, copy.deepcopy(body), sub)
        self._track(rt, old, new, sub, opts)
        return self.commit(rt, old, new, opts)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        patch: Any,
        content_type: str,
        sub: str | None,
        opts: WriteOptions,
    ) -> JSON:
        old = self._current(rt, namespace, name)
        patched = patching.apply_patch(
            copy.deepcopy(render(rt, old)), patch, content_type, custom=rt.custom
        )
        self._check_precondition(rt, old, patched)
        new = self._merge_subresource(rt, old, patched, sub)
        self._track(rt, old, new, sub, opts)
        return self.commit(rt, old, new, opts)

    @staticmethod
    def _track(rt: ResourceType, old: JSON, new: JSON, sub: str | None, opts: WriteOptions) -> None:
        # Status writes keep the main managers as they are (the devcluster does not track
        # subresource managers).
        if sub is None and opts.field_manager:
            apply.record_update(rt, render(rt, old), new, opts.field_manager)

    def commit(self, rt: ResourceType, old: JSON, new: JSON, opts: WriteOptions) -> JSON:
        """Write `new` over `old`: keep server-owned metadata, bump generation, finish deletes."""
        old_md, md = old["metadata"], new.setdefault("metadata", {})
        if "managedFields" not in md and "managedFields" in old_md:
            md["managedFields"] = copy.deepcopy(old_md["managedFields"])
        for server_field in (*_SERVER_FIELDS, "name", "namespace", "generation"):
            if server_field in old_md:
                md[server_field] = old_md[server_field]
            else:
                md.pop(server_field, None)
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        self._admit(rt, new, old, opts)
        if rt.generation and _spec_part(rt, new) != _spec_part(rt, render(rt, old)):
            md["generation"] = old_md.get("generation", 1) + 1
        deleting = bool(old_md.get("deletionTimestamp"))
        added = set(md.get("finalizers") or []) - set(old_md.get("finalizers") or [])
        if deleting and added:
            raise errors.invalid(
                rt.kind,
                rt.group,
                md["name"],
                [
                    (
                        "metadata.finalizers",
                        "Forbidden: no new finalizers can be added if the object is being "
                        f"deleted, found new finalizers {sorted(added)}",
                    )
                ],
            )
        md["resourceVersion"] = old_md["resourceVersion"]
        if not md.get("finalizers"):
            md.pop("finalizers", None)
        if new == render(rt, old) or opts.dry_run:
            return new
        if deleting and not md.get("finalizers") and not self._namespace_finalizers(new):
            gone = self.store.remove(rt.key, new)
            self._after_write(rt)
            return gone
        md["resourceVersion"] = self.store.next_rv()
        self.store.put(rt.key, new, "MODIFIED")
        self._after_write(rt)
        return new

    @staticmethod
    def _namespace_finalizers(obj: JSON) -> list[str]:
        if obj.get("kind") != "Namespace":
            return []
        finalizers: list[str] = (obj.get("spec") or {}).get("finalizers") or []
        return finalizers

    # -- delete ------------------------------------------------------------------------

    def delete(
        self, rt: ResourceType, namespace: str, name: str, options: JSON, dry_run: bool = False
    ) -> JSON:
        old = self._current(rt, namespace, name)
        old_md = old["metadata"]
        preconditions = options.get("preconditions") or {}
        for key in ("uid", "resourceVersion"):
            if preconditions.get(key) and preconditions[key] != old_md.get(key):
                raise errors.conflict(rt.group, rt.plural, name)
        policy = options.get("propagationPolicy")
        if options.get("orphanDependents") is True:
            policy = "Orphan"
        finalizers = list(old_md.get("finalizers") or [])
        extra = {"Foreground": gc.FOREGROUND, "Orphan": gc.ORPHAN}.get(policy or "")
        if extra and extra not in finalizers:
            finalizers.append(extra)
        if dry_run:
            return render(rt, old)
        if not finalizers and not self._namespace_finalizers(old):
            gone = self.store.remove(rt.key, old)
            self._after_write(rt)
            return render(rt, gone)
        if old_md.get("deletionTimestamp") and finalizers == old_md.get("finalizers"):
            return render(rt, old)
        new = copy.deepcopy(old)
        md = new["metadata"]
        md["finalizers"] = finalizers
        md.setdefault("deletionTimestamp", meta.now())
        md.setdefault("deletionGracePeriodSeconds", 0)
        if rt.generation:
            md["generation"] = old_md.get("generation", 1) + 1
        if rt.kind == "Namespace":
            new["status"] = {"phase": "Terminating"}
        md["resourceVersion"] = self.store.next_rv()
        self.store.put(rt.key, new, "MODIFIED")
        self._after_write(rt)
        return render(rt, new)

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: str | None,
        fields: str | None,
        options: JSON,
    ) -> JSON:
        listing = self.listing(rt, namespace, labels, fields)
        for obj in listing["items"]:
            md = obj["metadata"]
            self.delete(rt, md.get("namespace", ""), md["name"], options)
        return listing

    # -- bookkeeping -------------------------------------------------------------------

    def _after_write(self, rt: ResourceType) -> None:
        if rt.kind == "CustomResourceDefinition":
            self.registry.sync_all(self.store.objects(CRD_KEY))
        if not self._collecting:
            self._collecting = True
            try:
                gc.collect(self)
            finally:
                self._collecting = False

    def resource_type(self, key: tuple[str, str]) -> ResourceType | None:
        types = self.registry.by_key(key)
        return types[0] if types else None
