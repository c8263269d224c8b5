"""SMS texts: Simplified Chinese, Asia/Shanghai times, yuan."""

from string import Formatter

import pytest

from models.states import NotificationKind as Kind
from worker.notify.messages import PARAMS, SHOWN, TEMPLATES, params_for, render

DEADLINE = "2026-11-28T04:00:00+00:00"  # 12:00 in Shanghai


def test_order_cancelled_reads_as_the_spec_example():
    text = render(
        Kind.ORDER_CANCELLED,
        {"title": "夏季新品", "cancel_reason": "client_cancelled", "reason": "预算调整", "auto_confirmed": False,
         "creator_payout_fen": 6_173, "client_refund_fen": 6_172},
    )  # fmt: skip
    assert text.startswith("【星图】您的任务《夏季新品》已成功取消。")
    assert "客户取消（预算调整）" in text and "达人获得61.73元" in text and "客户退款61.72元" in text


def test_times_show_in_shanghai():
    text = render(Kind.ORDER_PUBLISHED, {"title": "t", "amount_fen": 100, "accept_deadline": DEADLINE})
    assert "2026-11-28 12:00前接收" in text and "金额1.00元" in text


def test_a_request_shows_reason_quote_and_respond_by():
    text = render(
        Kind.CANCELLATION_REQUESTED,
        {"title": "t", "initiator": "creator", "reason": "生病", "compensation_fen": 0, "refund_fen": 500,
         "respond_by": DEADLINE, "policy": "lapse"},
    )  # fmt: skip
    assert text.startswith("【星图】达人申请取消任务《t》，理由：生病。")
    assert "达人获得0.00元，客户退款5.00元" in text and "2026-11-28 12:00前处理" in text and "申请失效" in text


def test_auto_confirmed_cancellation_says_so():
    text = render(
        Kind.ORDER_CANCELLED,
        {"title": "t", "cancel_reason": "creator_cancelled", "reason": "r", "auto_confirmed": True,
         "creator_payout_fen": 0, "client_refund_fen": 1},
    )  # fmt: skip
    assert "达人取消（r），对方逾期未回应，已自动同意" in text


def test_rejection_with_and_without_a_reason():
    assert "已被拒绝，理由：不同意" in render(Kind.CANCELLATION_REJECTED, {"title": "t", "response": "不同意"})
    assert "已被拒绝（对方未说明理由），任务继续进行" in render(
        Kind.CANCELLATION_REJECTED, {"title": "t", "response": None}
    )


def test_braces_in_a_title_are_text():
    assert "《{amount}》" in render(Kind.ORDER_COMPLETED, {"title": "{amount}", "amount_fen": 1})


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_every_template_is_branded(kind):
    assert TEMPLATES[kind].startswith("【星图】")


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_declares_the_params_its_text_uses(kind):
    """Each placeholder of a text is a declared param, or the shown form of one (yuan, Shanghai time, a
    party's or a policy's words), or derived from one (the cause, the penalty, the standing, the rejection's
    reason)."""
    derived = {"cause": "cancel_reason", "penalty": "sanction", "standing": "status", "response": "response"}
    shown = {name: param for param, (name, _) in SHOWN.items()} | derived
    placeholders = {field for _, field, _, _ in Formatter().parse(TEMPLATES[kind]) if field}
    assert {shown.get(field, field) for field in placeholders} <= set(PARAMS[kind])


def test_a_writer_must_give_exactly_the_declared_params():
    with pytest.raises(TypeError, match="order_completed takes params"):
        params_for(Kind.ORDER_COMPLETED, title="t")
    with pytest.raises(TypeError, match="order_completed takes params"):
        params_for(Kind.ORDER_COMPLETED, title="t", amount_fen=1, extra=2)
    assert params_for(Kind.ACCEPTANCE_REMINDER, title="t", accept_deadline=DEADLINE) == {
        "title": "t", "accept_deadline": DEADLINE,
    }  # fmt: skip
