"""Idempotency keys (SPEC "Idempotent calls"), through the task API and the CLI in-process, on SQLite
and PostgreSQL: a repeat answers the first answer byte for byte and writes nothing, another call under
the key is refused, a refused call records nothing, keys are kept the window and then forgotten by the
scan, and calls racing one key apply once."""

import json
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from models import IdempotencyKey
from models.states import OrderStatus
from tests.cli.invoke import runner
from tests.market import DAY, SECOND, T0
from worker.database.engines import make_engine, session_factory
from worker.database.unit_of_work import transaction
from worker.runtime.celery_config import make_app
from worker.runtime.context import Runtime
from worker.services import idempotency, orders, timers, views

WINDOW = timedelta(hours=24)


@pytest.fixture
def api(market, monkeypatch):
    """The task API in this process over the test's database, and the parties to call it for."""
    app = make_app(market.settings)
    app.runtime = Runtime(market.settings, app, market.sessions)
    monkeypatch.setattr(app.runtime, "after_commit", lambda count: None)  # no broker here
    client, creator = market.client(), market.creator()

    def call(name: str, **kwargs) -> dict:
        return app.tasks[f"xingtu.{name}"](**kwargs)

    call.publish = lambda key, amount_fen=10_000: call(
        "publish_order", client_id=client, creator_id=creator, title="夏季新品推广", amount_fen=amount_fen,
        idempotency_key=key,
    )  # fmt: skip
    call.client, call.creator = client, creator
    return call


def keys(market) -> list[tuple]:
    with market.sessions() as session:
        return [tuple(row) for row in session.execute(sa.select(IdempotencyKey.key, IdempotencyKey.call))]


@freeze_time(T0)
def test_a_repeat_answers_the_first_answer_byte_for_byte_and_writes_nothing(market, api):
    first = api.publish("order-1")
    after_first = market.dump()
    again = api.publish("order-1")
    assert json.dumps(again) == json.dumps(first) and first["status"] == "pending"
    assert market.dump() == after_first  # no order, event, ledger entry, notification or key more
    assert len(after_first["orders"]) == 1 and keys(market) == [("order-1", "xingtu.publish_order")]


@freeze_time(T0)
def test_an_argument_given_as_null_is_the_argument_left_out(market, api):
    order = api.publish("o")
    first = api("accept_order", order_id=order["id"], creator_id=api.creator, idempotency_key="a")
    again = api("accept_order", order_id=order["id"], creator_id=api.creator, mcn_id=None, idempotency_key="a")
    assert again == first and first["status"] == "accepted"


@freeze_time(T0)
def test_without_a_key_every_call_applies(market, api):
    api.publish(None)
    api.publish(None)
    assert len(market.dump()["orders"]) == 2 and keys(market) == []


@freeze_time(T0)
@pytest.mark.parametrize(
    "other",
    [
        lambda api: api.publish("k", amount_fen=10_001),  # other arguments
        lambda api: api("record_violation", creator_id=api.creator, evidence="私下接单", idempotency_key="k"),
    ],
    ids=["other arguments", "another task"],
)
def test_the_key_of_another_call_is_refused_and_nothing_changes(market, api, other):
    api.publish("k")
    before = market.dump()
    error = other(api)["error"]
    assert error["code"] == "idempotency_key_reused" and "'k'" in error["message"]
    assert "xingtu.publish_order" in error["message"]
    assert market.dump() == before


@freeze_time(T0)
def test_a_refused_call_records_nothing_so_its_retry_is_judged_afresh(market, api):
    order = api.publish("o")
    refused = api("accept_order", order_id=order["id"], creator_id=api.creator + 1, idempotency_key="a")
    assert refused["error"]["code"] in ("not_found", "not_allowed") and len(keys(market)) == 1
    accepted = api("accept_order", order_id=order["id"], creator_id=api.creator, idempotency_key="a")
    assert accepted["status"] == "accepted"


def test_a_refusal_that_keeps_an_applied_timeout_keeps_no_key(market, api):
    with freeze_time(T0):
        order = api.publish("o")
    with freeze_time(T0 + DAY):  # exactly at the deadline: late, and the timeout is applied on the spot
        late = api("accept_order", order_id=order["id"], creator_id=api.creator, idempotency_key="late")
    assert late["error"]["code"] == "deadline_passed"
    assert market.order(order["id"]).status is OrderStatus.CANCELLED  # the timeout was committed
    assert keys(market) == [("o", "xingtu.publish_order")]  # and the refused call's key was not


@pytest.mark.parametrize(
    "key, says",
    [("", "0 characters"), ("x" * 256, "256 characters"), ("订单-1", "'订' at position 1"), ("a\tb", "position 2"),
     (42, "must be text")],
)  # fmt: skip
@freeze_time(T0)
def test_a_malformed_key_is_refused_before_anything_is_done(market, api, key, says):
    before = market.dump()
    error = api.publish(key)["error"]
    assert error["code"] == "invalid_idempotency_key" and says in error["message"]
    assert market.dump() == before


@freeze_time(T0)
def test_the_longest_and_the_oddest_printable_keys_are_keys(market, api):
    for key in ("x" * 255, " ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"):
        assert api.publish(key) == api.publish(key)
    assert len(market.dump()["orders"]) == 2


def test_a_key_is_kept_the_window_then_it_is_new_again(market, api):
    with freeze_time(T0):
        first = api.publish("k")
    with freeze_time(T0 + WINDOW - SECOND):
        assert api.publish("k") == first
        assert api.publish("k", amount_fen=1)["error"]["code"] == "idempotency_key_reused"
    with freeze_time(T0 + WINDOW):  # kept 24 h: forgotten, even before a scan came by
        again = api.publish("k", amount_fen=1)
    assert again["id"] != first["id"] and again["amount_fen"] == 1
    with freeze_time(T0 + WINDOW + SECOND):
        assert api.publish("k", amount_fen=1) == again


def test_the_scan_forgets_keys_kept_the_window_in_bounded_batches(market, api):
    for n in range(5):
        with freeze_time(T0 + n * SECOND):
            api.publish(f"k{n}")
    small = market.configured(scan_batch_size=2)
    assert small.scan(T0 + WINDOW - SECOND).idempotency_keys_forgotten == 0
    with market.sessions() as session:
        due = timers.count_due(session, T0 + WINDOW + 2 * SECOND, key_window=WINDOW)
    assert due.idempotency_keys_forgotten == 3
    assert small.scan(T0 + WINDOW + 2 * SECOND).idempotency_keys_forgotten == 3  # 2, then 1: two batches
    assert [key for key, _ in keys(market)] == ["k3", "k4"]
    with freeze_time(T0 + WINDOW + 2 * SECOND):
        assert api.publish("k0")["id"] == 6  # forgotten: new again


@freeze_time(T0)
def test_the_cli_prints_the_first_answer_again(market, database_url):
    xingtu = runner(database_url)
    client, creator = market.client(), market.creator()
    publish = ["order", "publish", "--client", client, "--creator", creator, "--amount-fen", 500, "--title", "t"]
    first = xingtu("--json", *publish, "--idempotency-key", "cli-1")
    again = xingtu("--json", *publish, "--idempotency-key", "cli-1")
    assert (first.code, again.code) == (0, 0) and again.stdout == first.stdout
    people = xingtu(*publish, "--idempotency-key", "cli-1")
    assert people.code == 0 and f"order {first.json['id']}" in people.stdout.lower()
    other = xingtu("--json", *publish[:-1], "other", "--idempotency-key", "cli-1")
    assert (other.code, other.json["error"]["code"]) == (1, "idempotency_key_reused")
    assert "xingtu order publish with other arguments" in other.stderr and "Traceback" not in other.stderr
    assert len(market.dump()["orders"]) == 1
    bad = xingtu("--json", *publish, "--idempotency-key", "")
    assert (bad.code, bad.json["error"]["code"]) == (1, "invalid_idempotency_key")


@freeze_time(T0)
def test_a_cli_command_and_a_task_are_different_calls(market, api, database_url):
    order = api.publish("o")
    xingtu = runner(database_url)
    accepted = xingtu("--json", "order", "accept", order["id"], "--creator", api.creator, "--idempotency-key", "a")
    assert accepted.json["status"] == "accepted"
    answer = api("accept_order", order_id=order["id"], creator_id=api.creator, idempotency_key="a")
    assert answer["error"]["code"] == "idempotency_key_reused" and "xingtu order accept" in answer["error"]["message"]


# --- calls at the same moment ----------------------------------------------------------------------


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_second_call_waits_for_the_first_and_answers_its_answer(market, api, postgres_url):
    """The first call holds the key (its row inserted, not committed); a second with the same key waits
    on it, and once the first commits answers the first's answer."""
    holding, release = threading.Event(), threading.Event()
    answers = {}

    def first():
        with freeze_time(T0):
            answers["first"] = _publish_holding(market, api, holding, release)

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(10)
    second = threading.Thread(target=lambda: answers.setdefault("second", api.publish("k")))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting on the first call's key
    release.set()
    thread.join(10)
    second.join(10)
    assert answers["second"] == answers["first"] and len(market.dump()["orders"]) == 1


def _publish_holding(market, api, holding, release) -> dict:
    """``publish_order`` under key ``k``, holding its transaction open after the claim until ``release``."""
    claim = idempotency.Claim.of("k", "xingtu.publish_order", publish_arguments(api))
    with transaction(market.sessions) as session:

        def run():
            holding.set()
            assert release.wait(10)
            return views.shown(session, orders.publish(session, market.settings, now=T0, **publish_arguments(api)))

        return idempotency.once(session, claim, T0, WINDOW, run)


def publish_arguments(api) -> dict:
    return {"client_id": api.client, "creator_id": api.creator, "title": "夏季新品推广", "amount_fen": 10_000}


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_key_held_past_the_lock_timeout_answers_conflict(market, api, postgres_url):
    """A call whose key another transaction holds longer than the lock timeout answers ``conflict``
    (lowered here from 5 s), writing nothing; so does one whose order a lock holds that long."""
    quick = make_engine(postgres_url, connect_args={"prepare_threshold": None, "options": "-c lock_timeout=200ms"})
    impatient = make_app(market.settings)
    impatient.runtime = Runtime(market.settings, impatient, session_factory(quick))
    impatient.runtime.after_commit = lambda count: None
    publish = impatient.tasks["xingtu.publish_order"]
    holder = make_engine(postgres_url)
    try:
        with freeze_time(T0), holder.connect() as connection, connection.begin():
            connection.execute(
                sa.insert(IdempotencyKey).values(key="k", call="xingtu.publish_order", fingerprint="f", created_at=T0)
            )
            before = market.dump()
            answer = publish(**publish_arguments(api), idempotency_key="k")
            assert answer["error"]["code"] == "conflict" and market.dump() == before
            connection.execute(sa.text("SELECT 1 FROM clients FOR UPDATE"))
            blocked = impatient.tasks["xingtu.close_account"](client_id=api.client, reason="r")
            assert blocked["error"]["code"] == "conflict"
    finally:
        holder.dispose()
        quick.dispose()
