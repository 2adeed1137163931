"""The script call of a plain one-job enqueue (a name, a payload, a priority), packed from
parts made once per queue, name and priority: byte for byte what ``writes.enqueue`` and
``store.evalsha`` make for that job, at a fraction of the cost."""

from __future__ import annotations

from worker_runtime.engine import writes
from worker_runtime.engine.bodies import plain_meta_line
from worker_runtime.engine.pipelining import Command, bulk
from worker_runtime.engine.prepare import PreparedJob
from worker_runtime.engine.store import evalsha_parts

#: A template's parts: the command up to the job id's length, what follows the id up to
#: the body's length, the body's meta line, and what follows the body; and the SHA.
Template = tuple[bytes, bytes, bytes, bytes, str]

_TEMPLATES: dict[tuple[str, str, int], Template] = {}
#: Bound of that cache (names and queues are the caller's to choose).
_TEMPLATES_MAX = 4096
#: The id and body of the sample job a template is cut from.
_SAMPLE_ID = "sampleid"
_SAMPLE_BODY = "sample body"


def plain_enqueue(queue: str, name: str, priority: int, job_id: bytes, payload: bytes) -> Command:
    """The EVALSHA of one plain job, its queue, name and priority checked by the caller."""
    template = _TEMPLATES.get((queue, name, priority))
    if template is None:
        template = _template(queue, name, priority)
    head, middle, meta, tail, sha = template
    data = b"%b%d\r\n%b%b$%d\r\n%b%b%b" % (
        head,
        len(job_id),
        job_id,
        middle,
        len(meta) + len(payload),
        meta,
        payload,
        tail,
    )
    return sha, data


def _template(queue: str, name: str, priority: int) -> Template:
    job = plain_job(queue, name, priority, _SAMPLE_ID, _SAMPLE_BODY)
    sha, words, args = evalsha_parts(writes.enqueue(queue, [job]))
    # The layout writes.enqueue gives one job: wake, 1, the job's six, then its counters.
    at = args.index(_SAMPLE_ID)
    if args[at + 5] != job.body:
        raise AssertionError(f"writes.enqueue's arguments changed: {args}")
    head = b"*%d\r\n%b$" % (len(words) + len(args), bulk([*words, *args[:at]]))
    middle = b"\r\n" + bulk(args[at + 1 : at + 5])
    meta = job.body.removesuffix(_SAMPLE_BODY).encode()
    tail = b"\r\n" + bulk(args[at + 6 :])
    if len(_TEMPLATES) >= _TEMPLATES_MAX:
        _TEMPLATES.clear()
    template = _TEMPLATES[queue, name, priority] = (head, middle, meta, tail, sha)
    return template


def plain_job(queue: str, name: str, priority: int, job_id: str, payload: str) -> PreparedJob:
    """The job ``plain_enqueue`` sends, as the general path has it (to read its reply)."""
    body = plain_meta_line(name, priority) + payload
    return PreparedJob(queue, job_id, priority, -1, -1, "", body, len(payload.encode()), True, name)
