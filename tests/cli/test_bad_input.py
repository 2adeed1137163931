"""Generated ``job enqueue`` command lines: bad input exits 2 in one line with nothing
written, good input prints the job it stored, payload exactly as given; never exit 1."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import redis
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from tests.cli.conftest import Run, Snapshot, assert_one_line_error
from tests.engine.bad_inputs import VALID, canonical, clean_text, digest, json_values, surrogate
from worker_runtime.cli import cli
from worker_runtime.client import SyncClient
from worker_runtime.engine import writes
from worker_runtime.engine.prepare import prepare
from worker_runtime.models import JobSpec

OPTIONS = ("payload", "delay", "timeout", "priority", "max-attempts", "dedupe-key", "id")
ARGS = ("queue", "name", *OPTIONS)


def _nested_text(depth: int) -> str:
    return "[" * depth + "]" * depth


#: Valid command-line values of each argument and option, as text.
GOOD: dict[str, st.SearchStrategy[str]] = {
    "queue": VALID["queue"],
    "name": VALID["job_name"],
    "payload": st.builds(lambda v, a: json.dumps(v, ensure_ascii=a), json_values, st.booleans())
    | st.integers(1, 128).map(_nested_text),
    "delay": st.sampled_from(["0", "250ms", "30s", "1h30m", "3650d", "1.5"]),
    "timeout": st.sampled_from(["1ms", "90s", "7d", "168h"]),
    "priority": st.sampled_from(["high", "0", "10", "BULK"]),
    "max-attempts": st.integers(1, 1000).map(str),
    "dedupe-key": clean_text.filter(bool),
    "id": st.from_regex(r"[\x21-\x7e]{1,40}", fullmatch=True),
}
surrogate_text = st.builds(lambda a, s: a + s, clean_text, surrogate)
#: Bad values, as a shell (with surrogateescape) or a script would pass them.
BAD: dict[str, st.SearchStrategy[str]] = {
    "queue": st.sampled_from(["a b", "{q}", "q:{x}", "q\n", "", "é"]) | surrogate_text,
    "name": st.sampled_from(["", "a\nb"]) | surrogate_text,
    "payload": st.sampled_from(
        ['"\\ud800"', '{"\\udc80": 1}', '["a\\udfff"]', "1e999", "-Infinity", "NaN", "{oops"]
    )
    | st.integers(129, 3000).map(_nested_text)
    | st.just(_nested_text(10_000))
    | st.just("9" * 5000),
    "delay": st.sampled_from(
        ["99999999999999999999d", "9" * 400 + "s", "3651d", "1e3s", "-1s", "soon", ""]
    ),
    "timeout": st.sampled_from(["0s", "8d", "99999999999999999999d", "9" * 400]),
    "priority": st.sampled_from(["11", "-1", "9" * 30, "top", "1.5"]),
    "max-attempts": st.sampled_from(["0", "1001", "9" * 30, "x", "2.5"]),
    "dedupe-key": st.sampled_from(["", "k" * 257]) | surrogate_text,
    "id": st.sampled_from(["a b", "id\n", "", "é", "x" * 201]) | surrogate_text,
}


def _command(values: dict[str, str]) -> list[str]:
    options = [f"--{k}={values[k]}" for k in OPTIONS if k in values]
    return ["-o", "json", "job", "enqueue", *options, "--", values["queue"], values["name"]]


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[dict[str, str], frozenset[str]]:
    bad = draw(st.just(frozenset()) | st.frozensets(st.sampled_from(ARGS), min_size=1, max_size=2))
    given_options = draw(st.sets(st.sampled_from(OPTIONS[1:])))
    wanted = {"queue", "name", "payload"} | given_options | bad
    values = {k: draw((BAD if k in bad else GOOD)[k], label=k) for k in ARGS if k in wanted}
    return values, bad


@settings(
    max_examples=80,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=command_lines())
def test_generated_enqueue_command_lines(
    redis_url: str, case: tuple[dict[str, str], frozenset[str]]
) -> None:
    values, bad = case
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    r.flushall()
    r.set("seed", "kept")
    before = digest(r)
    result = CliRunner().invoke(cli, ["--redis-url", redis_url, *_command(values)])
    event("refused" if bad else "accepted")
    if bad:
        assert_one_line_error(result, 2)
        assert digest(r) == before
    else:
        assert result.exit_code == 0, result.output
        printed: dict[str, Any] = json.loads(result.stdout)
        with SyncClient(redis_url) as c:
            stored = c.get_job(printed["id"], values["queue"])
        assert stored is not None and stored.name == values["name"]
        sent = json.loads(values["payload"])
        assert canonical(printed["payload"]) == canonical(stored.payload) == canonical(sent)
        assert printed.get("dedupe_key") == values.get("dedupe-key")
        assert printed["id"] == values.get("id", printed["id"])
    r.close()


def test_the_overflowing_delay_of_the_report_writes_nothing(run: Run, snapshot: Snapshot) -> None:
    before = snapshot()
    args = ("job", "enqueue", "fz", "job", "--payload", "{}")
    result = run(*args, "--delay", "99999999999999999999d")
    assert_one_line_error(result, 2, "--delay", "at most 3650d")
    assert snapshot() == before
    assert run(*args, "--delay", "3650d").exit_code == 0


def test_a_job_due_beyond_year_9999_still_prints(run: Run, sync_client: SyncClient) -> None:
    """Jobs stored before the bounds existed may be due that late; the table shows them."""
    far = dataclasses.replace(prepare(JobSpec("q", "j", {"a": 1}, job_id="far")), delay_ms=10**15)
    sync_client.run(writes.enqueue("q", [far]))
    result = run("job", "info", "far", "--queue", "q")
    assert result.exit_code == 0, result.output
    assert "ms after the Unix epoch" in result.stdout
