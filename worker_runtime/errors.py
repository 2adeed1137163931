"""The engine's exceptions, and the one place where Lua return codes become them."""

from __future__ import annotations


class QueueError(Exception):
    """Base class of every error the engine raises."""


class InvalidArgumentError(QueueError, ValueError):
    """An argument (a priority, a delay, a name, a setting) is out of range or malformed.

    ``field`` is the engine's name of the argument at fault (``priority``, ``rate_limit``,
    ``queue``) when one is, so a caller can point at its own name for it (the operator
    names the custom resource's field) without reading the message.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PayloadError(InvalidArgumentError):
    """A payload is not JSON-serialisable; nothing was written."""


class PayloadTooLargeError(PayloadError):
    """A payload is over the queue's max_payload_bytes; nothing was written."""


class JobNotFoundError(QueueError, LookupError):
    """No job with that id exists (in that queue, or in any known queue)."""


class QueueNotFoundError(QueueError, LookupError):
    """No queue of that name exists (none was ever configured or enqueued to)."""


class QueueBusyError(QueueError):
    """The queue has jobs running (or schedules) and cannot be deleted without --force."""


class InvalidStateError(QueueError):
    """The job is not in a state that allows the operation."""


class LeaseLostError(QueueError):
    """The caller's lease expired or was taken over; its outcome was refused."""


class JobCancelledError(QueueError):
    """The job was cancelled (a worker's outcome for it is refused; a waiter gets this)."""


class JobDeadError(QueueError):
    """The job ended in the dead letters: its retries ran out, or it failed for good."""


class WaitTimeoutError(QueueError, TimeoutError):
    """The job did not finish within the time the caller was willing to wait."""


class RedisUnavailableError(QueueError):
    """Redis cannot serve this now: unreachable, timed out, loading its data, a replica
    during a failover (READONLY), busy with a script, ... Nothing was written; try again.

    The message is Redis's (or the socket's) own text, never the URL or a password;
    ``code`` is Redis's error code (``READONLY``, ``LOADING``) when Redis replied with one,
    None when it could not be reached.
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class NotReplicatedError(RedisUnavailableError):
    """A durable write reached the master, but no replica confirmed it in time (``WAIT``):
    a failover now could lose it. Sending it again is safe when it is idempotent (an
    enqueue with its ``job_id`` or ``dedupe_key``)."""


class StorageFullError(RedisUnavailableError):
    """Redis refuses writes because it is out of memory (``OOM``, at ``maxmemory``) or
    cannot persist them (``MISCONF``, a full disk); nothing was written."""


class ConfigError(QueueError):
    """The engine or a script is misconfigured (a bug, not bad user input)."""


#: Negative codes shared by the Lua scripts (see each script's header).
LEASE_LOST = -1
CANCELLED = -2
NOT_FOUND = -4
NOT_RETRYABLE = -5
QUEUE_BUSY = -6
QUEUE_HAS_SCHEDULES = -7
PAYLOAD_TOO_LARGE = -10
BAD_PRIORITY = -11


def error_for(code: int, context: str) -> QueueError:
    """The exception for a negative script return code; ``context`` names the job or field."""
    if code == LEASE_LOST:
        return LeaseLostError(f"{context}: lease lost; another attempt owns this job now")
    if code == CANCELLED:
        return JobCancelledError(f"{context}: the job was cancelled while it ran")
    if code == NOT_FOUND:
        return JobNotFoundError(f"{context}: no such job")
    if code == NOT_RETRYABLE:
        return InvalidStateError(f"{context}: only dead or cancelled jobs can be retried")
    if code == QUEUE_BUSY:
        return QueueBusyError(f"{context}: jobs are running; stop its workers first, or --force")
    if code == QUEUE_HAS_SCHEDULES:
        return QueueBusyError(
            f"{context}: cron schedules enqueue to it; 'blackroad schedule remove' them first"
        )
    if code == PAYLOAD_TOO_LARGE:
        return PayloadTooLargeError(
            f"{context}: payload is over the queue's max_payload_bytes", field="payload"
        )
    if code == BAD_PRIORITY:
        return InvalidArgumentError(
            f"{context}: priority must be an integer from 0 to 10", field="priority"
        )
    return ConfigError(f"{context}: unexpected script return code {code}")
