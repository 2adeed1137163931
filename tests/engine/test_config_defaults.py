"""Queue setting defaults have one source (models.StoredConfig): QueueConfig, Lua, the
JobQueue model and the CRD schema all agree with it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from pydantic.alias_generators import to_camel

from queue_operator.models.jobqueue import JobQueueSpec
from worker_runtime import Client
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys, ScriptKeys
from worker_runtime.engine.lua import build
from worker_runtime.engine.lua.generated import config_defaults
from worker_runtime.errors import PayloadTooLargeError
from worker_runtime.models import JobSpec, StoredConfig
from worker_runtime.queue_config import AgingRule, QueueConfig

CRD = Path(__file__).parents[2] / "crds" / "jobqueues.yaml"
FIELDS = list(QueueConfig.model_fields)
#: Lists the JobQueue leaves unset (None) to mean "the engine's default".
ENGINE_FILLED = {"weights", "aging_rules"}


def read_defaults_in_lua(r: redis.Redis) -> dict[str, Any]:
    """Every field as readConfig sees it on a queue with no stored config."""
    text = "--[[ K.config ]]\n--@include config\n"
    text += f"return cjson.encode(readConfig(K.config, {{ {', '.join(map(repr, FIELDS))} }}))\n"
    script = build("defaults", text, ScriptKeys.of("config"))
    reply = r.eval(script.source, 1, QueueKeys.of("q").config)
    found: dict[str, Any] = json.loads(str(reply))
    return found


def test_lua_reads_every_unset_field_as_the_queueconfig_default(r: redis.Redis) -> None:
    stored = QueueConfig().to_redis()
    seen = read_defaults_in_lua(r)
    for name in FIELDS:
        default = QueueConfig.model_fields[name].get_default(call_default_factory=True)
        if default is None:
            assert name not in seen, name
        elif isinstance(default, int) and not isinstance(default, bool):
            assert seen[name] == default, name
        else:
            assert seen[name] == stored[name], name
    assert set(seen) == set(config_defaults())


async def test_scripts_apply_the_defaults(client: Client, r: redis.Redis) -> None:
    defaults = QueueConfig()
    limit = defaults.max_payload_bytes
    fits = writes.prepare(JobSpec("q", "j", "x" * (limit - 2)))  # JSON adds two quotes
    (created,) = await client.store.run(writes.enqueue("q", [fits]))
    assert created.outcome == "created"
    with pytest.raises(PayloadTooLargeError):
        await client.store.run(
            writes.enqueue("q", [writes.prepare(JobSpec("q", "j", "x" * limit))])
        )
    got = await client.store.run(writes.claim("q", "w", 1))
    assert got.lease_ms == defaults.lease_ms
    (job,) = got.jobs
    before = int(r.time()[0]) * 1000
    fail = writes.fail("q", job.id, job.token, reason="Error", error="boom", draw=0.0)
    outcome = await client.store.run(fail)
    after = int(r.time()[0]) * 1000 + 1000
    assert outcome.outcome == "retry" and outcome.due_ms is not None
    assert before <= outcome.due_ms - defaults.backoff_base_ms <= after


def test_queueconfig_validates_exactly_the_stored_fields_with_their_defaults() -> None:
    assert [f.name for f in dataclasses.fields(StoredConfig)] == FIELDS
    assert QueueConfig().stored() == StoredConfig()
    assert QueueConfig().to_redis() == StoredConfig().to_redis()
    changed = QueueConfig(
        timeout_ms=5000,
        rate_limiter="shared",
        weights={0: 3.0},
        aging_rules=[AgingRule(from_priority=5, to_priority=0, after_ms=60_000)],
    )
    raw = changed.to_redis()
    assert StoredConfig.from_redis(raw) == changed.stored()
    assert QueueConfig.from_redis(raw) == changed


def test_the_worker_reads_a_stored_config_without_validating_it() -> None:
    raw = {**QueueConfig(max_running=4).to_redis(), "rate_limit": "", "~uses": "1"}
    read = StoredConfig.from_redis(raw)
    assert (read.max_running, read.rate_limit, read.timeout_ms) == (4, None, 300_000)


def test_the_jobqueue_model_takes_the_engine_defaults() -> None:
    for name, info in JobQueueSpec.model_fields.items():
        if name not in QueueConfig.model_fields:
            continue
        engine = QueueConfig.model_fields[name].get_default(call_default_factory=True)
        expected = None if name in ENGINE_FILLED else engine
        assert info.default == expected, name


def test_the_crd_schema_defaults_are_the_engine_defaults() -> None:
    crd = yaml.safe_load(CRD.read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    properties = schema["properties"]["spec"]["properties"]
    for name in FIELDS:
        default = QueueConfig.model_fields[name].get_default(call_default_factory=True)
        prop = properties[to_camel(name)]
        if default is None or name in ENGINE_FILLED:
            assert "default" not in prop, name
        else:
            assert prop["default"] == default, name
