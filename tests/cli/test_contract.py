"""The CLI contract other tools rely on: JSON shapes, exit codes, errors, under a frozen clock."""

import pytest
from freezegun import freeze_time

from models import MAX_AMOUNT_FEN

ORDER_KEYS = [
    "id", "client_id", "creator_id", "title", "amount_fen", "status", "published_at", "accept_deadline",
    "accepted_at", "first_upload_at", "upload_count", "completed_at", "cancelled_at", "cancel_reason",
    "creator_payout_fen", "client_refund_fen", "cancellation",
]  # fmt: skip
REQUEST_KEYS = ["id", "initiator", "reason", "status", "requested_at", "respond_by", "compensation_fen", "resolved_at"]
NOTIFICATION_KEYS = [
    "id", "kind", "order_id", "recipient_role", "recipient_id", "phone", "status", "attempts", "text",
    "created_at", "sent_at", "sender", "receipt_at", "receipt_error",
]  # fmt: skip


@pytest.fixture
def parties(xingtu):
    client = xingtu("--json", "client", "add", "--name", "品牌甲", "--phone", "13800000001").json
    creator = xingtu("--json", "creator", "add", "--name", "达人乙", "--phone", "+86 139 0000 0002").json
    return client["id"], creator["id"]


def publish(xingtu, parties, amount="12345"):
    client, creator = parties
    return xingtu(
        "--json",
        "order",
        "publish",
        "--client",
        client,
        "--creator",
        creator,
        "--amount-fen",
        amount,
        "--title",
        "夏季新品",
    )


def test_db_upgrade_prints_an_object_and_is_idempotent(xingtu):
    result = xingtu("--json", "db", "upgrade")
    assert result.code == 0 and result.json["to_revision"] == "0005" and result.json["upgraded"] is False


def test_add_prints_the_party_with_a_masked_phone(xingtu):
    party = xingtu("--json", "creator", "add", "--name", "达人", "--phone", "13812341234").json
    assert party["phone"] == "+86138****1234" and isinstance(party["id"], int)
    assert xingtu("--json", "creator", "show", party["id"]).json == party


def test_a_cancellation_walkthrough(xingtu, parties):
    client, creator = parties
    with freeze_time("2026-11-27 04:00:00"):
        order = publish(xingtu, parties).json
    assert list(order) == ORDER_KEYS
    assert (order["status"], order["published_at"], order["accept_deadline"]) == (
        "pending", "2026-11-27T04:00:00+00:00", "2026-11-28T04:00:00+00:00",
    )  # fmt: skip
    oid = order["id"]
    with freeze_time("2026-11-27 05:00:00"):
        assert xingtu("--json", "order", "accept", oid, "--creator", creator).json["status"] == "accepted"
        assert xingtu("--json", "order", "upload", oid, "--creator", creator, "--video", "v1").json["upload_count"] == 1
    with freeze_time("2026-11-27 06:00:00"):
        asked = xingtu("--json", "cancel", "request", oid, "--client", client, "--reason", "预算调整").json
    assert list(asked["cancellation"]) == REQUEST_KEYS
    assert asked["cancellation"]["compensation_fen"] == 6173
    assert asked["cancellation"]["respond_by"] == "2026-11-29T06:00:00+00:00"
    assert asked["creator_payout_fen"] is None and asked["client_refund_fen"] is None
    with freeze_time("2026-11-27 07:00:00"):
        done = xingtu("--json", "cancel", "confirm", oid, "--creator", creator).json
    assert (done["status"], done["cancel_reason"], done["creator_payout_fen"], done["client_refund_fen"]) == (
        "cancelled", "client_cancelled", 6173, 6172,
    )  # fmt: skip
    assert done["cancellation"]["status"] == "confirmed"
    assert xingtu("--json", "order", "show", oid).json == done
    assert xingtu("--json", "order", "list", "--status", "cancelled").json == [done]
    events = [e["event"] for e in xingtu("--json", "order", "history", oid).json]
    assert events == ["published", "accepted", "video_uploaded", "cancellation_requested", "cancellation_confirmed"]
    notes = xingtu("--json", "notifications", "list", "--order", oid).json
    assert all(list(n) == NOTIFICATION_KEYS for n in notes)
    assert [(n["kind"], n["recipient_role"]) for n in notes] == [
        ("order_published", "creator"), ("cancellation_requested", "creator"),
        ("order_cancelled", "creator"), ("order_cancelled", "client"),
    ]  # fmt: skip
    assert notes[-1]["phone"] == "+86138****0001" and notes[-1]["status"] == "pending"


def test_the_acceptance_deadline_under_a_frozen_clock(xingtu, parties):
    with freeze_time("2026-11-27 04:00:00"):
        oid = publish(xingtu, parties).json["id"]
    with freeze_time("2026-11-28 03:59:59"):
        assert xingtu("--json", "scan").json == {
            "expired_orders": 0, "timed_out_requests": 0, "acceptance_reminders": 1, "lifted_suspensions": 0,
            "receipts_applied": 0, "receipts_forgotten": 0, "idempotency_keys_forgotten": 0, "dry_run": False,
        }  # fmt: skip
    with freeze_time("2026-11-28 04:00:00"):
        assert xingtu("--json", "scan", "--dry-run").json["expired_orders"] == 1
        late = xingtu("--json", "order", "accept", oid, "--creator", parties[1])
    assert late.code == 1 and late.json["error"]["code"] == "deadline_passed"
    assert late.stderr.startswith("error: cannot accept order")
    shown = xingtu("--json", "order", "show", oid).json
    assert (shown["status"], shown["cancel_reason"], shown["cancelled_at"]) == (
        "cancelled", "acceptance_timeout", "2026-11-28T04:00:00+00:00",
    )  # fmt: skip


@pytest.mark.parametrize("amount", ["0", "-1", str(MAX_AMOUNT_FEN + 1), "1000000000000000"])
def test_a_refusal_exits_1_names_the_problem_and_writes_nothing(xingtu, parties, market, amount):
    before = market.dump()
    result = publish(xingtu, parties, amount)
    assert result.code == 1
    assert result.json == {
        "error": {"code": "invalid_amount", "message": result.stderr.removeprefix("error: ").strip()}
    }
    assert "amount_fen must be a whole number of fen" in result.stderr
    assert market.dump() == before


@pytest.mark.parametrize(
    "args",
    [
        ["order", "accept", "1"],  # --creator missing
        ["order", "accept", "one", "--creator", "1"],
        ["cancel", "confirm", "1"],  # neither side
        ["cancel", "confirm", "1", "--client", "1", "--creator", "2"],
        ["order", "list", "--status", "lost"],
        ["order", "show", "1180591620717411303424"],
        ["order", "show", "0"],
        ["order", "publish", "--client", "1", "--creator", "1", "--amount-fen", "abc", "--title", "t"],
        ["order", "publish", "--client", "1", "--creator", "1", "--amount-fen", "1.5", "--title", "t"],
        ["order", "fly"],
    ],
)
def test_usage_errors_exit_2(xingtu, args):
    result = xingtu("--json", *args)
    assert result.code == 2
    assert result.json["error"]["code"] == "usage" and "error: " in result.stderr


def test_a_bad_setting_stops_with_its_name(xingtu):
    result = xingtu("--json", "order", "list", env={"XINGTU_CANCEL_RESPONSE_WINDOW": "soon"})
    assert result.code == 1 and result.json["error"]["code"] == "invalid_setting"
    assert "XINGTU_CANCEL_RESPONSE_WINDOW='soon'" in result.stderr


def test_an_unmigrated_database_says_what_to_run(xingtu, tmp_path):
    empty = f"sqlite:///{tmp_path / 'new.db'}"
    result = xingtu("order", "list", env={"XINGTU_DATABASE_URL": empty})
    assert result.code == 1 and "run `xingtu db upgrade`" in result.stderr
    assert not (tmp_path / "new.db").exists()
    assert xingtu("db", "upgrade", env={"XINGTU_DATABASE_URL": empty}).code == 0
    assert xingtu("--json", "order", "list", env={"XINGTU_DATABASE_URL": empty}).json == []


def test_json_after_the_command_is_the_same_json(xingtu, parties):
    published = publish(xingtu, parties)
    before, after = xingtu("--json", "order", "show", published.json["id"]), xingtu("order", "show", 1, "--json")
    assert (after.code, after.stdout) == (0, before.stdout)
    missing = xingtu("order", "show", 99, "--json")
    assert (missing.code, missing.json["error"]["code"]) == (1, "not_found")
    malformed = xingtu("order", "show", "one", "--json")
    assert (malformed.code, malformed.json["error"]["code"]) == (2, "usage")


@pytest.mark.parametrize("args", [[], ["order"], ["cancel"]])
def test_a_group_without_its_command_prints_its_help_once(xingtu, args):
    result = xingtu(*args)
    assert result.code == 2 and result.stderr.count("Usage:") == 1 and "error:" not in result.stderr
    assert "Commands:" in result.stderr and result.stdout == ""


def test_version(xingtu):
    from importlib.metadata import version

    result = xingtu("--version")
    assert (result.code, result.stdout) == (0, f"xingtu {version('xingtu-worker')}\n")
