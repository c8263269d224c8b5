"""The task API refuses malformed calls with a structured error before touching the database."""

import pytest

from worker import tasks


@pytest.mark.parametrize(
    "task, kwargs, code, says",
    [
        (tasks.accept_order, {"order_id": "7", "creator_id": 1}, "invalid_order_id", "order_id must be a positive"),
        (tasks.accept_order, {"order_id": 2**70, "creator_id": 1}, "invalid_order_id", "got 1180591620717411303424"),
        (tasks.accept_order, {"order_id": True, "creator_id": 1}, "invalid_order_id", "got True"),
        (tasks.accept_order, {"order_id": 1, "creator_id": 0}, "invalid_creator_id", "creator_id must be"),
        (tasks.accept_order, {"order_id": 1}, "invalid_party", "exactly one of creator_id or mcn_id"),
        (tasks.accept_order, {"order_id": 1, "creator_id": 1, "mcn_id": 2}, "invalid_party", "exactly one of"),
        (tasks.accept_order, {"order_id": 1, "mcn_id": -1}, "invalid_mcn_id", "mcn_id must be a positive"),
        (tasks.record_upload, {"order_id": 1, "video": "v"}, "invalid_party", "creator_id or mcn_id"),
        (tasks.respond_to_cancellation, {"order_id": 1, "answer": "confirm", "client_id": 1, "mcn_id": 2},
         "invalid_party", "exactly one of client_id or creator_id or mcn_id"),
        (tasks.close_account, {"client_id": 1}, "invalid_arguments", "reason"),
        (tasks.close_account, {"mcn_id": 1, "reason": "r"}, "invalid_arguments", "mcn_id"),
        (tasks.close_account, {"client_id": 1, "creator_id": 1, "reason": "r"}, "invalid_party",
         "exactly one of client_id or creator_id"),
        (tasks.reopen_account, {}, "invalid_party", "exactly one of client_id or creator_id"),
        (tasks.reopen_account, {"creator_id": "1"}, "invalid_creator_id", "positive whole-number id"),
        (tasks.accept_order, {"order_id": 1, "creator_id": 1, "extra": 1}, "invalid_arguments", "extra"),
        (tasks.request_cancellation, {"order_id": 1, "reason": "r"}, "invalid_party", "exactly one of"),
        (tasks.request_cancellation, {"order_id": 1, "reason": "r", "client_id": 1, "creator_id": 2}, "invalid_party",
         "exactly one of"),
        (tasks.publish_order, {"client_id": 1, "creator_id": 2, "title": "t"}, "invalid_arguments", "amount_fen"),
    ],
)  # fmt: skip
def test_malformed_calls(task, kwargs, code, says):
    error = task(**kwargs)["error"]
    assert error["code"] == code and says in error["message"]


def test_arguments_by_position_are_refused():
    assert tasks.accept_order(1, 2)["error"] == {
        "code": "invalid_arguments", "message": "pass arguments by name (kwargs), not by position",
    }  # fmt: skip


def test_a_database_failure_is_an_answer_not_a_retry():
    """The task API never retries by itself: the caller is told the outcome is unknown."""
    from worker.runtime.celery_config import make_app
    from worker.settings import Settings

    nowhere = make_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/none"))
    error = nowhere.tasks["xingtu.accept_order"](order_id=1, creator_id=1)["error"]
    assert error["code"] == "database_unavailable" and "may or may not have been applied" in error["message"]
    assert not getattr(tasks.accept_order, "autoretry_for", ())


def test_a_missing_or_unknown_argument_is_named_as_the_caller_spells_it():
    error = tasks.respond_to_cancellation(order_id=1, creator_id=1)["error"]
    assert error["code"] == "invalid_arguments" and error["message"].startswith(
        "xingtu.respond_to_cancellation: missing answer (it takes order_id, answer, client_id, creator_id, mcn_id,"
    )
    assert "<locals>" not in error["message"] and "build()" not in error["message"]
    unknown = tasks.accept_order(order_id=1, creator_id=1, idempotency_key="k", extra=1)["error"]["message"]
    assert unknown.startswith("xingtu.accept_order: does not take extra (")
