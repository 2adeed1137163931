"""Pure pieces of the emulator: selectors, patches, schema admission, ages."""

from __future__ import annotations

import pytest

from devcluster import errors, meta, patching, schema, selectors


def test_label_selector_forms() -> None:
    obj = {"metadata": {"labels": {"a": "1", "b": "2"}}}
    assert selectors.label_matcher("a=1,b in (2,3)")(obj)
    assert selectors.label_matcher("a,!c")(obj)
    assert not selectors.label_matcher("a notin (1)")(obj)
    assert not selectors.label_matcher("a!=1")(obj)
    assert (
        selectors.selector_to_string(
            {"matchLabels": {"x": "y"}, "matchExpressions": [{"key": "k", "operator": "Exists"}]}
        )
        == "x=y,k"
    )


def test_merge_patch_rfc7386() -> None:
    assert patching.merge_patch(
        {"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"c": None}, "l": [2]}
    ) == {"a": {"b": 1}, "l": [2]}


def test_strategic_merge_directives() -> None:
    target = {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}
    patch = {
        "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
        "containers": [{"name": "a", "image": "3"}],
    }
    assert patching.strategic_merge(target, patch) == {
        "containers": [{"name": "b", "image": "2"}, {"name": "a", "image": "3"}]
    }
    deleted = patching.strategic_merge(target, {"containers": [{"name": "a", "$patch": "delete"}]})
    assert deleted == {"containers": [{"name": "b", "image": "2"}]}


def test_json_patch_test_failure_is_422() -> None:
    with pytest.raises(errors.ApiError) as info:
        patching.json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
    assert info.value.code == 422


def test_schema_int_or_string_nullable_and_transition_rules() -> None:
    spec = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "port": {"x-kubernetes-int-or-string": True},
                    "note": {"type": "string", "nullable": True},
                    "mode": {
                        "type": "string",
                        "x-kubernetes-validations": [
                            {"rule": "self == oldSelf", "message": "mode is immutable"}
                        ],
                    },
                },
            }
        },
    }
    ok = {"spec": {"port": "http", "note": None, "mode": "a"}}
    assert schema.admit(spec, ok, None).causes == []
    changed = {"spec": {"port": 80, "mode": "b"}}
    causes = schema.admit(spec, changed, {"spec": {"mode": "a"}}).causes
    assert causes and "mode is immutable" in causes[0][1]


def test_human_age() -> None:
    assert meta.human_age(meta.now()) in ("0s", "1s")
