"""The CLI contract of accounts (关闭星图), MCN agencies and the creator record, under a frozen clock:
the JSON of every client / creator / mcn command (phones masked, the record's nine keys), ``creator
list`` sorted largest first with ties by id, the refusals (exit 1) and usage errors (exit 2), each
leaving the database exactly as it was, an MCN acting for the creator it signs from accept to a
confirmed cancellation, and the text people read.
"""

import pytest
from freezegun import freeze_time

from tests.cli.invoke import runner
from tests.market import Market
from tests.support import shared_database
from worker.database.engines import make_engine, session_factory
from worker.settings import Settings

CLIENT_KEYS = ["id", "name", "phone", "created_at", "status", "closed_at"]
CREATOR_KEYS = [
    "id", "name", "phone", "created_at", "status", "suspended_until", "violations", "followers", "average_plays",
    "mcn_id", "closed_at", "record",
]  # fmt: skip
MCN_KEYS = ["id", "name", "phone", "created_at", "creators"]
RECORD_KEYS = [
    "offered", "accepted", "completed", "in_production", "declined", "expired", "cancelled_by_creator",
    "cancelled_by_client", "acceptance_rate",
]  # fmt: skip
NO_RECORD = dict.fromkeys(RECORD_KEYS, 0) | {"acceptance_rate": None}

T0 = "2027-03-01 00:00:00"  # every setup step; acceptance deadlines at T0 + 24 h
T0_ISO = "2027-03-01T00:00:00+00:00"
LATER = "2027-03-01 01:00:00"  # the cases: no timer is due yet


def ok(xingtu, *args):
    """``xingtu --json ARGS``, which must succeed; its JSON."""
    result = xingtu("--json", *args)
    assert result.code == 0, (args, result.stderr)
    return result.json


def publish(xingtu, client, creator, amount=10_000):
    return ok(xingtu, "order", "publish", "--client", client, "--creator", creator, "--amount-fen", amount,
              "--title", "春季新品")["id"]  # fmt: skip


# --- the JSON of each party, on a fresh database ---------------------------------------------------


def test_client_add_show_close_reopen(xingtu):
    with freeze_time(T0):
        added = ok(xingtu, "client", "add", "--name", "品牌甲", "--phone", "13800000001")
    assert list(added) == CLIENT_KEYS
    assert added == {"id": 1, "name": "品牌甲", "phone": "+86138****0001", "created_at": T0_ISO, "status": "active",
                     "closed_at": None}  # fmt: skip
    assert ok(xingtu, "client", "show", 1) == added
    with freeze_time("2027-03-02 00:00:00"):
        closed = ok(xingtu, "client", "close", 1, "--reason", "不再投放")
    assert closed == added | {"status": "closed", "closed_at": "2027-03-02T00:00:00+00:00"}
    assert ok(xingtu, "client", "show", 1) == closed
    with freeze_time("2027-03-03 00:00:00"):
        assert ok(xingtu, "client", "reopen", 1) == added
    notes = ok(xingtu, "notifications", "list")
    assert [(n["kind"], n["recipient_role"], n["recipient_id"], n["order_id"], n["phone"]) for n in notes] == [
        ("account_closed", "client", 1, None, "+86138****0001"),
        ("account_reopened", "client", 1, None, "+86138****0001"),
    ]  # fmt: skip


def test_creator_add_show_update_close_reopen(xingtu):
    with freeze_time(T0):
        added = ok(xingtu, "creator", "add", "--name", "达人乙", "--phone", "+86 139 1234 5678")
    assert list(added) == CREATOR_KEYS and list(added["record"]) == RECORD_KEYS
    assert added == {
        "id": 1, "name": "达人乙", "phone": "+86139****5678", "created_at": T0_ISO, "status": "active",
        "suspended_until": None, "violations": 0, "followers": 0, "average_plays": 0, "mcn_id": None,
        "closed_at": None, "record": NO_RECORD,
    }  # fmt: skip
    assert ok(xingtu, "creator", "show", 1) == added
    updated = ok(xingtu, "creator", "update", 1, "--followers", 1_200_000, "--average-plays", 35_000)
    assert updated == added | {"followers": 1_200_000, "average_plays": 35_000}
    assert ok(xingtu, "creator", "update", 1, "--average-plays", 0) == updated | {"average_plays": 0}
    with freeze_time("2027-03-02 00:00:00"):
        closed = ok(xingtu, "creator", "close", 1, "--reason", "转型")
    assert closed == updated | {"average_plays": 0, "status": "closed", "closed_at": "2027-03-02T00:00:00+00:00"}
    assert ok(xingtu, "creator", "show", 1) == closed
    with freeze_time("2027-03-03 00:00:00"):
        assert ok(xingtu, "creator", "reopen", 1) == updated | {"average_plays": 0}


def test_mcn_add_show_sign_release(xingtu):
    for n in (1, 2):
        ok(xingtu, "creator", "add", "--name", f"达人{n}", "--phone", f"1390000000{n}")
    with freeze_time(T0):
        added = ok(xingtu, "mcn", "add", "--name", "无忧传媒", "--phone", "13712345678")
    assert list(added) == MCN_KEYS
    assert added == {"id": 1, "name": "无忧传媒", "phone": "+86137****5678", "created_at": T0_ISO, "creators": []}
    assert ok(xingtu, "mcn", "sign", 1, "--creator", 2) == added | {"creators": [2]}
    assert ok(xingtu, "mcn", "sign", 1, "--creator", 1) == added | {"creators": [1, 2]}  # ascending
    assert ok(xingtu, "mcn", "show", 1) == added | {"creators": [1, 2]}
    assert ok(xingtu, "creator", "show", 2)["mcn_id"] == 1
    assert ok(xingtu, "mcn", "release", 1, "--creator", 2) == added | {"creators": [1]}
    assert ok(xingtu, "creator", "show", 2)["mcn_id"] is None


# --- an MCN acting for its creator ------------------------------------------------------------------


def test_an_mcn_acts_as_the_creator_side_end_to_end(xingtu):
    with freeze_time(T0):
        ok(xingtu, "client", "add", "--name", "品牌甲", "--phone", "13800000001")
        ok(xingtu, "creator", "add", "--name", "达人乙", "--phone", "13900000002")
        ok(xingtu, "mcn", "add", "--name", "无忧传媒", "--phone", "13700000003")
        ok(xingtu, "mcn", "sign", 1, "--creator", 1)
        oid = publish(xingtu, 1, 1)
        declined = publish(xingtu, 1, 1)
    with freeze_time("2027-03-01 01:00:00"):
        assert ok(xingtu, "order", "accept", oid, "--mcn", 1)["status"] == "accepted"
        assert ok(xingtu, "order", "decline", declined, "--mcn", 1, "--reason", "档期已满")["cancel_reason"] == (
            "creator_declined"
        )
    with freeze_time("2027-03-01 02:00:00"):
        assert ok(xingtu, "order", "upload", oid, "--mcn", 1, "--video", "v1")["upload_count"] == 1
    with freeze_time("2027-03-01 03:00:00"):
        asked = ok(xingtu, "cancel", "request", oid, "--mcn", 1, "--reason", "达人生病")["cancellation"]
    assert (asked["initiator"], asked["reason"], asked["compensation_fen"], asked["respond_by"]) == (
        "creator", "达人生病", 0, "2027-03-03T03:00:00+00:00",
    )  # fmt: skip
    with freeze_time("2027-03-01 04:00:00"):
        done = ok(xingtu, "cancel", "confirm", oid, "--client", 1)
    assert (done["status"], done["cancel_reason"], done["creator_payout_fen"], done["client_refund_fen"]) == (
        "cancelled", "creator_cancelled", 0, 10_000,
    )  # fmt: skip

    history = ok(xingtu, "order", "history", oid)
    assert [(e["event"], e["actor_role"], e["actor_id"]) for e in history] == [
        ("published", "client", 1), ("accepted", "mcn", 1), ("video_uploaded", "mcn", 1),
        ("cancellation_requested", "mcn", 1), ("cancellation_confirmed", "client", 1),
    ]  # fmt: skip
    assert [(e["event"], e["actor_role"], e["actor_id"]) for e in ok(xingtu, "order", "history", declined)] == [
        ("published", "client", 1), ("declined", "mcn", 1),
    ]  # fmt: skip
    notes = ok(xingtu, "notifications", "list", "--order", oid)
    assert [(n["kind"], n["recipient_role"], n["recipient_id"], n["phone"]) for n in notes] == [
        ("order_published", "creator", 1, "+86139****0002"), ("order_published", "mcn", 1, "+86137****0003"),
        ("cancellation_requested", "client", 1, "+86138****0001"),
        ("order_cancelled", "creator", 1, "+86139****0002"), ("order_cancelled", "client", 1, "+86138****0001"),
        ("order_cancelled", "mcn", 1, "+86137****0003"),
    ]  # fmt: skip
    mcn_copies = [n for n in notes if n["recipient_role"] == "mcn"]
    creator_copies = [n for n in notes if n["recipient_role"] == "creator"]
    assert [n["text"] for n in mcn_copies] == [n["text"] for n in creator_copies]
    assert ok(xingtu, "creator", "show", 1)["record"] == NO_RECORD | {
        "offered": 2, "accepted": 1, "declined": 1, "cancelled_by_creator": 1, "acceptance_rate": 0.5,
    }  # fmt: skip


# --- one world, read by the list, the refusals and the text for people -------------------------------


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def world(request, sqlite_template, tmp_path_factory):
    """Made through the CLI at T0, once per database; the tests only read it. (pytest runs the tests of
    each parameter of a module-scoped fixture together, so no function-scoped test empties it meanwhile.)

    clients 1 (active, publishes every order) and 2 (closed); mcn 1 signs creator 1, mcn 2 signs nobody.
    creator  followers  average plays  rate    orders
    1        300        0              null    none
    2        100        300            0.0     1 declined
    3        300        100            1.0     2, 3 completed; 4, 5 accepted (in production); 6 pending
    4        0          300            0.6667  7 completed; 8 cancelled by the client; 9 declined on closing; closed
    """
    url = shared_database(request, sqlite_template, tmp_path_factory, "accounts")
    xingtu = runner(url)
    with freeze_time(T0):
        for n in (1, 2):
            ok(xingtu, "client", "add", "--name", f"品牌{n}", "--phone", f"1380000000{n}")
        for n, (followers, plays) in enumerate([(300, 0), (100, 300), (300, 100), (0, 300)], start=1):
            ok(xingtu, "creator", "add", "--name", f"达人{n}", "--phone", f"1390000000{n}")
            ok(xingtu, "creator", "update", n, "--followers", followers, "--average-plays", plays)
        for n in (1, 2):
            ok(xingtu, "mcn", "add", "--name", f"机构{n}", "--phone", f"1370000000{n}")
        ok(xingtu, "mcn", "sign", 1, "--creator", 1)
        orders = [publish(xingtu, 1, creator) for creator in (2, 3, 3, 3, 3, 3, 4, 4, 4)]
        assert orders == list(range(1, 10))
        ok(xingtu, "order", "decline", 1, "--creator", 2, "--reason", "档期已满")
        for order, creator in ((2, 3), (3, 3), (4, 3), (5, 3), (7, 4), (8, 4)):
            ok(xingtu, "order", "accept", order, "--creator", creator)
        for order, creator in ((2, 3), (3, 3), (7, 4)):
            ok(xingtu, "order", "upload", order, "--creator", creator, "--video", "v")
            ok(xingtu, "order", "complete", order, "--client", 1)
        ok(xingtu, "cancel", "request", 8, "--client", 1, "--reason", "预算调整")
        ok(xingtu, "cancel", "confirm", 8, "--creator", 4)
        ok(xingtu, "creator", "close", 4, "--reason", "不再接单")
        ok(xingtu, "client", "close", 2, "--reason", "不再投放")
    engine = make_engine(url)
    yield xingtu, Market(session_factory(engine), Settings(database_url=url))
    engine.dispose()


def ids(xingtu, *args):
    return [creator["id"] for creator in ok(xingtu, "creator", "list", *args)]


def test_the_world_records(world):
    xingtu, _ = world
    listed = ok(xingtu, "creator", "list")
    assert all(list(c) == CREATOR_KEYS and list(c["record"]) == RECORD_KEYS for c in listed)
    assert [(c["id"], c["status"], c["followers"], c["average_plays"], c["mcn_id"], c["phone"]) for c in listed] == [
        (1, "active", 300, 0, 1, "+86139****0001"), (2, "active", 100, 300, None, "+86139****0002"),
        (3, "active", 300, 100, None, "+86139****0003"), (4, "closed", 0, 300, None, "+86139****0004"),
    ]  # fmt: skip
    assert [c["record"] for c in listed] == [
        NO_RECORD,
        NO_RECORD | {"offered": 1, "declined": 1, "acceptance_rate": 0.0},
        NO_RECORD | {"offered": 5, "accepted": 4, "completed": 2, "in_production": 2, "acceptance_rate": 1.0},
        NO_RECORD | {"offered": 3, "accepted": 2, "completed": 1, "declined": 1, "cancelled_by_client": 1,
                     "acceptance_rate": 0.6667},
    ]  # fmt: skip
    assert listed[3]["closed_at"] == T0_ISO
    assert ok(xingtu, "creator", "show", 4) == listed[3]


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], [1, 2, 3, 4]),
        (["--sort", "followers"], [1, 3, 2, 4]),  # 1 and 3 tie at 300: by id
        (["--sort", "average_plays"], [2, 4, 3, 1]),  # 2 and 4 tie at 300
        (["--sort", "acceptance_rate"], [3, 4, 2, 1]),  # 1's null rate last
        (["--sort", "completed"], [3, 4, 1, 2]),  # 1 and 2 tie at 0
        (["--sort", "completed", "--limit", 2], [3, 4]),
        (["--limit", 1], [1]),
        (["--status", "active"], [1, 2, 3]),
        (["--status", "closed"], [4]),
        (["--status", "active", "--sort", "completed", "--limit", 2], [3, 1]),
        (["--status", "banned"], []),
    ],
)
def test_creator_list(world, args, expected):
    assert ids(world[0], *args) == expected


def test_an_empty_list_is_an_empty_array(world):
    result = world[0]("--json", "creator", "list", "--status", "suspended")
    assert (result.code, result.stdout) == (0, "[]\n")


IN_PRODUCTION = "orders 4, 5 are in production (accepted); complete or cancel them first"

# (name, CLI arguments, error code, words of the message)
REFUSALS = [
    ("creator closes with orders in production", ["creator", "close", 3, "--reason", "r"], "open_orders", f"cannot close creator 3: {IN_PRODUCTION}"),
    ("client closes with orders in production", ["client", "close", 1, "--reason", "r"], "open_orders", f"cannot close client 1: {IN_PRODUCTION}"),
    ("creator closes twice", ["creator", "close", 4, "--reason", "r"], "invalid_state", "creator 4 is already closed"),
    ("client closes twice", ["client", "close", 2, "--reason", "r"], "invalid_state", "client 2 is already closed"),
    ("reopen an open account", ["creator", "reopen", 3], "invalid_state", "creator 3 is not closed"),
    ("blank close reason", ["creator", "close", 1, "--reason", " "], "invalid_reason", "reason"),
    ("publish to a closed creator", ["order", "publish", "--client", 1, "--creator", 4, "--amount-fen", 5, "--title", "t"], "creator_closed", "the creator has closed their account"),
    ("publish by a closed client", ["order", "publish", "--client", 2, "--creator", 1, "--amount-fen", 5, "--title", "t"], "client_closed", "client 2 has closed their account and cannot publish"),
    ("mcn accepts for a creator it does not sign", ["order", "accept", 6, "--mcn", 1], "not_allowed", "mcn 1 does not sign creator 3, the creator of order 6"),
    ("mcn uploads for a creator it does not sign", ["order", "upload", 4, "--mcn", 2, "--video", "v"], "not_allowed", "mcn 2 does not sign creator 3"),
    ("mcn requests for a creator it does not sign", ["cancel", "request", 4, "--mcn", 1, "--reason", "r"], "not_allowed", "mcn 1 does not sign creator 3"),
    ("unknown mcn accepts", ["order", "accept", 6, "--mcn", 9], "not_found", "9"),
    ("sign a creator signed elsewhere", ["mcn", "sign", 2, "--creator", 1], "invalid_state", "creator 1 is signed to mcn 1"),
    ("sign a creator twice", ["mcn", "sign", 1, "--creator", 1], "invalid_state", "creator 1 is already signed to mcn 1"),
    ("release a creator not signed", ["mcn", "release", 2, "--creator", 1], "invalid_state", "creator 1 is not signed to mcn 2"),
    ("update an unknown creator", ["creator", "update", 9, "--followers", 1], "not_found", "9"),
]  # fmt: skip

# (name, CLI arguments, words of the message)
USAGE_ERRORS = [
    ("accept as neither side", ["order", "accept", 6], "give exactly one of --creator ID or --mcn ID"),
    ("accept as both sides", ["order", "accept", 6, "--creator", 3, "--mcn", 1], "give exactly one of --creator ID or --mcn ID"),
    ("upload as both sides", ["order", "upload", 4, "--creator", 3, "--mcn", 1, "--video", "v"], "give exactly one of --creator ID or --mcn ID"),
    ("confirm as client and mcn", ["cancel", "confirm", 1, "--client", 1, "--mcn", 1], "give exactly one of --client ID or --creator ID or --mcn ID"),
    ("update nothing", ["creator", "update", 1], "nothing to update"),
    ("negative followers", ["creator", "update", 1, "--followers", -1], "--followers"),
    ("followers not a number", ["creator", "update", 1, "--followers", "abc"], "--followers"),
    ("fractional average plays", ["creator", "update", 1, "--average-plays", "1.5"], "--average-plays"),
    ("sign nobody", ["mcn", "sign", 1], "--creator"),
    ("close without a reason", ["creator", "close", 1], "--reason"),
    ("unknown sort", ["creator", "list", "--sort", "bogus"], "bogus"),
    ("unknown creator status", ["creator", "list", "--status", "lost"], "lost"),
    ("limit 0", ["creator", "list", "--limit", 0], "--limit"),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSALS, ids=lambda c: c[0])
def test_a_refusal_exits_1_and_changes_nothing(world, case):
    xingtu, market = world
    _, args, code, words = case
    before = market.dump()
    with freeze_time(LATER):
        result = xingtu("--json", *args)
    assert (result.code, result.json["error"]["code"]) == (1, code), result.stderr
    assert words in result.json["error"]["message"]
    assert result.stderr == f"error: {result.json['error']['message']}\n"
    assert market.dump() == before


@pytest.mark.parametrize("case", USAGE_ERRORS, ids=lambda c: c[0])
def test_a_usage_error_exits_2_and_changes_nothing(world, case):
    xingtu, market = world
    _, args, words = case
    before = market.dump()
    with freeze_time(LATER):
        result = xingtu("--json", *args)
    assert (result.code, result.json["error"]["code"]) == (2, "usage"), result.stderr
    assert words in result.json["error"]["message"] and "Traceback" not in result.stderr
    assert result.stderr.rstrip().endswith(f"error: {result.json['error']['message']}")
    assert market.dump() == before


def test_for_people(world):
    xingtu, _ = world

    def text(*args):
        result = xingtu(*args)
        assert result.code == 0, result.stderr
        assert not any(f"{prefix}0000000{n}" in result.stdout for prefix in ("138", "139", "137") for n in (1, 2, 3, 4))
        return result.stdout

    shown = text("creator", "show", 4)
    assert "+86139****0004" in shown and "达人4" in shown
    assert "closed since 2027-03-01 08:00:00 +08:00, 0 violation(s)" in shown
    assert "0 followers, 300 average plays" in shown
    assert (
        "orders: 3 offered, 2 accepted (66.67%), 1 completed, 0 in production, 1 declined, 0 expired,"
        " cancelled 0 by the creator and 1 by clients"
    ) in shown
    signed = text("creator", "show", 1)
    assert "active, 0 violation(s), signed to mcn 1" in signed and "orders: 0 offered, 0 accepted (-)" in signed

    client = text("client", "show", 2)
    assert "+86138****0002" in client and "closed since 2027-03-01 08:00:00 +08:00" in client
    assert "active" in text("client", "show", 1)

    mcn = text("mcn", "show", 1)
    assert "机构1" in mcn and "+86137****0001" in mcn and "signs creators: 1" in mcn
    assert "signs creators: -" in text("mcn", "show", 2)

    lines = text("creator", "list", "--sort", "acceptance_rate").splitlines()
    assert lines[0].split() == ["ID", "STATUS", "FOLLOWERS", "AVG", "PLAYS", "ACCEPTED", "DONE", "NAME"]
    assert [line.split() for line in lines[1:]] == [
        ["3", "active", "300", "100", "100.00%", "2", "达人3"],
        ["4", "closed", "0", "300", "66.67%", "1", "达人4"],
        ["2", "active", "100", "300", "0.00%", "0", "达人2"],
        ["1", "active", "300", "0", "-", "0", "达人1"],
    ]  # fmt: skip
    assert {line.index("达人") for line in lines[1:]} == {lines[0].index("NAME")}
