"""SMS texts, Simplified Chinese: what each notification kind says (``TEMPLATES``), the params every
writer of that kind stores (``PARAMS``, checked by ``params_for``), and how a param is shown (``SHOWN``).

A notification row keeps its params, not its text: ``render`` makes the text whenever the row is sent or
shown, so the webhook sender can post both and a provider that works from its own approved templates can
use the values instead. Params are JSON: instants ISO 8601 UTC, money in fen, states by their value.
"""

from collections.abc import Callable
from datetime import datetime
from string import Formatter
from typing import Any

from models.states import CancelReason, Role, Sanction, TimeoutPolicy
from models.states import NotificationKind as Kind
from worker.formats.display import local_time, yuan

TEMPLATES = {
    Kind.ORDER_PUBLISHED: "【星图】您收到新任务《{title}》，金额{amount}元，请于{accept_deadline}前接收，逾期将自动取消。",
    Kind.ACCEPTANCE_REMINDER: "【星图】任务《{title}》将于{accept_deadline}截止接收，逾期将自动取消，请尽快处理。",
    Kind.CANCELLATION_REQUESTED: (
        "【星图】{initiator}申请取消任务《{title}》，理由：{reason}。如同意，达人获得{compensation}元，"
        "客户退款{refund}元。请于{respond_by}前处理，逾期将{on_silence}。"
    ),
    Kind.CANCELLATION_REJECTED: "【星图】您对任务《{title}》的取消申请已被拒绝{response}，任务继续进行。",
    Kind.CANCELLATION_WITHDRAWN: "【星图】{initiator}已撤回任务《{title}》的取消申请，任务继续进行。",
    Kind.CANCELLATION_LAPSED: "【星图】任务《{title}》的取消申请未在{respond_by}前得到回应，已失效，任务继续进行。",
    Kind.ORDER_CANCELLED: (
        "【星图】您的任务《{title}》已成功取消。原因：{cause}。达人获得{creator_payout}元，客户退款{client_refund}元。"
    ),
    Kind.ORDER_COMPLETED: "【星图】任务《{title}》已完成，{amount}元已结算给您。",
    Kind.SANCTION_APPLIED: "【星图】您的账号因私下接单（第{violation_number}次违规），{penalty}。",
    Kind.SANCTION_LIFTED: "【星图】您的账号封禁已于{suspended_until}到期，现已恢复接单。",
    Kind.ACCOUNT_CLOSED: "【星图】您的星图账号已关闭，原因：{reason}。{cancelled}如需恢复，可申请重新开通。",
    Kind.ACCOUNT_REOPENED: "【星图】您的星图账号已重新开通{standing}。",
}

PARTY = {Role.CLIENT: "客户", Role.CREATOR: "达人"}
CAUSE = {
    CancelReason.ACCEPTANCE_TIMEOUT: "达人未在接收期限内接收",
    CancelReason.CLIENT_CANCELLED: "客户取消",
    CancelReason.CREATOR_DECLINED: "达人拒绝接单",
    CancelReason.CREATOR_CANCELLED: "达人取消",
}
ON_SILENCE = {TimeoutPolicy.AUTO_CONFIRM: "自动同意取消", TimeoutPolicy.LAPSE: "视为不同意，申请失效"}
PENALTY = {
    Sanction.POST_TAKEDOWN: "相关内容已被删除，再次违规将被封号七天",
    Sanction.SUSPENDED_7D: "账号已被封禁至{suspended_until}，期间无法接单",
    Sanction.SUSPENDED_3M: "账号已被封禁至{suspended_until}，期间无法接单",
    Sanction.PERMANENT_BAN: "账号已被永久封禁",
}
STANDING = {"active": "，可正常使用", "suspended": "，但账号封禁至{suspended_until}，期间无法接单"}
PARAMS = {
    Kind.ORDER_PUBLISHED: ("title", "amount_fen", "accept_deadline"),
    Kind.ACCEPTANCE_REMINDER: ("title", "accept_deadline"),
    Kind.CANCELLATION_REQUESTED: (
        "title",
        "initiator",
        "reason",
        "compensation_fen",
        "refund_fen",
        "respond_by",
        "policy",
    ),  # fmt: skip
    Kind.CANCELLATION_REJECTED: ("title", "initiator", "response"),
    Kind.CANCELLATION_WITHDRAWN: ("title", "initiator", "response"),
    Kind.CANCELLATION_LAPSED: ("title", "respond_by"),
    Kind.ORDER_CANCELLED: (
        "title",
        "cancel_reason",
        "reason",
        "auto_confirmed",
        "creator_payout_fen",
        "client_refund_fen",
    ),  # fmt: skip
    Kind.ORDER_COMPLETED: ("title", "amount_fen"),
    Kind.SANCTION_APPLIED: ("violation_number", "sanction", "suspended_until"),
    Kind.SANCTION_LIFTED: ("violation_number", "suspended_until"),
    Kind.ACCOUNT_CLOSED: ("reason", "cancelled_orders"),
    Kind.ACCOUNT_REOPENED: ("status", "suspended_until"),
}


def _instant(value: str) -> str:
    return local_time(datetime.fromisoformat(value))


# A param as the text shows it: under which name, and how (money in yuan, instants in Asia/Shanghai).
SHOWN: dict[str, tuple[str, Callable[[Any], str]]] = {
    "amount_fen": ("amount", yuan),
    "compensation_fen": ("compensation", yuan),
    "refund_fen": ("refund", yuan),
    "creator_payout_fen": ("creator_payout", yuan),
    "client_refund_fen": ("client_refund", yuan),
    "accept_deadline": ("accept_deadline", _instant),
    "respond_by": ("respond_by", _instant),
    "suspended_until": ("suspended_until", _instant),
    "initiator": ("initiator", lambda role: PARTY[Role(role)]),
    "policy": ("on_silence", lambda policy: ON_SILENCE[TimeoutPolicy(policy)]),
    "cancelled_orders": ("cancelled", lambda count: f"{count}个待接收任务已取消。"),
}


def params_for(kind: Kind, **values: Any) -> dict[str, Any]:
    """The params of a ``kind`` notification, whose names must be exactly ``PARAMS[kind]``. Values may be
    SQL expressions (the set-based writers build params in SQL); the writer stores them as JSON."""
    if set(values) != set(PARAMS[kind]):
        raise TypeError(f"{kind} takes params {PARAMS[kind]}, got {tuple(values)}")
    return values


def _cause(params: dict[str, Any]) -> str:
    cause = CAUSE[CancelReason(params["cancel_reason"])]
    if params.get("reason"):
        cause += f"（{params['reason']}）"
    if params.get("auto_confirmed"):
        cause += "，对方逾期未回应，已自动同意"
    return cause


def placeholders(kind: Kind) -> tuple[str, ...]:
    """The names a ``kind``'s text shows, in order: what a provider's template fills in as variables."""
    return tuple(dict.fromkeys(name for _, name, _, _ in Formatter().parse(TEMPLATES[kind]) if name))


def render(kind: Kind, params: dict[str, Any]) -> str:
    """The text of a ``kind`` notification with these params: the one place every SMS is rendered."""
    return TEMPLATES[kind].format_map(shown(kind, params))


def shown(kind: Kind, params: dict[str, Any]) -> dict[str, Any]:
    """Every placeholder of ``kind``'s text as it is shown (money in yuan, instants in Asia/Shanghai,
    sentences made of several params), beside the params themselves."""
    view = dict(params)
    for key, value in params.items():
        if key in SHOWN and value is not None:
            name, show = SHOWN[key]
            view[name] = show(value)
    # Four placeholders are sentences made from more than one param: {cause}, {penalty}, {standing},
    # {response}.
    if "cancel_reason" in params:
        view["cause"] = _cause(params)
    if "sanction" in params:
        view["penalty"] = PENALTY[Sanction(params["sanction"])].format_map(view)
    if kind is Kind.ACCOUNT_REOPENED:
        view["standing"] = STANDING[params["status"]].format_map(view)
    # Never empty: a provider's template variable takes 1 character or more.
    view["response"] = f"，理由：{params['response']}" if params.get("response") else "（对方未说明理由）"
    return view
