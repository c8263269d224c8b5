"""SMS texts, Simplified Chinese, rendered from a notification's params when its row is written.

The params travel with the text (the webhook sender posts both) so a provider that works from its own
approved templates can use the values instead of the text. Instants in params are ISO 8601 UTC; the
text shows them in Asia/Shanghai time. Money in params is fen; the text shows yuan.
"""

from datetime import datetime
from typing import Any

from models.states import CancelReason, Role, Sanction, TimeoutPolicy
from models.states import NotificationKind as Kind
from worker.display import local_time, yuan

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
INSTANTS = ("accept_deadline", "respond_by", "suspended_until")


def _cause(params: dict[str, Any]) -> str:
    cause = CAUSE[CancelReason(params["cancel_reason"])]
    if params.get("reason"):
        cause += f"（{params['reason']}）"
    if params.get("auto_confirmed"):
        cause += "，对方逾期未回应，已自动同意"
    return cause


def render(kind: Kind, params: dict[str, Any]) -> str:
    view = dict(params)
    for key, value in params.items():
        if key.endswith("_fen"):
            view[key.removesuffix("_fen")] = yuan(value)
        elif key in INSTANTS and value is not None:
            view[key] = local_time(datetime.fromisoformat(value))
    if "initiator" in params:
        view["initiator"] = PARTY[Role(params["initiator"])]
    if "policy" in params:
        view["on_silence"] = ON_SILENCE[TimeoutPolicy(params["policy"])]
    if "cancel_reason" in params:
        view["cause"] = _cause(params)
    if "sanction" in params:
        view["penalty"] = PENALTY[Sanction(params["sanction"])].format_map(view)
    view["response"] = f"，理由：{params['response']}" if params.get("response") else ""
    return TEMPLATES[kind].format_map(view)
