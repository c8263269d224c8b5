"""The bad-input matrix: every case through the CLI, and through the task API where it has the
operation. Each refusal names what is wrong and leaves the database exactly as it was.

SQL-looking and emoji text is not bad input: it is stored as given, and nothing else changes.
"""

import pytest
from freezegun import freeze_time

from tests.cli.invoke import runner
from tests.market import Market
from tests.support import shared_database
from worker.database.engines import make_engine, session_factory
from worker.runtime.celery_config import make_app
from worker.runtime.context import Runtime
from worker.settings import Settings

LONG = "长" * 5000

# (name, CLI arguments, exit code, error code, task name and kwargs or None)
CASES = [
    ("unknown order", ["order", "accept", 99, "--creator", 1], 1, "not_found", ("accept_order", {"order_id": 99, "creator_id": 1})),
    ("wrong creator accepts", ["order", "accept", 1, "--creator", 2], 1, "not_allowed", ("accept_order", {"order_id": 1, "creator_id": 2})),
    ("accept twice", ["order", "accept", 2, "--creator", 1], 1, "invalid_state", ("accept_order", {"order_id": 2, "creator_id": 1})),
    ("late accept", ["order", "accept", 7, "--creator", 1], 1, "deadline_passed", ("accept_order", {"order_id": 7, "creator_id": 1})),
    ("initiator confirms", ["cancel", "confirm", 3, "--client", 1], 1, "not_allowed", ("respond_to_cancellation", {"order_id": 3, "client_id": 1, "answer": "confirm"})),
    ("stranger confirms", ["cancel", "confirm", 3, "--creator", 2], 1, "not_allowed", ("respond_to_cancellation", {"order_id": 3, "creator_id": 2, "answer": "confirm"})),
    ("double confirm", ["cancel", "confirm", 6, "--creator", 1], 1, "invalid_state", ("respond_to_cancellation", {"order_id": 6, "creator_id": 1, "answer": "confirm"})),
    ("answer neither", None, None, "invalid_answer", ("respond_to_cancellation", {"order_id": 3, "creator_id": 1, "answer": "maybe"})),
    ("reason with a confirmation", None, None, "invalid_reason", ("respond_to_cancellation", {"order_id": 3, "creator_id": 1, "answer": "confirm", "reason": "x"})),
    ("initiator rejects", ["cancel", "reject", 3, "--client", 1], 1, "not_allowed", ("respond_to_cancellation", {"order_id": 3, "client_id": 1, "answer": "reject"})),
    ("counterparty withdraws", ["cancel", "withdraw", 3, "--creator", 1], 1, "not_allowed", ("withdraw_cancellation", {"order_id": 3, "creator_id": 1})),
    ("withdraw nothing", ["cancel", "withdraw", 2, "--client", 1], 1, "invalid_state", ("withdraw_cancellation", {"order_id": 2, "client_id": 1})),
    ("upload while frozen", ["order", "upload", 3, "--creator", 1, "--video", "v"], 1, "cancellation_pending", ("record_upload", {"order_id": 3, "creator_id": 1, "video": "v"})),
    ("complete while frozen", ["order", "complete", 3, "--client", 1], 1, "cancellation_pending", ("complete_order", {"order_id": 3, "client_id": 1})),
    ("complete without upload", ["order", "complete", 5, "--client", 1], 1, "no_upload", ("complete_order", {"order_id": 5, "client_id": 1})),
    ("complete by a stranger", ["order", "complete", 2, "--client", 2], 1, "not_allowed", ("complete_order", {"order_id": 2, "client_id": 2})),
    ("upload by a stranger", ["order", "upload", 2, "--creator", 2, "--video", "v"], 1, "not_allowed", ("record_upload", {"order_id": 2, "creator_id": 2, "video": "v"})),
    ("upload to a pending order", ["order", "upload", 1, "--creator", 1, "--video", "v"], 1, "invalid_state", ("record_upload", {"order_id": 1, "creator_id": 1, "video": "v"})),
    ("blank video", ["order", "upload", 2, "--creator", 1, "--video", " "], 1, "invalid_video", ("record_upload", {"order_id": 2, "creator_id": 1, "video": " "})),
    ("request on a completed order", ["cancel", "request", 4, "--client", 1, "--reason", "r"], 1, "invalid_state", ("request_cancellation", {"order_id": 4, "client_id": 1, "reason": "r"})),
    ("second open request", ["cancel", "request", 3, "--creator", 1, "--reason", "r"], 1, "cancellation_pending", ("request_cancellation", {"order_id": 3, "creator_id": 1, "reason": "r"})),
    ("decline an accepted order", ["order", "decline", 2, "--creator", 1, "--reason", "r"], 1, "invalid_state", None),
    ("empty reason", ["cancel", "request", 2, "--client", 1, "--reason", ""], 1, "invalid_reason", ("request_cancellation", {"order_id": 2, "client_id": 1, "reason": ""})),
    ("whitespace reason", ["cancel", "request", 2, "--client", 1, "--reason", "  \t "], 1, "invalid_reason", ("request_cancellation", {"order_id": 2, "client_id": 1, "reason": "  \t "})),
    ("5,000-character reason", ["cancel", "request", 2, "--client", 1, "--reason", LONG], 1, "invalid_reason", ("request_cancellation", {"order_id": 2, "client_id": 1, "reason": LONG})),
    ("control character in reason", ["cancel", "request", 2, "--client", 1, "--reason", "a\x1bb"], 1, "invalid_reason", ("request_cancellation", {"order_id": 2, "client_id": 1, "reason": "a\x1bb"})),
    ("reason not text", None, None, "invalid_reason", ("request_cancellation", {"order_id": 2, "client_id": 1, "reason": 42})),
    ("amount 0", ["order", "publish", "--client", 1, "--creator", 1, "--amount-fen", "0", "--title", "t"], 1, "invalid_amount", ("publish_order", {"client_id": 1, "creator_id": 1, "amount_fen": 0, "title": "t"})),
    ("amount -1", ["order", "publish", "--client", 1, "--creator", 1, "--amount-fen", "-1", "--title", "t"], 1, "invalid_amount", ("publish_order", {"client_id": 1, "creator_id": 1, "amount_fen": -1, "title": "t"})),
    ("amount 1.5", ["order", "publish", "--client", 1, "--creator", 1, "--amount-fen", "1.5", "--title", "t"], 2, "usage", ("publish_order", {"client_id": 1, "creator_id": 1, "amount_fen": 1.5, "title": "t"})),
    ("amount abc", ["order", "publish", "--client", 1, "--creator", 1, "--amount-fen", "abc", "--title", "t"], 2, "usage", ("publish_order", {"client_id": 1, "creator_id": 1, "amount_fen": "abc", "title": "t"})),
    ("amount 10^15", ["order", "publish", "--client", 1, "--creator", 1, "--amount-fen", str(10**15), "--title", "t"], 1, "invalid_amount", ("publish_order", {"client_id": 1, "creator_id": 1, "amount_fen": 10**15, "title": "t"})),
    ("amount true", None, None, "invalid_amount", ("publish_order", {"client_id": 1, "creator_id": 1, "amount_fen": True, "title": "t"})),
    ("empty title", ["order", "publish", "--client", 1, "--creator", 1, "--amount-fen", "5", "--title", ""], 1, "invalid_title", ("publish_order", {"client_id": 1, "creator_id": 1, "amount_fen": 5, "title": ""})),
    ("101-character title", ["order", "publish", "--client", 1, "--creator", 1, "--amount-fen", "5", "--title", "x" * 101], 1, "invalid_title", ("publish_order", {"client_id": 1, "creator_id": 1, "amount_fen": 5, "title": "x" * 101})),
    ("title with a newline", ["order", "publish", "--client", 1, "--creator", 1, "--amount-fen", "5", "--title", "a\nb"], 1, "invalid_title", ("publish_order", {"client_id": 1, "creator_id": 1, "amount_fen": 5, "title": "a\nb"})),
    ("unknown client", ["order", "publish", "--client", 9, "--creator", 1, "--amount-fen", "5", "--title", "t"], 1, "not_found", ("publish_order", {"client_id": 9, "creator_id": 1, "amount_fen": 5, "title": "t"})),
    ("unknown creator", ["order", "publish", "--client", 1, "--creator", 9, "--amount-fen", "5", "--title", "t"], 1, "not_found", ("publish_order", {"client_id": 1, "creator_id": 9, "amount_fen": 5, "title": "t"})),
    ("publish to a suspended creator", ["order", "publish", "--client", 1, "--creator", 3, "--amount-fen", "5", "--title", "t"], 1, "creator_sanctioned", ("publish_order", {"client_id": 1, "creator_id": 3, "amount_fen": 5, "title": "t"})),
    ("invalid phone", ["client", "add", "--name", "n", "--phone", "12345"], 1, "invalid_phone", None),
    ("foreign phone", ["client", "add", "--name", "n", "--phone", "+16502530000"], 1, "invalid_phone", None),
    ("landline", ["creator", "add", "--name", "n", "--phone", "010 6552 9988"], 1, "invalid_phone", None),
    ("phone with letters", ["creator", "add", "--name", "n", "--phone", "13800138888x"], 1, "invalid_phone", None),
    ("blank name", ["creator", "add", "--name", " ", "--phone", "13800138888"], 1, "invalid_name", None),
    ("blank evidence", ["violation", "record", "--creator", 1, "--evidence", ""], 1, "invalid_evidence", ("record_violation", {"creator_id": 1, "evidence": ""})),
    ("violation of nobody", ["violation", "record", "--creator", 9, "--evidence", "e"], 1, "not_found", ("record_violation", {"creator_id": 9, "evidence": "e"})),
    ("retry what is not dead", ["notifications", "retry", 1], 1, "invalid_state", None),
    ("id past 64 bits", ["order", "show", str(2**64)], 2, "usage", ("accept_order", {"order_id": 2**64, "creator_id": 1})),
    ("id not a number", ["order", "accept", "one", "--creator", 1], 2, "usage", ("accept_order", {"order_id": "one", "creator_id": 1})),
    ("both sides at once", ["cancel", "confirm", 3, "--client", 1, "--creator", 1], 2, "usage", ("respond_to_cancellation", {"order_id": 3, "client_id": 1, "creator_id": 1, "answer": "confirm"})),
    ("missing reason", ["cancel", "request", 2, "--client", 1], 2, "usage", ("request_cancellation", {"order_id": 2, "client_id": 1})),
    ("unknown status", ["order", "list", "--status", "lost"], 2, "usage", None),
    ("arguments by position", None, None, "invalid_arguments", ("accept_order", [1, 1])),
    ("empty idempotency key", ["order", "accept", 1, "--creator", 1, "--idempotency-key", ""], 1, "invalid_idempotency_key", ("accept_order", {"order_id": 1, "creator_id": 1, "idempotency_key": ""})),
    ("256-character idempotency key", ["order", "accept", 1, "--creator", 1, "--idempotency-key", "k" * 256], 1, "invalid_idempotency_key", ("accept_order", {"order_id": 1, "creator_id": 1, "idempotency_key": "k" * 256})),
    ("idempotency key not ASCII", ["cancel", "withdraw", 3, "--client", 1, "--idempotency-key", "键"], 1, "invalid_idempotency_key", ("withdraw_cancellation", {"order_id": 3, "client_id": 1, "idempotency_key": "键"})),
    ("idempotency key with a newline", ["violation", "record", "--creator", 1, "--evidence", "e", "--idempotency-key", "a\nb"], 1, "invalid_idempotency_key", ("record_violation", {"creator_id": 1, "evidence": "e", "idempotency_key": "a\nb"})),
    ("idempotency key not text", None, None, "invalid_idempotency_key", ("accept_order", {"order_id": 1, "creator_id": 1, "idempotency_key": 7})),
    ("idempotency key of another call", ["order", "publish", "--client", 1, "--creator", 1, "--amount-fen", "1", "--title", "t", "--idempotency-key", "world-1"], 1, "idempotency_key_reused", ("publish_order", {"client_id": 1, "creator_id": 1, "amount_fen": 10_000, "title": "单1", "idempotency_key": "world-1"})),
]  # fmt: skip
# The task API has no usage errors: it names the malformed argument instead.
TASK_CODES = {"id past 64 bits": "invalid_order_id", "id not a number": "invalid_order_id",
              "amount 1.5": "invalid_amount", "amount abc": "invalid_amount",
              "both sides at once": "invalid_party", "missing reason": "invalid_arguments"}  # fmt: skip


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def world(request, sqlite_template, tmp_path_factory):
    """Orders in every state, made through the CLI at fixed instants (ids 1 to 7), once per database:
    the cases only read it, and each compares the whole database before and after."""
    url = shared_database(request, sqlite_template, tmp_path_factory, "world")
    xingtu = runner(url)
    xingtu("client", "add", "--name", "品牌", "--phone", "13800000001")
    xingtu("client", "add", "--name", "品牌乙", "--phone", "13800000002")
    for n in range(3):
        xingtu("creator", "add", "--name", f"达人{n}", "--phone", f"1390000000{n}")

    def at(instant, *args):
        with freeze_time(instant):
            result = xingtu("--json", *args)
        assert result.code == 0, (args, result.stderr)

    # 1 pending, 2 accepted with an upload, 3 frozen by the client's request, 4 completed, 5 accepted,
    # 6 cancelled by a confirmed request, 7 past its acceptance deadline (its timeout applied)
    publish_at = ["2027-01-02 06:00:00"] + ["2027-01-01 00:00:00"] * 5 + ["2027-01-02 00:00:00"]
    for n, instant in enumerate(publish_at):
        key = ["--idempotency-key", "world-1"] if n == 0 else []  # the task API's same call is another call
        at(instant, "order", "publish", "--client", 1, "--creator", 1, "--amount-fen", 10_000 + n, "--title", f"单{n + 1}", *key)  # fmt: skip
    for order in (2, 3, 4, 5, 6):
        at("2027-01-01 01:00:00", "order", "accept", order, "--creator", 1)
    for order in (2, 3, 4, 6):
        at("2027-01-01 02:00:00", "order", "upload", order, "--creator", 1, "--video", "v")
    at("2027-01-01 03:00:00", "cancel", "request", 3, "--client", 1, "--reason", "预算调整")
    at("2027-01-01 03:00:00", "order", "complete", 4, "--client", 1)
    at("2027-01-01 03:00:00", "cancel", "request", 6, "--client", 1, "--reason", "预算调整")
    at("2027-01-01 04:00:00", "cancel", "confirm", 6, "--creator", 1)
    for hour in ("05", "06"):
        at(f"2027-01-01 {hour}:00:00", "violation", "record", "--creator", 3, "--evidence", "私下接广告")
    at("2027-01-03 00:00:00", "scan")
    engine = make_engine(url)
    yield url, xingtu, Market(session_factory(engine), Settings(database_url=url))
    engine.dispose()


def test_the_matrix_has_forty_cases_at_least():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", [c for c in CASES if c[1] is not None], ids=lambda c: c[0])
def test_through_the_cli(world, case):
    _, xingtu, market = world
    _, args, exit_code, code, _ = case
    before = market.dump()
    with freeze_time("2027-01-03 00:00:01"):
        result = xingtu("--json", *args)
    assert (result.code, result.json["error"]["code"]) == (exit_code, code)
    assert result.stderr.rstrip().endswith(result.json["error"]["message"]) and "Traceback" not in result.stderr
    assert market.dump() == before


@pytest.fixture
def task_api(world, monkeypatch):
    url, _, market = world
    app = make_app(market.settings)
    app.runtime = Runtime(market.settings, app, market.sessions)
    monkeypatch.setattr(app.runtime, "after_commit", lambda count: None)  # no broker in this test
    return market, app


@pytest.mark.parametrize("case", [c for c in CASES if c[4] is not None], ids=lambda c: c[0])
def test_through_the_task_api(task_api, case):
    _, _, _, code, (name, arguments) = case
    market, app = task_api
    before = market.dump()
    task = app.tasks[f"xingtu.{name}"]
    with freeze_time("2027-01-03 00:00:01"):
        answer = task(*arguments) if isinstance(arguments, list) else task(**arguments)
    assert answer["error"]["code"] == TASK_CODES.get(case[0], code), answer
    assert answer["error"]["message"]
    assert market.dump() == before


@pytest.mark.parametrize(
    "text", ["'; DROP TABLE orders; --", "Robert'); DELETE FROM ledger_entries;--", "🎬👩‍👩‍👧 夏季 ✨"]
)
def test_sql_looking_and_emoji_text_is_stored_as_given(world, text):
    _, xingtu, market = world
    before = market.dump()
    published = xingtu("--json", "order", "publish", "--client", 1, "--creator", 2, "--amount-fen", 5, "--title", text)
    assert published.code == 0 and published.json["title"] == text
    asked = xingtu("--json", "cancel", "request", published.json["id"], "--client", 1, "--reason", text)
    assert asked.json["cancellation"]["reason"] == text
    after = market.dump()
    assert {t: len(rows) for t, rows in after.items() if t not in ("orders", "order_events", "ledger_entries",
            "notifications", "cancellation_requests")} == {t: len(rows) for t, rows in before.items()
            if t not in ("orders", "order_events", "ledger_entries", "notifications", "cancellation_requests")}  # fmt: skip
    assert len(after["orders"]) == len(before["orders"]) + 1
