"""Migration 0003 on a database the current release made: `xingtu db upgrade` takes schema 0002, holding
orders in every state with their requests, money, trails and outbox, to the new schema without losing or
changing a row. Only ``cancellation_requests.response_reason`` goes, and every reason it held is still in
the request's ``cancellation_rejected`` audit event. Afterwards the new columns hold their defaults, the
database guards its rows as before (triggers, foreign keys, partial indexes, on SQLite after the table
rebuilds too), the schema is exactly the models and the service layer works on the old rows. Going back to
0002 and up again keeps the rows as well.

The rows are written with plain SQL, as the 0002 release stored them (instants on SQLite as SQLAlchemy
writes them, JSON as text).
"""

import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from models import Base, Client, CreatorEvent
from models.states import CreatorStatus, Role
from tests.cli.invoke import runner
from tests.market import DAY, HOUR, T0, Market
from tests.support import downgrade, empty_database, revision
from worker.database import schema
from worker.database.engines import make_engine, session_factory
from worker.errors import XingtuError
from worker.services import accounts, orders
from worker.settings import Settings

HEAD = schema.head_revision()  # 0003 and whatever followed it: the upgrade goes to the head
MINUTE = timedelta(minutes=1)
CLOSE_AT = T0 + 2 * DAY + HOUR  # when the service layer acts on the upgraded database: no timer is due then

# --- what the 0002 release wrote ----------------------------------------------------------------------------

# Each table's columns at 0002, in the order the release created them.
OLD_COLUMNS = {
    "clients": ("id", "name", "phone", "created_at"),
    "creators": ("id", "name", "phone", "created_at", "status", "suspended_until", "violation_count"),
    "violations": ("id", "creator_id", "number", "at", "evidence", "sanction", "suspended_until"),
    "creator_events": ("id", "creator_id", "at", "actor_role", "actor_id", "event", "details"),
    "orders": (
        "id", "client_id", "creator_id", "title", "amount_fen", "status", "published_at", "accept_deadline",
        "remind_at", "accepted_at", "first_upload_at", "upload_count", "completed_at", "cancelled_at",
        "cancel_reason", "creator_payout_fen", "client_refund_fen", "updated_at", "version",
    ),
    "cancellation_requests": (
        "id", "order_id", "initiator", "reason", "status", "requested_at", "respond_by", "compensation_fen",
        "resolved_at", "response_reason",
    ),
    "ledger_entries": ("id", "order_id", "kind", "amount_fen", "at"),
    "order_events": ("id", "order_id", "at", "actor_role", "actor_id", "event", "from_status", "to_status", "details"),
    "notifications": (
        "id", "idempotency_key", "kind", "order_id", "recipient_role", "recipient_id", "phone", "params", "status",
        "attempts", "created_at", "due_at", "sent_at", "provider_message_id", "last_error",
    ),
}  # fmt: skip
DROPPED = {"cancellation_requests": {"response_reason"}}
PHONES = {
    ("client", 1): "+8613800000001", ("client", 2): "+8613800000003",
    ("creator", 1): "+8613900000002", ("creator", 2): "+8613900000004", ("creator", 3): "+8613900000005",
}  # fmt: skip
REJECTED_WITH_REASON = "视频已在制作，无法取消"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _release_rows() -> dict[str, list[dict]]:
    """Two clients; an active creator (1), a suspended one (2) and a banned one (3); nine orders: three of
    the banned creator's, cancelled (client after an upload, auto-confirmed; by the creator; declined by the
    ban), the active creator's completed (with a withdrawn request), expired, cancelled while pending and
    pending (its reminder to come), the suspended creator's two accepted (uploads and a rejected request with a
    reason; a rejected request without one and an open request)."""
    rows: dict[str, list[dict]] = {table: [] for table in OLD_COLUMNS}

    def add(table: str, **values) -> int:
        rows[table].append(values)
        return len(rows[table])

    for phone in ("+8613800000001", "+8613800000003"):
        add("clients", name=f"品牌{phone[-1]}", phone=phone, created_at=T0 - 60 * DAY)
    for status, until, violations in (("active", None, 0), ("suspended", T0 + 9 * DAY, 2), ("banned", None, 4)):
        add("creators", name=f"达人{status}", phone=PHONES[("creator", len(rows["creators"]) + 1)],
            created_at=T0 - 60 * DAY, status=status, suspended_until=until, violation_count=violations)  # fmt: skip

    def note(subject: str, kind: str, order_id: int | None, role: str, party: int, at: datetime, status: str = "sent",
             **params) -> None:  # fmt: skip
        add("notifications", idempotency_key=f"{subject}:{kind}:{role}", kind=kind, order_id=order_id,
            recipient_role=role, recipient_id=party, phone=PHONES[(role, party)], params=params, status=status,
            attempts={"pending": 0, "sent": 1, "dead": 8}[status], created_at=at,
            due_at=at + (30 * MINUTE if status == "dead" else timedelta(0)),
            sent_at=at + MINUTE if status == "sent" else None,
            provider_message_id=f"sms-{len(rows['notifications']) + 1}" if status == "sent" else None,
            last_error="provider answered 503 Service Unavailable" if status == "dead" else None)  # fmt: skip

    def violation(creator: int, at: datetime, sanction: str, until: datetime | None, status: str = "sent") -> None:
        number = 1 + sum(v["creator_id"] == creator for v in rows["violations"])
        vid = add("violations", creator_id=creator, number=number, at=at, evidence=f"私下接单截图{number}",
                  sanction=sanction, suspended_until=until)  # fmt: skip
        add("creator_events", creator_id=creator, at=at, actor_role="system", actor_id=None,
            event="violation_recorded", details={"violation_id": vid, "number": number, "sanction": sanction,
                                                 "suspended_until": _iso(until), "evidence": f"私下接单截图{number}"})  # fmt: skip
        note(f"violation-{vid}", "sanction_applied", None, "creator", creator, at, status, violation_number=number,
             sanction=sanction, suspended_until=_iso(until))  # fmt: skip
        if until is not None and until < T0:
            add("creator_events", creator_id=creator, at=until, actor_role="system", actor_id=None,
                event="suspension_lifted", details={"violation_id": vid, "suspended_until": _iso(until)})  # fmt: skip
            note(f"violation-{vid}", "sanction_lifted", None, "creator", creator, until, violation_number=number,
                 suspended_until=_iso(until))  # fmt: skip

    def order(client: int, creator: int, published: datetime, status: str, **columns) -> int:
        values = dict(client_id=client, creator_id=creator, title=f"推广{len(rows['orders']) + 1}", amount_fen=10_000,
                      status=status, published_at=published, accept_deadline=published + DAY, remind_at=None,
                      accepted_at=None, first_upload_at=None, upload_count=0, completed_at=None, cancelled_at=None,
                      cancel_reason=None, creator_payout_fen=None, client_refund_fen=None, updated_at=published,
                      version=1)  # fmt: skip
        values.update(columns)
        oid = add("orders", **values)
        event(oid, published, "client", client, "published", None, "pending", amount_fen=10_000,
              accept_deadline=_iso(published + DAY))  # fmt: skip
        add("ledger_entries", order_id=oid, kind="escrow", amount_fen=10_000, at=published)
        note(f"order-{oid}", "order_published", oid, "creator", creator, published,
             "pending" if status == "pending" else "sent", title=values["title"], amount_fen=10_000,
             accept_deadline=_iso(published + DAY))  # fmt: skip
        return oid

    def event(oid: int, at: datetime, role: str, actor: int | None, name: str, from_: str | None, to: str,
              **details) -> None:  # fmt: skip
        add("order_events", order_id=oid, at=at, actor_role=role, actor_id=actor, event=name, from_status=from_,
            to_status=to, details=details)  # fmt: skip

    def accept(oid: int, creator: int, at: datetime, *uploads: datetime) -> None:
        event(oid, at, "creator", creator, "accepted", "pending", "accepted")
        for n, upload in enumerate(uploads, 1):
            event(oid, upload, "creator", creator, "video_uploaded", "accepted", "accepted", video=f"v{n}",
                  upload_count=n)  # fmt: skip

    def ask(oid: int, initiator: str, party: int, to: tuple[str, int], at: datetime, reason: str,
            compensation: int, status: str, resolved: datetime | None, response_reason: str | None = None) -> int:  # fmt: skip
        """A request: on a pending order confirmed at once (no answer asked for), else answered by ``to``."""
        respond_by = None if resolved == at else at + 2 * DAY
        rid = add("cancellation_requests", order_id=oid, initiator=initiator, reason=reason, status=status,
                  requested_at=at, respond_by=respond_by, compensation_fen=compensation, resolved_at=resolved,
                  response_reason=response_reason)  # fmt: skip
        if respond_by is not None:  # asked on an accepted order: the counterparty is asked to answer
            event(oid, at, initiator, party, "cancellation_requested", "accepted", "accepted", request_id=rid,
                  reason=reason, compensation_fen=compensation, respond_by=_iso(respond_by))  # fmt: skip
            note(f"request-{rid}", "cancellation_requested", oid, *to, at, "pending" if status == "open" else "sent",
                 title="t", initiator=initiator, reason=reason, compensation_fen=compensation,
                 refund_fen=10_000 - compensation, respond_by=_iso(respond_by), policy="auto_confirm")  # fmt: skip
        return rid

    def cancelled(oid: int, client: int, creator: int, at: datetime, role: str, actor: int | None, name: str,
                  from_: str, cause: str, payout: int, request: int | None) -> None:  # fmt: skip
        event(oid, at, role, actor, name, from_, "cancelled", cancel_reason=cause, creator_payout_fen=payout,
              client_refund_fen=10_000 - payout, request_id=request)  # fmt: skip
        for kind, amount in (("creator_payout", payout), ("client_refund", 10_000 - payout)):
            if amount:
                add("ledger_entries", order_id=oid, kind=kind, amount_fen=amount, at=at)
        for party_role, party in (("creator", creator), ("client", client)):
            note(f"order-{oid}", "order_cancelled", oid, party_role, party, at, title="t", cancel_reason=cause,
                 reason="r", auto_confirmed=name == "cancellation_auto_confirmed", creator_payout_fen=payout,
                 client_refund_fen=10_000 - payout)  # fmt: skip

    def ended(at: datetime, cause: str, payout: int) -> dict:
        return dict(cancelled_at=at, cancel_reason=cause, creator_payout_fen=payout,
                    client_refund_fen=10_000 - payout, updated_at=at)  # fmt: skip

    violation(3, T0 - 50 * DAY, "post_takedown", None)
    # 1: the banned creator's, cancelled by the client after an upload; silence confirmed it
    p = T0 - 49 * DAY
    o = order(2, 3, p, "cancelled", accepted_at=p + HOUR, first_upload_at=p + 2 * HOUR, upload_count=1, version=5,
              **ended(p + 3 * DAY, "client_cancelled", 5_000))  # fmt: skip
    accept(o, 3, p + HOUR, p + 2 * HOUR)
    r = ask(o, "client", 2, ("creator", 3), p + DAY, "预算调整", 5_000, "auto_confirmed", p + 3 * DAY)
    cancelled(o, 2, 3, p + 3 * DAY, "system", None, "cancellation_auto_confirmed", "accepted", "client_cancelled",
              5_000, r)  # fmt: skip
    # 2: the banned creator's, cancelled by the creator, the client confirmed
    p = T0 - 48 * DAY
    o = order(1, 3, p, "cancelled", accepted_at=p + HOUR, version=4, **ended(p + DAY + HOUR, "creator_cancelled", 0))
    accept(o, 3, p + HOUR)
    r = ask(o, "creator", 3, ("client", 1), p + DAY, "档期冲突", 0, "confirmed", p + DAY + HOUR)
    cancelled(o, 1, 3, p + DAY + HOUR, "client", 1, "cancellation_confirmed", "accepted", "creator_cancelled", 0, r)
    violation(3, T0 - 45 * DAY, "suspended_7d", T0 - 38 * DAY)
    violation(2, T0 - 30 * DAY, "post_takedown", None)
    # 3: the banned creator's, pending when a suspension declined it
    p, sanctioned = T0 - 21 * DAY, T0 - 20 * DAY - 12 * HOUR
    o = order(2, 3, p, "cancelled", version=2, **ended(sanctioned, "creator_declined", 0))
    violation(3, sanctioned, "suspended_3m", T0 + 70 * DAY)
    r = ask(o, "creator", 3, ("client", 2), sanctioned, "达人账号封禁中", 0, "confirmed", sanctioned)
    cancelled(o, 2, 3, sanctioned, "system", None, "declined_for_sanction", "pending", "creator_declined", 0, r)
    violation(3, T0 - 12 * DAY, "permanent_ban", None)
    # 4: the active creator's, completed; the creator had asked to cancel and withdrew
    p = T0 - 5 * DAY
    o = order(1, 1, p, "completed", accepted_at=p + HOUR, first_upload_at=p + 2 * HOUR, upload_count=1,
              completed_at=p + DAY, creator_payout_fen=10_000, client_refund_fen=0, updated_at=p + DAY, version=6)  # fmt: skip
    accept(o, 1, p + HOUR, p + 2 * HOUR)
    r = ask(o, "creator", 1, ("client", 1), p + 3 * HOUR, "临时有事", 0, "withdrawn", p + 4 * HOUR)
    event(o, p + 4 * HOUR, "creator", 1, "cancellation_withdrawn", "accepted", "accepted", request_id=r)
    note(f"request-{r}", "cancellation_withdrawn", o, "client", 1, p + 4 * HOUR, title="t", initiator="creator",
         response=None)  # fmt: skip
    event(o, p + DAY, "client", 1, "completed", "accepted", "completed", creator_payout_fen=10_000, client_refund_fen=0)
    add("ledger_entries", order_id=o, kind="creator_payout", amount_fen=10_000, at=p + DAY)
    note(f"order-{o}", "order_completed", o, "creator", 1, p + DAY, title="t", amount_fen=10_000)
    # 5: the active creator's, never accepted: reminded, then expired
    p = T0 - 3 * DAY
    o = order(2, 1, p, "cancelled", version=3, **ended(p + DAY, "acceptance_timeout", 0))
    event(o, p + DAY - 2 * HOUR, "system", None, "acceptance_reminder", "pending", "pending")
    note(f"order-{o}", "acceptance_reminder", o, "creator", 1, p + DAY - 2 * HOUR, title="t",
         accept_deadline=_iso(p + DAY))  # fmt: skip
    cancelled(o, 2, 1, p + DAY, "system", None, "acceptance_timed_out", "pending", "acceptance_timeout", 0, None)
    # 6: the active creator's, cancelled by the client while pending
    p = T0 - DAY
    o = order(1, 1, p, "cancelled", version=2, **ended(p + HOUR, "client_cancelled", 0))
    r = ask(o, "client", 1, ("creator", 1), p + HOUR, "不需要了", 0, "confirmed", p + HOUR)
    cancelled(o, 1, 1, p + HOUR, "client", 1, "cancelled", "pending", "client_cancelled", 0, r)
    # 7: the suspended creator's, in production with two uploads; a request rejected with a reason
    o = order(1, 2, T0, "accepted", accepted_at=T0 + HOUR, first_upload_at=T0 + 2 * HOUR, upload_count=2,
              updated_at=T0 + 5 * HOUR, version=6)  # fmt: skip
    accept(o, 2, T0 + HOUR, T0 + 2 * HOUR)
    r = ask(o, "client", 1, ("creator", 2), T0 + 3 * HOUR, "预算调整", 5_000, "rejected", T0 + 4 * HOUR,
            REJECTED_WITH_REASON)  # fmt: skip
    event(o, T0 + 4 * HOUR, "creator", 2, "cancellation_rejected", "accepted", "accepted", request_id=r,
          reason=REJECTED_WITH_REASON)  # fmt: skip
    note(f"request-{r}", "cancellation_rejected", o, "client", 1, T0 + 4 * HOUR, "dead", title="t", initiator="client",
         response=REJECTED_WITH_REASON)  # fmt: skip
    event(o, T0 + 5 * HOUR, "creator", 2, "video_uploaded", "accepted", "accepted", video="v2", upload_count=2)
    # 8: the suspended creator's, in production: a request rejected without a reason, then an open one
    o = order(2, 2, T0, "accepted", accepted_at=T0 + HOUR, updated_at=T0 + DAY, version=5)
    accept(o, 2, T0 + HOUR)
    r = ask(o, "client", 2, ("creator", 2), T0 + 2 * HOUR, "换个方向", 0, "rejected", T0 + 3 * HOUR)
    event(o, T0 + 3 * HOUR, "creator", 2, "cancellation_rejected", "accepted", "accepted", request_id=r, reason=None)
    note(f"request-{r}", "cancellation_rejected", o, "client", 2, T0 + 3 * HOUR, title="t", initiator="client",
         response=None)  # fmt: skip
    ask(o, "creator", 2, ("client", 2), T0 + DAY, "档期冲突", 0, "open", None)
    violation(2, T0 + 2 * DAY, "suspended_7d", T0 + 9 * DAY, status="pending")
    # 9: the active creator's, pending, its reminder still to come
    order(1, 1, T0 + 2 * DAY, "pending", remind_at=T0 + 3 * DAY - 2 * HOUR)
    return rows


RELEASE = _release_rows()


def _stored(engine: sa.Engine, value):
    """A value as the release's SQLAlchemy stored it: on SQLite instants as naive UTC text, JSON as text."""
    sqlite = engine.dialect.name == "sqlite"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def write_release_rows(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        for table, rows in RELEASE.items():
            for row in rows:
                columns = ", ".join(row)
                marks = ", ".join(f":{column}" for column in row)
                values = {column: _stored(engine, value) for column, value in row.items()}
                connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), values)


# --- helpers ------------------------------------------------------------------------------------------------


def old_rows(engine: sa.Engine, *, keep_dropped: bool = False) -> dict[str, list[tuple]]:
    """Every row of the release's tables, on the release's columns (less those 0003 drops)."""
    dump = {}
    with engine.connect() as connection:
        for table, columns in OLD_COLUMNS.items():
            kept = [c for c in columns if keep_dropped or c not in DROPPED.get(table, ())]
            result = connection.exec_driver_sql(f"SELECT {', '.join(kept)} FROM {table} ORDER BY id")
            dump[table] = [tuple(row) for row in result]
    return dump


def release_database(request, dialect: str, directory, suffix: str) -> str:
    """The URL of a database at schema 0002 holding the release's rows."""
    url = empty_database(request, dialect, directory, suffix)
    engine = make_engine(url)
    assert schema.upgrade(engine, "0002")["to_revision"] == "0002"
    write_release_rows(engine)
    engine.dispose()
    return url


DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(scope="module", params=DIALECTS)
def upgraded(request, tmp_path_factory):
    """A release database, dumped, then upgraded by `xingtu db upgrade`; the tests using it only read it
    (or are refused)."""
    url = release_database(request, request.param, tmp_path_factory.mktemp("release"), "m0003_cli")
    engine = make_engine(url)
    before = old_rows(engine, keep_dropped=True)
    outcome = runner(url)("--json", "db", "upgrade")
    yield SimpleNamespace(engine=engine, url=url, before=before, outcome=outcome)
    engine.dispose()


@pytest.fixture(params=DIALECTS)
def release_url(request, tmp_path):
    return release_database(request, request.param, tmp_path, "m0003")


def without_dropped(dump: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    kept = {}
    for table, rows in dump.items():
        keep = [i for i, column in enumerate(OLD_COLUMNS[table]) if column not in DROPPED.get(table, ())]
        kept[table] = [tuple(row[i] for i in keep) for row in rows]
    return kept


# --- the upgrade --------------------------------------------------------------------------------------------


def test_the_release_database_holds_what_it_should(upgraded):
    """The fixture itself: every table has rows, orders in every state and every cancel reason."""
    assert {table: len(rows) for table, rows in upgraded.before.items()} == {
        "clients": 2, "creators": 3, "violations": 6, "creator_events": 7, "orders": 9, "cancellation_requests": 8,
        "ledger_entries": 16, "order_events": 34, "notifications": 37,
    }  # fmt: skip
    orders_ = [dict(zip(OLD_COLUMNS["orders"], row)) for row in upgraded.before["orders"]]
    assert sorted({(o["status"], o["cancel_reason"]) for o in orders_}, key=str) == sorted(
        {("pending", None), ("accepted", None), ("completed", None), ("cancelled", "acceptance_timeout"),
         ("cancelled", "client_cancelled"), ("cancelled", "creator_declined"), ("cancelled", "creator_cancelled")},
        key=str,
    )  # fmt: skip
    statuses = {row[8] for row in upgraded.before["notifications"]}
    assert statuses == {"pending", "sent", "dead"}


def test_the_cli_upgrades_it_to_0003(upgraded):
    assert upgraded.outcome.code == 0, upgraded.outcome.stderr
    assert {k: upgraded.outcome.json[k] for k in ("from_revision", "to_revision", "upgraded")} == {
        "from_revision": "0002", "to_revision": HEAD, "upgraded": True,
    }  # fmt: skip
    assert revision(upgraded.engine) == HEAD
    again = runner(upgraded.url)("--json", "db", "upgrade")
    assert (again.code, again.json["from_revision"], again.json["upgraded"]) == (0, HEAD, False)


def test_every_old_row_keeps_every_old_value(upgraded):
    assert old_rows(upgraded.engine) == without_dropped(upgraded.before)


def test_the_rejection_reasons_it_drops_are_in_the_audit_trail(upgraded):
    columns = {c["name"] for c in sa.inspect(upgraded.engine).get_columns("cancellation_requests")}
    assert "response_reason" not in columns and {"reason", "status", "resolved_at"} <= columns
    requests = [
        dict(zip(OLD_COLUMNS["cancellation_requests"], row)) for row in upgraded.before["cancellation_requests"]
    ]
    reasons = {r["id"]: r["response_reason"] for r in requests if r["response_reason"] is not None}
    assert reasons == {6: REJECTED_WITH_REASON}  # the fixture holds one, and a rejection without a reason
    with upgraded.engine.connect() as connection:
        rejected = connection.exec_driver_sql(
            "SELECT details FROM order_events WHERE event = 'cancellation_rejected' ORDER BY id"
        ).scalars()
        details = [json.loads(d) if isinstance(d, str) else d for d in rejected]
    kept = {d["request_id"]: d["reason"] for d in details}
    assert kept == {6: REJECTED_WITH_REASON, 7: None}
    for request_id, reason in reasons.items():
        assert kept[request_id] == reason


def test_the_new_columns_take_their_defaults(upgraded):
    with upgraded.engine.connect() as connection:
        clients = connection.exec_driver_sql("SELECT id, status, closed_at FROM clients ORDER BY id").all()
        creators = connection.exec_driver_sql(
            "SELECT id, followers, average_plays, mcn_id, closed_at FROM creators ORDER BY id"
        ).all()
        counts = [connection.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() for t in ("mcns", "client_events")]
    assert [tuple(c) for c in clients] == [(1, "active", None), (2, "active", None)]
    assert [tuple(c) for c in creators] == [(1, 0, 0, None, None), (2, 0, 0, None, None), (3, 0, 0, None, None)]
    assert counts == [0, 0]


def test_the_schema_is_exactly_the_models(upgraded):
    with upgraded.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    inspector = sa.inspect(upgraded.engine)
    for table in Base.metadata.sorted_tables:
        found = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert found == {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}, table.name
        found_fks = {fk["name"] for fk in inspector.get_foreign_keys(table.name)}
        assert found_fks == {fk.name for fk in table.foreign_key_constraints}, table.name


PARTIAL_INDEXES = {  # name: (table, columns, unique, words of its condition)
    "ix_notifications_due": ("notifications", ["due_at", "id"], False, ["status", "'pending'", "'sending'"]),
    "ix_creators_due_lift": ("creators", ["suspended_until", "id"], False, ["status", "'suspended'"]),
    "uq_cancellation_requests_one_open": ("cancellation_requests", ["order_id"], True, ["status", "'open'"]),
    "ix_cancellation_requests_due": ("cancellation_requests", ["respond_by", "id"], False, ["status", "'open'"]),
    "ix_orders_due_acceptance": ("orders", ["accept_deadline", "id"], False, ["status", "'pending'"]),
    "ix_orders_due_reminder": ("orders", ["remind_at", "id"], False, ["remind_at", "is not null"]),
}


def index_definitions(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            found = connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
        else:
            found = connection.exec_driver_sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
        return {name: (sql or "").lower() for name, sql in found}


@pytest.mark.parametrize("name", PARTIAL_INDEXES)
def test_the_partial_indexes_are_there(upgraded, name):
    table, columns, unique, words = PARTIAL_INDEXES[name]
    (index,) = [i for i in sa.inspect(upgraded.engine).get_indexes(table) if i["name"] == name]
    assert (index["column_names"], bool(index["unique"])) == (columns, unique)
    definition = index_definitions(upgraded.engine)[name]
    condition = definition.partition(" where ")[2]
    assert condition and all(word in condition for word in words), definition


def test_the_record_index_replaces_the_creator_index(upgraded):
    names = {i["name"]: i["column_names"] for i in sa.inspect(upgraded.engine).get_indexes("orders")}
    assert names["ix_orders_creator_record"] == ["creator_id", "status", "cancel_reason", "accepted_at"]
    assert "ix_orders_creator_id" not in names


GUARDED = [  # (what, SQL, what the refusal says); each must leave every row as it was
    ("a changed audit event", "UPDATE order_events SET event = 'x' WHERE id = 1", "append-only"),
    ("a deleted audit event", "DELETE FROM order_events WHERE id = 1", "append-only"),
    ("a changed creator event", "UPDATE creator_events SET event = 'x'", "append-only"),
    ("a deleted creator event", "DELETE FROM creator_events", "append-only"),
    ("a changed violation", "UPDATE violations SET evidence = 'x'", "append-only"),
    ("a changed ledger entry", "UPDATE ledger_entries SET amount_fen = 1", "append-only"),
    ("a deleted ledger entry", "DELETE FROM ledger_entries", "append-only"),
    ("a changed completed order", "UPDATE orders SET title = 'x' WHERE status = 'completed'", "never changes"),
    ("a changed cancelled order", "UPDATE orders SET title = 'x' WHERE id = 1", "never changes"),
    ("a changed client event", "INSERT INTO client_events (client_id, at, actor_role, actor_id, event, details)"
     " VALUES (1, '2026-11-27 04:00:00', 'client', 1, 'account_closed', '{}');"
     " UPDATE client_events SET event = 'x'", "append-only"),
    ("a deleted client event", "INSERT INTO client_events (client_id, at, actor_role, actor_id, event, details)"
     " VALUES (1, '2026-11-27 04:00:00', 'client', 1, 'account_closed', '{}'); DELETE FROM client_events",
     "append-only"),
    ("a second open request", "INSERT INTO cancellation_requests (order_id, initiator, reason, status, requested_at,"
     " compensation_fen) SELECT order_id, 'client', 'x', 'open', requested_at, 0 FROM cancellation_requests"
     " WHERE status = 'open'", "uq_cancellation_requests_one_open|UNIQUE constraint failed"),
    ("a violation of nobody", "INSERT INTO violations (creator_id, number, at, evidence, sanction)"
     " VALUES (404, 1, '2026-11-27 04:00:00', 'e', 'post_takedown')", "foreign key|FOREIGN KEY"),
    ("an order for nobody", "INSERT INTO orders (client_id, creator_id, title, amount_fen, status, published_at,"
     " accept_deadline, upload_count, updated_at, version) SELECT 404, creator_id, title, amount_fen, status,"
     " published_at, accept_deadline, 0, updated_at, 1 FROM orders WHERE status = 'pending'",
     "foreign key|FOREIGN KEY"),
    ("a creator of an unknown MCN", "UPDATE creators SET mcn_id = 404 WHERE id = 1", "foreign key|FOREIGN KEY"),
    ("a client event of nobody", "INSERT INTO client_events (client_id, at, actor_role, actor_id, event, details)"
     " VALUES (404, '2026-11-27 04:00:00', 'client', 404, 'account_closed', '{}')", "foreign key|FOREIGN KEY"),
    ("a closed creator without closed_at", "UPDATE creators SET status = 'closed' WHERE id = 1",
     "ck_creators_closed_at_set|CHECK constraint failed"),
    ("a closed client without closed_at", "UPDATE clients SET status = 'closed' WHERE id = 1",
     "ck_clients_closed_at_set|CHECK constraint failed"),
    ("a negative follower count", "UPDATE creators SET followers = -1 WHERE id = 1",
     "ck_creators_figures_not_negative|CHECK constraint failed"),
]  # fmt: skip


@pytest.mark.parametrize("case", GUARDED, ids=[case[0] for case in GUARDED])
def test_the_upgraded_database_still_refuses(upgraded, case):
    _, sql, says = case
    before = old_rows(upgraded.engine)
    with pytest.raises(sa.exc.DatabaseError, match=says):
        with upgraded.engine.begin() as connection:
            for statement in sql.split("; "):
                connection.exec_driver_sql(statement)
    assert old_rows(upgraded.engine) == before
    with upgraded.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM client_events").scalar() == 0
        if upgraded.engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []


# --- the service layer on the upgraded rows -------------------------------------------------------------------


def test_the_service_layer_works_on_the_upgraded_rows(release_url):
    engine = make_engine(release_url, pool_size=1, max_overflow=0)  # one connection: the upgrade's, reused
    before = old_rows(engine)
    result = schema.upgrade(engine)
    assert (result["from_revision"], result["to_revision"]) == ("0002", HEAD)
    assert old_rows(engine) == before
    with pytest.raises(sa.exc.IntegrityError):  # SQLite's enforcement, off for the rebuilds, is back on
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE creators SET mcn_id = 404 WHERE id = 1")
    market = Market(session_factory(engine), Settings(database_url=release_url))
    market.check_invariants()  # the release's rows read back through the models, whole
    refusals = [  # accounts with orders in production, or banned, cannot close; nothing changes
        (Role.CLIENT, 2, "open_orders", "cannot close client 2: order 8 is in production (accepted)"),
        (Role.CREATOR, 2, "open_orders", "cannot close creator 2: orders 7, 8 are in production (accepted)"),
        (Role.CREATOR, 3, "invalid_state", "creator 3 is banned for good"),
    ]
    unchanged = market.dump()
    for role, account, code, words in refusals:
        with pytest.raises(XingtuError) as refused:
            market.close(role, account, now=CLOSE_AT, reason="不再使用星图")
        assert (refused.value.code, words in refused.value.message) == (code, True), refused.value.message
    assert market.dump() == unchanged

    closed = market.run(accounts.close, role=Role.CREATOR, account_id=1, reason="不再使用星图", now=CLOSE_AT)
    assert (closed.status, closed.closed_at, closed.violation_count) == (CreatorStatus.CLOSED, CLOSE_AT, 0)
    declined = market.order(9)
    assert (declined.status.value, declined.cancel_reason.value) == ("cancelled", "creator_declined")
    assert (declined.creator_payout_fen, declined.client_refund_fen, declined.remind_at) == (0, 10_000, None)
    last = market.events(9)[-1]
    assert (last.event, last.actor_role, last.actor_id, last.at) == ("declined_on_closing", Role.CREATOR, 1, CLOSE_AT)
    assert market.ledger(9) == [("escrow", 10_000), ("client_refund", 10_000)]
    with market.sessions() as session:
        trail = session.scalars(sa.select(CreatorEvent).where(CreatorEvent.creator_id == 1)).all()
    assert [(e.id, e.event, e.actor_role, e.actor_id, e.details) for e in trail] == [
        (8, "account_closed", Role.CREATOR, 1, {"reason": "不再使用星图", "cancelled_orders": [9]})
    ]  # the ids go on after the release's rows
    new_notes = [(n.idempotency_key, n.recipient_role.value, n.recipient_id, n.phone) for n in market.notifications()]
    assert new_notes[len(RELEASE["notifications"]) :] == [
        ("order-9:order_cancelled:creator", "creator", 1, "+8613900000002"),
        ("order-9:order_cancelled:client", "client", 1, "+8613800000001"),
        ("creator-event-8:account_closed:creator", "creator", 1, "+8613900000002"),
    ]
    with pytest.raises(XingtuError) as refused:
        market.run(orders.publish, client_id=2, creator_id=1, title="新品", amount_fen=100, now=CLOSE_AT)
    assert refused.value.code == "creator_closed"
    # the creator record from the old orders: 4 (completed), 5 (expired), 6 (client cancelled), 9 (declined)
    assert market.record(1) == {
        "offered": 4, "accepted": 1, "completed": 1, "in_production": 0, "declined": 1, "expired": 1,
        "cancelled_by_creator": 0, "cancelled_by_client": 1, "acceptance_rate": 0.3333,
    }  # fmt: skip
    assert market.record(3) == {
        "offered": 3, "accepted": 2, "completed": 0, "in_production": 0, "declined": 1, "expired": 0,
        "cancelled_by_creator": 1, "cancelled_by_client": 1, "acceptance_rate": 0.6667,
    }  # fmt: skip
    reopened = market.reopen(Role.CREATOR, 1, now=CLOSE_AT + HOUR)
    assert (reopened.status, reopened.closed_at) == (CreatorStatus.ACTIVE, None)
    assert market.account(Client, 1).status.value == "active"
    market.check_invariants()
    after = old_rows(engine)
    assert after["orders"][:8] == before["orders"][:8]  # the orders it did not touch
    for table in ("ledger_entries", "order_events", "notifications", "creator_events", "violations"):
        assert after[table][: len(before[table])] == before[table], table
    engine.dispose()


# --- down and up again ----------------------------------------------------------------------------------------


def test_downgrade_to_0002_and_upgrade_again_keeps_the_rows(release_url):
    engine = make_engine(release_url)
    before = old_rows(engine, keep_dropped=True)
    schema.upgrade(engine)
    downgrade(engine, "0002")
    assert revision(engine) == "0002"
    back = old_rows(engine, keep_dropped=True)
    assert without_dropped(back) == without_dropped(before)
    reasons = [row[-1] for row in back["cancellation_requests"]]
    assert reasons == [None] * len(RELEASE["cancellation_requests"])  # the column is back, its values are not
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
    assert {"mcns", "client_events"} & tables == set()
    result = schema.upgrade(engine)
    assert (result["from_revision"], result["to_revision"]) == ("0002", HEAD)
    assert old_rows(engine) == without_dropped(before)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    for sql in ("UPDATE order_events SET event = 'x'", "UPDATE creator_events SET event = 'x'"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as connection:
                connection.exec_driver_sql(sql)
    assert old_rows(engine) == without_dropped(before)
    engine.dispose()
