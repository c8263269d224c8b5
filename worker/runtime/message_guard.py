"""The worker never dies of a message: a task message it cannot run is rejected with one log line.

Celery hands each task message to its task's *strategy* (``Task.Strategy``), which builds a ``Request``
from it in the worker's main process. The default one trusts the message's shape: a protocol 2 body
that is not ``[args, kwargs, embed]`` (a JSON object, a string, ``null``, ``[1]``, two items, args that
are not a list, kwargs that are not an object) makes it raise ValueError or TypeError, which the consumer
does not catch (only InvalidTaskError and ContentDisallowed become a rejection). So the worker logs
"Unrecoverable error", puts the message back on the queue and stops; every restart meets the same message
first, and the worker is dead for good. A missing or non-string ``id`` header, or a ``timelimit`` that
is not two numbers, ends the same way a little later (``req.id in revoked``, ``execute_using_pool``).
The consumer itself dies of a task name that is not a string (a list is unhashable) and of an unknown
task without a string id (Celery's ``on_unknown_task`` reads ``payload['id']`` and stores a failure
under it).

So every task of the app is a ``XingtuTask``, whose strategy ``guarded`` checks what the default one is
about to rely on (``message_problem``) before it builds the request (of whatever Request class the task
names), and the worker's consumer is a ``XingtuConsumer``, which treats such names and ids the same way.
A message that fails is rejected, not requeued (a redelivery would fail the same way), and logged as one
ERROR line::

    Rejected a malformed task message xingtu.publish_order[2f1c...]: the body is a JSON object without
    args, not the list [args, kwargs, embed]; body={'a': 1}

(in one line: the task name, the message id, what is wrong, a repr of the body clipped to 200
characters). A message Celery's own checks refuse while reading it (InvalidTaskError: an eta or expires
that is not a date) is rejected and logged the same way. A body that is not JSON at all, or of a content
type the app does not accept, never gets here: Celery's consumer rejects it itself (DecodeError,
ContentDisallowed) and the worker lives; so does an unknown task name with a string id (Celery's own
log, and NotRegistered stored for the caller).
"""

import logging
import reprlib
from collections.abc import Mapping

from celery import Task, signals
from celery.exceptions import InvalidTaskError
from celery.worker.consumer import Consumer
from celery.worker.strategy import default

log = logging.getLogger(__name__)

BODY_REPR_CHARS = 200
ID_CHARS = 80
PROBLEM_CHARS = 200
_EMBED_TYPES = {"callbacks": list, "errbacks": list, "chain": list, "chord": dict}
_repr = reprlib.Repr()  # bounded work too, whatever the size of the body (keyword arguments need Python 3.12)
_repr.maxlevel, _repr.maxlist, _repr.maxdict, _repr.maxstring, _repr.maxother, _repr.maxlong = 3, 8, 8, 80, 80, 40


def _kind(value: object) -> str:
    """A value's JSON type, to say what a field is (never its value, which may be anything)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    return type(value).__name__


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def message_problem(headers: Mapping, body: object) -> str | None:
    """What keeps Celery's default strategy from running a task message with these (decoded) headers and
    body, or None when nothing does. (Protocol 1 has no headers of its own: its body is also its headers.)

    The body is protocol 2's ``[args, kwargs, embed]`` (embed: null or an object), or an object with
    ``args`` (and ``kwargs``) of its own: protocol 1, or the hybrid Celery also reads. Either way args is a
    list and kwargs an object; callbacks, errbacks and chain are null or lists, chord null or an object.
    The message id (a header, or the object's ``id``) is a string; a ``timelimit`` is two numbers or nulls.
    Only what the worker reads before the task runs is checked: the arguments' values are the task's
    business (the task API answers ``{"error": ...}`` for them)."""
    if isinstance(body, Mapping):
        if "args" not in body:
            return "the body is a JSON object without args, not the list [args, kwargs, embed]"
        args, kwargs, embed = body["args"], body.get("kwargs", {}), body
        fields = {**body, **headers}
    elif isinstance(body, (list, tuple)):
        if len(body) != 3:
            return f"the body is {_kind(body)}, not the 3 of [args, kwargs, embed]"
        args, kwargs, embed = body
        fields = headers
    else:
        return f"the body is {_kind(body)}, not the list [args, kwargs, embed]"
    if not isinstance(args, (list, tuple)):
        return f"args is {_kind(args)}, not a list"
    if not isinstance(kwargs, Mapping):
        return f"kwargs is {_kind(kwargs)}, not an object"
    if embed is not None:
        if not isinstance(embed, Mapping):
            return f"embed is {_kind(embed)}, not an object or null"
        for name, kind in _EMBED_TYPES.items():
            if embed.get(name) is not None and not isinstance(embed[name], kind):
                wanted = "a list" if kind is list else "an object"
                return f"embed's {name} is {_kind(embed[name])}, not {wanted} or null"
    if problem := _id_problem(fields.get("id")):
        return problem
    limits = fields.get("timelimit")
    if limits and not (
        isinstance(limits, (list, tuple)) and len(limits) == 2 and all(v is None or _is_number(v) for v in limits)
    ):
        return f"timelimit is {_kind(limits)}, not [hard, soft] seconds"
    return None


def _id_problem(task_id: object) -> str | None:
    if isinstance(task_id, str) and task_id:
        return None
    return "the message has no id" if task_id in (None, "") else f"the message id is {_kind(task_id)}, not a string"


def _clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ident(value: object) -> str:
    if isinstance(value, str) and value.isprintable():
        return _clipped(value, ID_CHARS)
    return _clipped(_repr.repr(value), ID_CHARS)


def describe(name: object, task_id: object, body: object, problem: str) -> str:
    """The one log line for a rejected message, bounded whatever the message holds: the name and id
    clipped to ID_CHARS, the problem to PROBLEM_CHARS, a repr of the body to BODY_REPR_CHARS (a repr
    holds no newline, and the problem's whitespace is collapsed)."""
    problem = _clipped(" ".join(problem.split()), PROBLEM_CHARS)
    body_repr = _clipped(_repr.repr(body), BODY_REPR_CHARS)
    return f"Rejected a malformed task message {_ident(name)}[{_ident(task_id)}]: {problem}; body={body_repr}"


def _reject(consumer, message, name: object, task_id: object, body: object, problem: str) -> None:
    """Log the one line and reject the message for good (Redis: removed from the unacked set, never
    restored), as Celery's ``on_invalid_task`` does, task_rejected signal included."""
    log.error(describe(name, task_id, body, problem))
    message.reject_log_error(log, consumer.connection_errors)
    signals.task_rejected.send(sender=consumer, message=message, exc=InvalidTaskError(problem))


def guarded(task, app, consumer, **options):
    """Celery's default strategy behind ``message_problem``: a message it would choke on is rejected
    (not requeued) and logged as one line, and the worker goes on."""
    handle = default(task, app, consumer, **options)

    def task_message_handler(message, body, ack, reject, callbacks, **kwargs):
        if body is None:  # protocol 2 (or the hybrid): the consumer left decoding the body to the strategy
            headers, decoded = message.headers if isinstance(message.headers, Mapping) else {}, message.payload
        else:  # protocol 1: the decoded body is the headers too
            headers, decoded = {}, body
        problem = message_problem(headers, decoded)
        if problem is None:
            try:
                return handle(message, body, ack, reject, callbacks, **kwargs)
            except InvalidTaskError as exc:  # Celery's own checks (eta, expires), before anything is done with it
                problem = str(exc)
        fields = {**decoded, **headers} if isinstance(decoded, Mapping) else headers
        _reject(consumer, message, task.name, fields.get("id"), decoded, problem)

    return task_message_handler


class XingtuTask(Task):
    """The base class of every task of the app (``XingtuCelery(task_cls=...)``; shared tasks take the
    app's): its messages go through ``guarded``."""

    Strategy = f"{__name__}:guarded"


class TaskStrategies(dict):
    """The consumer's strategies by task name, where a name that is not a string is unknown (KeyError,
    which the consumer answers with ``on_unknown_task``) instead of a TypeError that stops the worker."""

    def __getitem__(self, name):
        if not isinstance(name, str):
            raise KeyError(name)
        return super().__getitem__(name)


class XingtuConsumer(Consumer):
    """Celery's consumer (the ``worker_consumer`` of the app), except for a message naming no task it
    knows: with a string name and id, Celery's ``on_unknown_task`` (its log, a rejection, NotRegistered
    stored for the caller); otherwise there is no id to store anything under, and the message is rejected
    with the one line."""

    Strategies = TaskStrategies

    def on_unknown_task(self, body, message, exc):
        headers = message.headers if isinstance(message.headers, Mapping) else {}
        payload = _payload(message) if body is None else body
        in_body = payload if isinstance(payload, Mapping) else {}
        looked_at = headers if "id" in headers and "task" in headers else in_body  # where Celery's version looks
        if isinstance(looked_at.get("task"), str) and not _id_problem(looked_at.get("id")):
            return super().on_unknown_task(body, message, exc)
        name, task_id = headers.get("task", in_body.get("task")), headers.get("id", in_body.get("id"))
        if not isinstance(name, str):
            problem = f"the task name is {_kind(name)}, not a string"
        elif id_problem := _id_problem(task_id):
            problem = f"no task has that name, and {id_problem}"
        else:
            problem = "no task has that name, and its name and id are not both in the headers or both in the body"
        _reject(self, message, name, task_id, payload, problem)


def _payload(message) -> object:
    """The decoded body, or the raw one when it does not decode (it is only looked at, for its id and the
    log line: the message is rejected either way)."""
    try:
        return message.payload
    except Exception:  # not JSON, or a content type the app does not accept
        return message.body
