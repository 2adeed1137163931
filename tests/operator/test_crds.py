"""Unit: the checked-in CRDs and field reference match the models, and are structural."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from queue_operator.crddocs import render_docs
from queue_operator.crdgen import ROOT, render

CRDS = ROOT / "crds"


def test_checked_in_crds_match_the_models() -> None:
    files = render()
    on_disk = {p.name for p in CRDS.iterdir() if p.is_file()}
    assert on_disk == set(files), "run `make crds`"
    for name, text in files.items():
        assert (CRDS / name).read_text() == text, f"crds/{name} drifted: run `make crds`"


def test_checked_in_docs_match_the_models() -> None:
    assert (ROOT / "docs" / "crds.md").read_text() == render_docs(), "run `make crds`"


def _walk(node: Any, path: str = "") -> Any:
    if isinstance(node, dict):
        yield path, node
        for key, child in node.items():
            yield from _walk(child, f"{path}.{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _walk(child, f"{path}[{i}]")


def test_schemas_are_structural_and_documented() -> None:
    for path in CRDS.glob("*s.yaml"):
        if path.name == "kopf-peering.yaml":
            continue
        crd = yaml.safe_load(Path(path).read_text())
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        for where, node in _walk(schema["properties"]["spec"]):
            assert not {"anyOf", "$ref", "title", "allOf"} & set(node), where
            if where.endswith(".properties") or where.endswith(".x-kubernetes-validations"):
                continue
            if "type" in node or "x-kubernetes-preserve-unknown-fields" in node:
                documented = node.get("description") or where.endswith(
                    (".items", ".additionalProperties")
                )
                assert documented, f"{path}{where}"
            assert node.get("additionalProperties") is not False, where


def test_printer_columns_and_subresources() -> None:
    jq = yaml.safe_load((CRDS / "jobqueues.yaml").read_text())["spec"]
    assert jq["names"]["shortNames"] == ["jq"]
    assert jq["names"]["categories"] == ["blackroad"]
    columns = [c["name"] for c in jq["versions"][0]["additionalPrinterColumns"]]
    for name in ("Pending", "Running", "Delayed", "Dead", "Oldest", "Paused", "Ready", "Age"):
        assert name in columns
    wp = yaml.safe_load((CRDS / "workerpools.yaml").read_text())["spec"]["versions"][0]
    assert wp["subresources"]["scale"]["specReplicasPath"] == ".spec.replicas"
    columns = [c["name"] for c in wp["additionalPrinterColumns"]]
    assert columns == ["Queues", "Desired", "Ready", "Backlog", "Age"]
