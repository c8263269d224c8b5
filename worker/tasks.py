"""Celery tasks: thin wrappers that decode JSON arguments, call the service layer and encode the answer.

They are shared tasks, so every app ``make_app`` builds has them, each running with its own app's
runtime (``app.runtime``). Jobs (scan, dispatch) are idempotent: acknowledged late, re-queued if their
worker dies, retried with backoff when the database is unreachable.

The task API (``xingtu.publish_order`` and friends) answers with the JSON of the CLI contract (an
order's, a violation's, an account's), or ``{"error": {"code", "message"}}`` for a refusal or a
database failure. Every writing task takes an optional ``idempotency_key``: a call made again with
its key answers its first answer and changes nothing (``worker.services.idempotency``), so a call
with a key is re-queued when its worker dies and a caller may retry it freely. A call without a key
is taken once and never retried by the worker: a second publish would be a second order
(``worker.runtime.task_requests``). Callers decide.
"""

import inspect

from celery import Task, shared_task
from sqlalchemy.exc import DBAPIError, OperationalError

from models.states import Role
from worker.errors import InvalidInput, XingtuError
from worker.runtime import job_runs, runs
from worker.services import accounts, cancellation, idempotency, orders, sanctions

JOB = {
    "bind": True,
    "ignore_result": True,  # nobody waits for a job: beat's every run would leave a result in Redis for a day
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="xingtu.scan", **JOB)
def scan(self) -> dict:
    runtime = self.app.runtime
    result, more = job_runs.observed("scan", lambda: runs.scan(runtime), runtime.settings.sms_sender)
    if more:
        self.apply_async()
    return result.as_dict()


@shared_task(name="xingtu.dispatch", **JOB)
def dispatch(self) -> dict:
    runtime = self.app.runtime
    result, again = job_runs.observed("dispatch", lambda: runs.dispatch(runtime), runtime.settings.sms_sender)
    if again is not None:
        self.apply_async(countdown=again or None)
    return result.as_dict()


# --- the task API ------------------------------------------------------------------------------------


def _id(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**63:
        raise InvalidInput(name, f"{name} must be a positive whole-number id; got {value!r}")
    return value


ROLE_OF = {"client_id": Role.CLIENT, "creator_id": Role.CREATOR, "mcn_id": Role.MCN}


def _one_of(**ids: object) -> tuple[str, int]:
    """The one id given among ``ids`` (an MCN's id acts as the creator side), checked."""
    given = [(name, value) for name, value in ids.items() if value is not None]
    if len(given) != 1:
        raise InvalidInput("party", f"give exactly one of {' or '.join(ids)}")
    name, value = given[0]
    return name, _id(name, value)


def _party(**ids: object) -> dict:
    name, value = _one_of(**ids)
    return {"role": ROLE_OF[name], "actor_id": value}


def _arguments(name: str, build_arguments, kwargs: dict) -> dict:
    """The use case's arguments built from the caller's; a missing or unknown one is refused, named as
    the caller spells it (the keyword arguments of the README's table). The signature is read only then."""
    try:
        return build_arguments(**kwargs)
    except TypeError:
        taken = inspect.signature(build_arguments).parameters
        missing = [arg for arg, p in taken.items() if p.default is p.empty and arg not in kwargs]
        unknown = sorted(set(kwargs) - set(taken))
        found = (("missing", missing), ("does not take", unknown))
        problems = "; ".join(f"{what} {', '.join(names)}" for what, names in found if names)
        raise InvalidInput(
            "arguments", f"{name}: {problems} (it takes {', '.join(taken)} and idempotency_key)"
        ) from None


# The task API's writing tasks: each call is acknowledged late when it carries an idempotency key, as it
# starts when it does not (``worker.runtime.task_requests``).
API = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "Request": "worker.runtime.task_requests:TaskApiRequest",
}


def _answer(task: Task, use_case, build_arguments, *args, idempotency_key=None, **kwargs) -> dict:
    """Run one use case for a caller by name, once per idempotency key: the JSON of what it returned,
    or its refusal as data."""
    try:
        if args:
            raise InvalidInput("arguments", "pass arguments by name (kwargs), not by position")
        claim = idempotency.Claim.of(idempotency_key, task.name, kwargs)
        arguments = _arguments(task.name, build_arguments, kwargs)
        return idempotency.shown_once(task.app.runtime, claim, use_case, arguments)
    except XingtuError as error:
        return {"error": error.as_dict()}
    except DBAPIError as exc:  # possibly during COMMIT: the outcome is unknown, so never retried here
        message = str(exc.orig or exc).strip().splitlines()[0]
        return {"error": {"code": "database_unavailable", "message": f"the database failed ({message}); the"
                          " action may or may not have been applied: read the order before trying again"}}  # fmt: skip


@shared_task(name="xingtu.publish_order", **API)
def publish_order(self, *args, **kwargs) -> dict:
    def build(*, client_id, creator_id, title, amount_fen):
        return {"client_id": _id("client_id", client_id), "creator_id": _id("creator_id", creator_id),
                "title": title, "amount_fen": amount_fen}  # fmt: skip

    return _answer(self, orders.publish, build, *args, **kwargs)


@shared_task(name="xingtu.accept_order", **API)
def accept_order(self, *args, **kwargs) -> dict:
    def build(*, order_id, creator_id=None, mcn_id=None):
        return {"order_id": _id("order_id", order_id), **dict([_one_of(creator_id=creator_id, mcn_id=mcn_id)])}

    return _answer(self, orders.accept, build, *args, **kwargs)


@shared_task(name="xingtu.record_upload", **API)
def record_upload(self, *args, **kwargs) -> dict:
    def build(*, order_id, video, creator_id=None, mcn_id=None):
        return {
            "order_id": _id("order_id", order_id),
            "video": video,
            **dict([_one_of(creator_id=creator_id, mcn_id=mcn_id)]),
        }

    return _answer(self, orders.upload, build, *args, **kwargs)


@shared_task(name="xingtu.complete_order", **API)
def complete_order(self, *args, **kwargs) -> dict:
    def build(*, order_id, client_id):
        return {"order_id": _id("order_id", order_id), "client_id": _id("client_id", client_id)}

    return _answer(self, orders.complete, build, *args, **kwargs)


@shared_task(name="xingtu.request_cancellation", **API)
def request_cancellation(self, *args, **kwargs) -> dict:
    def build(*, order_id, reason, client_id=None, creator_id=None, mcn_id=None):
        return {
            "order_id": _id("order_id", order_id),
            "reason": reason,
            **_party(client_id=client_id, creator_id=creator_id, mcn_id=mcn_id),
        }

    return _answer(self, cancellation.request, build, *args, **kwargs)


@shared_task(name="xingtu.respond_to_cancellation", **API)
def respond_to_cancellation(self, *args, **kwargs) -> dict:
    def build(*, order_id, answer, client_id=None, creator_id=None, mcn_id=None, reason=None):
        return {"order_id": _id("order_id", order_id), "answer": answer, "reason": reason,
                **_party(client_id=client_id, creator_id=creator_id, mcn_id=mcn_id)}  # fmt: skip

    return _answer(self, cancellation.respond, build, *args, **kwargs)


@shared_task(name="xingtu.withdraw_cancellation", **API)
def withdraw_cancellation(self, *args, **kwargs) -> dict:
    def build(*, order_id, client_id=None, creator_id=None, mcn_id=None):
        return {
            "order_id": _id("order_id", order_id),
            **_party(client_id=client_id, creator_id=creator_id, mcn_id=mcn_id),
        }

    return _answer(self, cancellation.withdraw, build, *args, **kwargs)


@shared_task(name="xingtu.record_violation", **API)
def record_violation(self, *args, **kwargs) -> dict:
    def build(*, creator_id, evidence):
        return {"creator_id": _id("creator_id", creator_id), "evidence": evidence}

    return _answer(self, sanctions.record, build, *args, **kwargs)


@shared_task(name="xingtu.close_account", **API)
def close_account(self, *args, **kwargs) -> dict:
    def build(*, reason, client_id=None, creator_id=None):
        name, account_id = _one_of(client_id=client_id, creator_id=creator_id)
        return {"reason": reason, "role": ROLE_OF[name], "account_id": account_id}

    return _answer(self, accounts.close, build, *args, **kwargs)


@shared_task(name="xingtu.reopen_account", **API)
def reopen_account(self, *args, **kwargs) -> dict:
    def build(*, client_id=None, creator_id=None):
        name, account_id = _one_of(client_id=client_id, creator_id=creator_id)
        return {"role": ROLE_OF[name], "account_id": account_id}

    return _answer(self, accounts.reopen, build, *args, **kwargs)
