"""Read-only engine operations: job details, queue stats, the queue and worker registries.

Each is one MULTI block (or one read-only script), so its figures are one snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, get_args

from worker_runtime.engine.keys import QUEUES, STATE_SETS, WORKERS, QueueKeys, worker_key
from worker_runtime.engine.operation import Op, parse_record
from worker_runtime.models import Attempt, AttemptOutcome, Job, JobState, QueueStats


def read_config(queue: str) -> Op[dict[str, str]]:
    return Op(lambda r: dict(r[0]), commands=[("HGETALL", QueueKeys.of(queue).config)])


def stats(queue: str) -> Op[QueueStats]:
    k = QueueKeys.of(queue)

    def parse(r: list[Any]) -> QueueStats:
        now, counts, oldest = int(r[0]), [int(x) for x in r[1:7]], int(r[7])
        pending, delayed, running, completed, dead, cancelled = counts
        return QueueStats(
            queue,
            pending,
            delayed,
            running,
            completed,
            dead,
            cancelled,
            oldest_pending_age_ms=max(0, now - oldest) if oldest >= 0 else None,
            paused=bool(int(r[8])),
            waiting=int(r[9]),
        )

    return Op(parse, "stats", k.for_script("stats"), [])


#: Finished jobs are listed newest first; the other states in the order the engine takes
#: them (pending: priority, then FIFO; delayed: due time; running: lease deadline).
_NEWEST_FIRST = frozenset({"completed", "dead", "cancelled"})


def job_ids(queue: str, state: str, offset: int, limit: int) -> Op[list[str]]:
    """One page of the ids in one state set."""
    k = QueueKeys.of(queue)
    command = "ZREVRANGE" if state in _NEWEST_FIRST else "ZRANGE"
    page = (command, k.state_set(state), offset, offset + limit - 1)
    return Op(lambda r: [str(i) for i in r[0]], commands=[page])


def queue_exists(queue: str) -> Op[bool]:
    return Op(lambda r: bool(int(r[0])), commands=[("SISMEMBER", QUEUES, queue)])


def locate(queues: Sequence[str], job_id: str) -> Op[str | None]:
    """The queue that holds ``job_id``, probing each known queue."""

    def parse(r: list[Any]) -> str | None:
        return next((q for q, found in zip(queues, r, strict=True) if found), None)

    return Op(parse, commands=[("HEXISTS", QueueKeys.of(q).jobs, job_id) for q in queues])


def _decode_or_raw(text: str) -> Any:
    """A payload, or its raw text when a foreign producer wrote something that is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return text


#: The reason of an attempt whose history entry could not be read (its raw text is the error).
UNREADABLE = "(unreadable history entry)"
_OUTCOMES = frozenset(get_args(AttemptOutcome))


def _attempt(n: int, entry: Any) -> Attempt:
    """One history entry; one written by anything but the engine is kept as its raw text,
    in ``error`` (a reader shows it rather than failing on the whole job)."""
    try:
        if entry["o"] not in _OUTCOMES:
            raise ValueError(entry["o"])
        reason, error, priority = entry.get("r"), entry.get("err"), entry.get("p")
        return Attempt(
            int(entry["a"]),
            str(entry["w"]),
            int(entry["s"]),
            int(entry["e"]),
            entry["o"],
            None if reason is None else str(reason),
            None if error is None else str(error),
            None if priority is None else int(priority),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return Attempt(n, "", 0, 0, "failed", UNREADABLE, json.dumps(entry, ensure_ascii=False))


def _history(raw: str | None) -> list[Attempt]:
    if not raw:
        return []
    try:
        entries = json.loads("[" + raw + "]")
    except ValueError:  # not the engine's comma-joined JSON objects: show it as it is
        return [Attempt(1, "", 0, 0, "failed", UNREADABLE, raw)]
    return [_attempt(n, e) for n, e in enumerate(entries, 1)]


def _progress(raw: str | None) -> dict[str, Any] | None:
    """The handler's last report; anything but a JSON object as ``{"raw": text}``."""
    if not raw:
        return None
    found = _decode_or_raw(raw)
    return found if isinstance(found, dict) else {"raw": raw}


def job_info(queue: str, job_id: str) -> Op[Job | None]:
    k = QueueKeys.of(queue)
    commands: list[tuple[str | int | float, ...]] = [("HGET", k.jobs, job_id)]
    commands += [("ZSCORE", getattr(k, s), job_id) for s in STATE_SETS]
    commands += [("HGET", key, job_id) for key in (k.lease, k.att, k.hist, k.result, k.reason)]
    commands += [("SISMEMBER", k.cancelreq, job_id), ("HGET", k.progress, job_id)]
    commands += [("HGET", k.deps, job_id), ("HGET", k.dependants, job_id)]
    states = len(STATE_SETS)

    def parse(r: list[Any]) -> Job | None:
        if r[0] is None:
            return None
        try:
            enq, meta, payload = parse_record(r[0])
            meta["n"], meta["p"] = str(meta["n"]), int(meta["p"])
        except (ValueError, KeyError, TypeError):  # a foreign producer's malformed record
            enq, meta, payload = 0, {"n": "(undecodable record)", "p": 5}, json.dumps(r[0])
        scores = dict(zip(STATE_SETS, r[1 : 1 + states], strict=True))
        state = next((JobState(s) for s, v in scores.items() if v is not None), None)
        lease, att, hist, result, reason, cancel_req, prog, deps, dependants = r[1 + states :]
        history = _history(hist)
        job = Job(
            id=job_id,
            queue=queue,
            name=meta["n"],
            payload=_decode_or_raw(payload),
            state=state or JobState.PENDING,
            priority=int(meta["p"]),
            original_priority=int(meta["p"]),
            enqueued_ms=enq,
            attempts=len(history),
            max_attempts=meta.get("ma"),
            timeout_ms=meta.get("to"),
            dedupe_key=meta.get("dk"),
            history=history,
            result=_decode_or_raw(result) if result else None,
            reason=reason,
            cancel_requested=bool(cancel_req),
            rate_key=meta.get("rk"),
            progress=_progress(prog),
        )
        _dependencies(job, deps, dependants)
        if state is JobState.PENDING and scores["pending"] is not None:
            job.priority = int(float(scores["pending"]) // 10**13)  # raised by aging
        if state is JobState.RUNNING and lease:
            _token, job.worker, attempt = lease.split("|", 3)[:3]
            job.attempts = int(attempt)
            job.lease_deadline_ms = int(float(scores["running"]))
        elif att:
            job.attempts = int(att)
        if state is JobState.DELAYED:
            job.due_ms = int(float(scores["delayed"]))
        if state in (JobState.COMPLETED, JobState.DEAD, JobState.CANCELLED):
            job.finished_ms = int(float(scores[str(state)]))
            ran_at = [a.priority for a in job.history if a.priority is not None]
            if ran_at:
                job.priority = ran_at[-1]  # the level its last attempt ran at
        return job

    return Op(parse, commands=commands)


def _dependencies(job: Job, deps: str | None, dependants: str | None) -> None:
    """Fills in what ``job`` depends on (the ``deps`` entry) and what depends on it."""
    job.dependants = dependants.split("\n") if dependants else []
    if not deps:
        return
    try:
        d = json.loads(deps)
    except ValueError:
        return
    if not isinstance(d, dict):
        return
    # Lua's cjson writes an empty list as {}: any non-list reads as empty.
    on, left = d.get("on"), d.get("left")
    job.depends_on = [str(i) for i in on] if isinstance(on, list) else []
    job.waiting_on = [str(i) for i in left] if isinstance(left, list) else []
    job.on_dependency_failure = d.get("policy")
    job.dependency_note = d.get("note")


def live_workers() -> Op[list[str]]:
    return Op(lambda r: list(r[0]), commands=[("ZRANGE", WORKERS, 0, -1)])


def worker_descriptions(names: Sequence[str]) -> Op[list[dict[str, Any]]]:
    """The live ones of ``names``; a description that is not a JSON object (written by
    anything but a worker) reads as ``{"name": name, "unreadable": its text}``."""

    def describe(name: str, text: str) -> dict[str, Any]:
        found = _decode_or_raw(text)
        return found if isinstance(found, dict) else {"name": name, "unreadable": text}

    def parse(r: list[Any]) -> list[dict[str, Any]]:
        return [describe(n, v) for n, v in zip(names, r[0], strict=True) if v]

    return Op(parse, commands=[("MGET", *[worker_key(n) for n in names])])


def jobs_info(queue: str, job_ids: Sequence[str]) -> Op[list[Job]]:
    """Several jobs of one queue in one round trip; missing ones are left out."""
    single = [job_info(queue, i) for i in job_ids]
    width = len(single[0].commands) if single else 0

    def parse(r: list[Any]) -> list[Job]:
        found = [op.parse(r[n * width : (n + 1) * width]) for n, op in enumerate(single)]
        return [j for j in found if j is not None]

    return Op(parse, commands=[c for op in single for c in op.commands])
