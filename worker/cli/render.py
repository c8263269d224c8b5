"""Output for people: short, aligned, Chinese text intact, times in Asia/Shanghai.

Columns of variable width (titles, texts) come last, so CJK characters never break the alignment.
"""

from datetime import datetime
from typing import Any

from worker.formats.display import local_time_precise, yuan

STATUS = {"pending": "待接收", "accepted": "进行中", "completed": "已完成", "cancelled": "已取消"}


def _when(iso: str | None) -> str:
    return local_time_precise(datetime.fromisoformat(iso)) if iso else "-"


def _count(number: int, one: str, many: str | None = None) -> str:
    """``1 expired order``, ``2 expired orders``."""
    return f"{number} {one if number == 1 else (many or one + 's')}"


def _detail(value: Any) -> Any:
    """An event detail as people read it: an instant in Shanghai time, like every other instant shown."""
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return _when(value)
        except ValueError:
            return value
    return value


def _money(fen: int | None) -> str:
    return "-" if fen is None else f"¥{yuan(fen)}"


def _fields(pairs: list[tuple[str, Any]]) -> str:
    shown = [(label, value) for label, value in pairs if value not in (None, "")]
    width = max(len(label) for label, _ in shown)
    return "\n".join(f"  {label:<{width}}  {value}" for label, value in shown)


def order_text(order: dict[str, Any]) -> str:
    status = order["status"]
    reason = f" ({order['cancel_reason']})" if order["cancel_reason"] else ""
    head = f"order {order['id']}  {STATUS[status]} {status}{reason}  《{order['title']}》"
    pairs = [
        ("client / creator", f"{order['client_id']} / {order['creator_id']}"),
        ("amount", _money(order["amount_fen"])),
        ("published", _when(order["published_at"])),
        ("accept by", _when(order["accept_deadline"])),
        ("accepted", order["accepted_at"] and _when(order["accepted_at"])),
        ("uploads", order["upload_count"] and f"{order['upload_count']} (first {_when(order['first_upload_at'])})"),
        ("completed", order["completed_at"] and _when(order["completed_at"])),
        ("cancelled", order["cancelled_at"] and _when(order["cancelled_at"])),
        ("creator payout", order["creator_payout_fen"] is not None and _money(order["creator_payout_fen"])),
        ("client refund", order["client_refund_fen"] is not None and _money(order["client_refund_fen"])),
    ]
    request = order["cancellation"]
    if request:
        pairs += [
            (
                "cancellation",
                f"#{request['id']} by {request['initiator']}, {request['status']},"
                f" quoted {_money(request['compensation_fen'])} to the creator",
            ),  # fmt: skip
            ("  reason", request["reason"]),
            ("  requested", _when(request["requested_at"])),
            ("  respond by", request["respond_by"] and _when(request["respond_by"])),
            ("  resolved", request["resolved_at"] and _when(request["resolved_at"])),
        ]
    return head + "\n" + _fields([(label, value or None) for label, value in pairs])


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.2f}%"


def party_text(party: dict[str, Any]) -> str:
    """A client, creator or MCN, told apart by what their JSON holds."""
    line = f"{party['id']}  {party['name']}  {party['phone']}  (since {_when(party['created_at'])})"
    if "creators" in party:  # an MCN
        return f"{line}\n  signs creators: {', '.join(map(str, party['creators'])) or '-'}"
    standing = party["status"]
    if party.get("suspended_until"):
        standing += f" (suspension until {_when(party['suspended_until'])})"
    if party["closed_at"]:
        standing += f" since {_when(party['closed_at'])}"
    if "record" not in party:  # a client
        return f"{line}\n  {standing}"
    record = party["record"]
    mcn = f", signed to mcn {party['mcn_id']}" if party["mcn_id"] else ""
    return (
        f"{line}\n  {standing}, {party['violations']} violation(s){mcn}"
        f"\n  {party['followers']} followers, {party['average_plays']} average plays"
        f"\n  orders: {record['offered']} offered, {record['accepted']} accepted ({_rate(record['acceptance_rate'])}),"
        f" {record['completed']} completed, {record['in_production']} in production, {record['declined']} declined,"
        f" {record['expired']} expired, cancelled {record['cancelled_by_creator']} by the creator and"
        f" {record['cancelled_by_client']} by clients"
    )


CREATOR_HEADER = f"{'ID':>6}  {'STATUS':<9}  {'FOLLOWERS':>11}  {'AVG PLAYS':>11}  {'ACCEPTED':>8}  {'DONE':>6}  NAME"


def creator_row(creator: dict[str, Any]) -> str:
    record = creator["record"]
    return (
        f"{creator['id']:>6}  {creator['status']:<9}  {creator['followers']:>11}  {creator['average_plays']:>11}"
        f"  {_rate(record['acceptance_rate']):>8}  {record['completed']:>6}  {creator['name']}"
    )


VIOLATION_HEADER = f"{'#':>3}  {'AT':<26}  {'SANCTION':<14}  {'UNTIL':<26}  EVIDENCE"


def violation_row(violation: dict[str, Any]) -> str:
    until = _when(violation["suspended_until"]) if violation["suspended_until"] else "-"
    return (
        f"{violation['violation_number']:>3}  {_when(violation['at']):<26}  {violation['sanction']:<14}  {until:<26}"
        f"  {violation['evidence']}"
    )


ORDER_HEADER = f"{'ID':>6}  {'STATUS':<9}  {'AMOUNT':>16}  {'ACCEPT BY':<26}  TITLE"


def order_row(order: dict[str, Any]) -> str:
    return (
        f"{order['id']:>6}  {order['status']:<9}  {_money(order['amount_fen']):>16}"
        f"  {_when(order['accept_deadline']):<26}  {order['title']}"
    )


EVENT_HEADER = f"{'AT':<26}  {'ACTOR':<12}  {'EVENT':<28}  {'STATE':<22}  DETAILS"


def event_row(event: dict[str, Any]) -> str:
    actor = event["actor_role"] + (f" {event['actor_id']}" if event["actor_id"] is not None else "")
    state = f"{event['from_status'] or '-'} -> {event['to_status']}"
    details = ", ".join(f"{key}={_detail(value)}" for key, value in event["details"].items() if value is not None)
    return f"{_when(event['at']):<26}  {actor:<12}  {event['event']:<28}  {state:<22}  {details}"


NOTIFICATION_HEADER = f"{'ID':>6}  {'KIND':<22}  {'TO':<28}  {'STATUS':<11}  {'TRIES':>5}  TEXT"


def notification_row(note: dict[str, Any]) -> str:
    to = f"{note['recipient_role']} {note['recipient_id']} {note['phone']}"
    return f"{note['id']:>6}  {note['kind']:<22}  {to:<28}  {note['status']:<11}  {note['attempts']:>5}  {note['text']}"


def scan_text(result: dict[str, Any]) -> str:
    verb = "would apply" if result.get("dry_run") else "applied"
    return (
        f"scan {verb}: {_count(result['expired_orders'], 'expired order')},"
        f" {_count(result['timed_out_requests'], 'timed-out cancellation request')},"
        f" {_count(result['acceptance_reminders'], 'acceptance reminder')},"
        f" {_count(result['lifted_suspensions'], 'suspension')} lifted,"
        f" {_count(result['receipts_applied'], 'held delivery receipt')} applied, {result['receipts_forgotten']}"
        f" forgotten, {_count(result['idempotency_keys_forgotten'], 'idempotency key')} forgotten"
    )


def upgrade_text(result: dict[str, Any]) -> str:
    if not result["upgraded"]:
        return f"{result['database']}: schema already at revision {result['to_revision']}"
    return (
        f"{result['database']}: schema upgraded from {result['from_revision'] or 'nothing'} to {result['to_revision']}"
    )


def dispatch_text(result: dict[str, Any]) -> str:
    return (
        f"dispatched: {result['sent']} sent, {result['retrying']} to retry later, {result['throttled']} throttled"
        f" by the provider, {result['dead']} dead,"
        f" {result['released']} released"
    )


def status_text(report: dict[str, Any]) -> str:
    def counts(key: str) -> str:
        return ", ".join(f"{count} {name}" for name, count in report[key].items())

    def oldest(key: str) -> str:
        return f"oldest {report[key]:.0f} s"

    requests = report["open_cancellation_requests"], report["overdue_cancellation_requests"]
    return _fields(
        [
            ("orders", counts("orders")),
            ("creators", counts("creators")),
            ("overdue pending", f"{report['overdue_pending_orders']} ({oldest('oldest_overdue_pending_seconds')})"),
            ("open requests", f"{requests[0]} ({requests[1]} overdue, {oldest('oldest_overdue_request_seconds')})"),
            ("notifications", counts("notifications")),
            ("due now", f"{report['due_notifications']} ({oldest('oldest_due_notification_seconds')})"),
            (
                "unconfirmed",
                f"{report['unconfirmed_notifications']} sent over an hour ago with no delivery receipt"
                f" ({oldest('oldest_unconfirmed_seconds')})",
            ),
            ("held receipts", f"{report['held_receipts']} ({report['unknown_receipts']} matching no notification)"),
        ]
    )
