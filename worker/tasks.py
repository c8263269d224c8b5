"""Celery tasks: thin wrappers that decode JSON arguments, call the service layer and encode the answer.

They are shared tasks, so every app ``make_app`` builds has them, each running with its own app's
runtime (``app.runtime``). Jobs (scan, dispatch) are idempotent: acknowledged late, re-queued if their
worker dies, retried with backoff when the database is unreachable. The task API
(``xingtu.publish_order`` and friends) answers with the order JSON of the CLI contract, or
``{"error": {"code", "message"}}`` for a refusal or a database failure. It is never retried by the
worker: a retried publish would be a second order, and a retried accept or confirm would answer
invalid_state for an action that succeeded. Callers decide.
"""

from celery import Task, shared_task
from sqlalchemy.exc import DBAPIError, OperationalError

from models.states import Role
from worker.clock import utcnow
from worker.database.unit_of_work import transaction
from worker.errors import InvalidInput, XingtuError
from worker.formats.serialize import order_json, violation_json
from worker.runtime import runs
from worker.services import cancellation, orders, sanctions

JOB = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="xingtu.scan", **JOB)
def scan(self) -> dict:
    result, more = runs.scan(self.app.runtime)
    if more:
        self.apply_async()
    return result.as_dict()


@shared_task(name="xingtu.dispatch", **JOB)
def dispatch(self) -> dict:
    result, more = runs.dispatch(self.app.runtime)
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


def _answer(task: Task, use_case, build_arguments, *args, to_json=order_json, **kwargs) -> dict:
    """Run one use case for a caller by name: its JSON (an order's, unless told), or its refusal as data."""
    try:
        if args:
            raise InvalidInput("arguments", "pass arguments by name (kwargs), not by position")
        try:
            arguments = build_arguments(**kwargs)
        except TypeError as exc:
            raise InvalidInput("arguments", f"unexpected or missing arguments: {exc}") from None
        runtime = task.app.runtime
        with transaction(runtime.sessions, runtime.after_commit) as session:
            return to_json(use_case(session, runtime.settings, now=utcnow(), **arguments))
    except XingtuError as error:
        return {"error": error.as_dict()}
    except DBAPIError as exc:  # possibly during COMMIT: the outcome is unknown, so never retried here
        message = str(exc.orig or exc).strip().splitlines()[0]
        return {"error": {"code": "database_unavailable", "message": f"the database failed ({message}); the"
                          " action may or may not have been applied: read the order before trying again"}}  # fmt: skip


@shared_task(name="xingtu.publish_order", bind=True)
def publish_order(self, *args, **kwargs) -> dict:
    def build(*, client_id, creator_id, title, amount_fen):
        return {"client_id": _id("client_id", client_id), "creator_id": _id("creator_id", creator_id),
                "title": title, "amount_fen": amount_fen}  # fmt: skip

    return _answer(self, orders.publish, build, *args, **kwargs)


@shared_task(name="xingtu.accept_order", bind=True)
def accept_order(self, *args, **kwargs) -> dict:
    def build(*, order_id, creator_id):
        return {"order_id": _id("order_id", order_id), "creator_id": _id("creator_id", creator_id)}

    return _answer(self, orders.accept, build, *args, **kwargs)


@shared_task(name="xingtu.record_upload", bind=True)
def record_upload(self, *args, **kwargs) -> dict:
    def build(*, order_id, creator_id, video):
        return {"order_id": _id("order_id", order_id), "creator_id": _id("creator_id", creator_id), "video": video}

    return _answer(self, orders.upload, build, *args, **kwargs)


@shared_task(name="xingtu.complete_order", bind=True)
def complete_order(self, *args, **kwargs) -> dict:
    def build(*, order_id, client_id):
        return {"order_id": _id("order_id", order_id), "client_id": _id("client_id", client_id)}

    return _answer(self, orders.complete, build, *args, **kwargs)


@shared_task(name="xingtu.request_cancellation", bind=True)
def request_cancellation(self, *args, **kwargs) -> dict:
    def build(*, order_id, reason, client_id=None, creator_id=None):
        return {"order_id": _id("order_id", order_id), "reason": reason, **_party(client_id, creator_id)}

    return _answer(self, cancellation.request, build, *args, **kwargs)


@shared_task(name="xingtu.respond_to_cancellation", bind=True)
def respond_to_cancellation(self, *args, **kwargs) -> dict:
    def build(*, order_id, answer, client_id=None, creator_id=None, reason=None):
        return {"order_id": _id("order_id", order_id), "answer": answer, "reason": reason,
                **_party(client_id, creator_id)}  # fmt: skip

    return _answer(self, cancellation.respond, build, *args, **kwargs)


@shared_task(name="xingtu.withdraw_cancellation", bind=True)
def withdraw_cancellation(self, *args, **kwargs) -> dict:
    def build(*, order_id, client_id=None, creator_id=None):
        return {"order_id": _id("order_id", order_id), **_party(client_id, creator_id)}

    return _answer(self, cancellation.withdraw, build, *args, **kwargs)


@shared_task(name="xingtu.record_violation", bind=True)
def record_violation(self, *args, **kwargs) -> dict:
    def build(*, creator_id, evidence):
        return {"creator_id": _id("creator_id", creator_id), "evidence": evidence}

    return _answer(self, sanctions.record, build, *args, to_json=violation_json, **kwargs)
