"""Celery tasks: thin wrappers that decode JSON arguments, call the service layer and encode the answer.

Jobs (scan, dispatch, send) are idempotent: acknowledged late, re-queued if their worker dies, retried
with backoff when the database is unreachable. The task API (``xingtu.publish_order`` and friends)
answers with the order JSON of the CLI contract, or ``{"error": {"code", "message"}}`` for a refusal
or a database failure; it is never retried by the worker.
"""

import logging
from functools import cache

from sqlalchemy.exc import DBAPIError, OperationalError

from models.states import Role
from worker import jobs
from worker.app import app, settings
from worker.clock import utcnow
from worker.db import transaction
from worker.errors import InvalidInput, XingtuError
from worker.runtime import Runtime
from worker.serialize import order_json, violation_json
from worker.services import cancellation, orders, sanctions

log = logging.getLogger(__name__)
TRANSIENT = (OperationalError,)
JOB = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 8,
}


@cache
def runtime() -> Runtime:
    return Runtime.build(settings, app)


@app.task(name="xingtu.scan", bind=True, **JOB)
def scan(self) -> dict:
    result, more = jobs.scan(runtime())
    if more:
        self.apply_async()
    return result.as_dict()


@app.task(name="xingtu.dispatch", bind=True, **JOB)
def dispatch(self) -> dict:
    result, more = jobs.dispatch(runtime())
    if more:
        self.apply_async()
    return vars(result)


# --- the task API ------------------------------------------------------------------------------------


def _id(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**63:
        raise InvalidInput(name, f"{name} must be a positive whole-number id; got {value!r}")
    return value


def _party(client_id: object = None, creator_id: object = None) -> dict:
    if (client_id is None) == (creator_id is None):
        raise InvalidInput("party", "give exactly one of client_id or creator_id")
    if client_id is not None:
        return {"role": Role.CLIENT, "actor_id": _id("client_id", client_id)}
    return {"role": Role.CREATOR, "actor_id": _id("creator_id", creator_id)}


def _answer(use_case, build_arguments, *args, to_json=order_json, **kwargs) -> dict:
    """Run one use case for a caller by name: its JSON (an order's, unless told), or its refusal as data."""
    try:
        if args:
            raise InvalidInput("arguments", "pass arguments by name (kwargs), not by position")
        try:
            arguments = build_arguments(**kwargs)
        except TypeError as exc:
            raise InvalidInput("arguments", f"unexpected or missing arguments: {exc}") from None
        rt = runtime()
        with transaction(rt.sessions, rt.after_commit) as session:
            return to_json(use_case(session, rt.settings, now=utcnow(), **arguments))
    except XingtuError as error:
        return {"error": error.as_dict()}
    except DBAPIError as exc:  # possibly during COMMIT: the outcome is unknown, so never retried here
        message = str(exc.orig or exc).strip().splitlines()[0]
        return {"error": {"code": "database_unavailable", "message": f"the database failed ({message}); the"
                          " action may or may not have been applied: read the order before trying again"}}  # fmt: skip


# The task API is not retried by the worker: a retried publish would be a second order, and a retried
# accept or confirm would answer invalid_state for an action that succeeded. Callers decide.
API_TASK: dict = {}


@app.task(name="xingtu.publish_order", **API_TASK)
def publish_order(*args, **kwargs) -> dict:
    def build(*, client_id, creator_id, title, amount_fen):
        return {"client_id": _id("client_id", client_id), "creator_id": _id("creator_id", creator_id),
                "title": title, "amount_fen": amount_fen}  # fmt: skip

    return _answer(orders.publish, build, *args, **kwargs)


@app.task(name="xingtu.accept_order", **API_TASK)
def accept_order(*args, **kwargs) -> dict:
    def build(*, order_id, creator_id):
        return {"order_id": _id("order_id", order_id), "creator_id": _id("creator_id", creator_id)}

    return _answer(orders.accept, build, *args, **kwargs)


@app.task(name="xingtu.record_upload", **API_TASK)
def record_upload(*args, **kwargs) -> dict:
    def build(*, order_id, creator_id, video):
        return {"order_id": _id("order_id", order_id), "creator_id": _id("creator_id", creator_id), "video": video}

    return _answer(orders.upload, build, *args, **kwargs)


@app.task(name="xingtu.complete_order", **API_TASK)
def complete_order(*args, **kwargs) -> dict:
    def build(*, order_id, client_id):
        return {"order_id": _id("order_id", order_id), "client_id": _id("client_id", client_id)}

    return _answer(orders.complete, build, *args, **kwargs)


@app.task(name="xingtu.request_cancellation", **API_TASK)
def request_cancellation(*args, **kwargs) -> dict:
    def build(*, order_id, reason, client_id=None, creator_id=None):
        return {"order_id": _id("order_id", order_id), "reason": reason, **_party(client_id, creator_id)}

    return _answer(cancellation.request, build, *args, **kwargs)


@app.task(name="xingtu.respond_to_cancellation", **API_TASK)
def respond_to_cancellation(*args, **kwargs) -> dict:
    def build(*, order_id, answer, client_id=None, creator_id=None, reason=None):
        return {"order_id": _id("order_id", order_id), "answer": answer, "reason": reason,
                **_party(client_id, creator_id)}  # fmt: skip

    return _answer(cancellation.respond, build, *args, **kwargs)


@app.task(name="xingtu.withdraw_cancellation", **API_TASK)
def withdraw_cancellation(*args, **kwargs) -> dict:
    def build(*, order_id, client_id=None, creator_id=None):
        return {"order_id": _id("order_id", order_id), **_party(client_id, creator_id)}

    return _answer(cancellation.withdraw, build, *args, **kwargs)


@app.task(name="xingtu.record_violation", **API_TASK)
def record_violation(*args, **kwargs) -> dict:
    def build(*, creator_id, evidence):
        return {"creator_id": _id("creator_id", creator_id), "evidence": evidence}

    return _answer(sanctions.record, build, *args, to_json=violation_json, **kwargs)
