"""The vocabulary of the rules: states, reasons, roles, notification and audit event kinds, as stored and
as shown in JSON."""

from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (OrderStatus.COMPLETED, OrderStatus.CANCELLED)


class CancelReason(StrEnum):
    ACCEPTANCE_TIMEOUT = "acceptance_timeout"
    CLIENT_CANCELLED = "client_cancelled"
    CREATOR_DECLINED = "creator_declined"
    CREATOR_CANCELLED = "creator_cancelled"


class Role(StrEnum):
    CLIENT = "client"
    CREATOR = "creator"
    MCN = "mcn"  # an agency acting as the creator side of its signed creators' orders
    SYSTEM = "system"

    @property
    def counterparty(self) -> "Role":
        return {Role.CLIENT: Role.CREATOR, Role.CREATOR: Role.CLIENT}[self]


class RequestStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    AUTO_CONFIRMED = "auto_confirmed"
    LAPSED = "lapsed"


class TimeoutPolicy(StrEnum):
    """What silence past a cancellation request's respond-by instant does."""

    AUTO_CONFIRM = "auto_confirm"
    LAPSE = "lapse"


class LedgerKind(StrEnum):
    ESCROW = "escrow"
    CREATOR_PAYOUT = "creator_payout"
    CLIENT_REFUND = "client_refund"


class NotificationKind(StrEnum):
    ORDER_PUBLISHED = "order_published"
    ACCEPTANCE_REMINDER = "acceptance_reminder"
    CANCELLATION_REQUESTED = "cancellation_requested"
    CANCELLATION_REJECTED = "cancellation_rejected"
    CANCELLATION_WITHDRAWN = "cancellation_withdrawn"
    CANCELLATION_LAPSED = "cancellation_lapsed"
    ORDER_CANCELLED = "order_cancelled"
    ORDER_COMPLETED = "order_completed"
    SANCTION_APPLIED = "sanction_applied"
    SANCTION_LIFTED = "sanction_lifted"
    ACCOUNT_CLOSED = "account_closed"
    ACCOUNT_REOPENED = "account_reopened"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"
    DELIVERED = "delivered"  # the provider's receipt (状态报告) says it reached the phone
    UNDELIVERED = "undelivered"  # the receipt says it did not; the provider's error in receipt_error


# The built-in senders whose providers push delivery receipts (``xingtu receipts serve``): only their
# sends are expected to be confirmed.
RECEIPT_SENDERS = ("aliyun", "tencent")


class CreatorStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    BANNED = "banned"
    CLOSED = "closed"  # 关闭星图: the creator closed their account; ``reopen`` brings it back


class ClientStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class Sanction(StrEnum):
    """The penalty ladder for off-platform deals (私下接单), one step per violation."""

    POST_TAKEDOWN = "post_takedown"  # 删帖
    SUSPENDED_7D = "suspended_7d"  # 封号七天
    SUSPENDED_3M = "suspended_3m"  # 封号三个月
    PERMANENT_BAN = "permanent_ban"  # 永久封号


class OrderEventKind(StrEnum):
    """What an order's audit trail records (``order_events.event``): one member per kind of step."""

    PUBLISHED = "published"
    ACCEPTED = "accepted"
    VIDEO_UPLOADED = "video_uploaded"
    COMPLETED = "completed"
    ACCEPTANCE_REMINDER = "acceptance_reminder"
    ACCEPTANCE_TIMED_OUT = "acceptance_timed_out"
    CANCELLED = "cancelled"  # a client cancelled a pending order
    DECLINED = "declined"  # a creator declined a pending order
    DECLINED_FOR_SANCTION = "declined_for_sanction"
    DECLINED_ON_CLOSING = "declined_on_closing"  # the creator closed their account
    CANCELLED_ON_CLOSING = "cancelled_on_closing"  # the client closed their account
    CANCELLATION_REQUESTED = "cancellation_requested"
    CANCELLATION_CONFIRMED = "cancellation_confirmed"
    CANCELLATION_AUTO_CONFIRMED = "cancellation_auto_confirmed"
    CANCELLATION_REJECTED = "cancellation_rejected"
    CANCELLATION_WITHDRAWN = "cancellation_withdrawn"
    CANCELLATION_LAPSED = "cancellation_lapsed"


class CreatorEventKind(StrEnum):
    """What a creator's trail records (``creator_events.event``)."""

    VIOLATION_RECORDED = "violation_recorded"
    SUSPENSION_LIFTED = "suspension_lifted"
    ACCOUNT_CLOSED = "account_closed"
    ACCOUNT_REOPENED = "account_reopened"
    MCN_SIGNED = "mcn_signed"
    MCN_RELEASED = "mcn_released"
    RECORD_UPDATED = "record_updated"  # followers / average plays synced from Douyin


class ClientEventKind(StrEnum):
    """What a client's trail records (``client_events.event``)."""

    ACCOUNT_CLOSED = "account_closed"
    ACCOUNT_REOPENED = "account_reopened"
