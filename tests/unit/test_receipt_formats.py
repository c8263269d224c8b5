"""The providers' receipt pushes read into one shape (``worker.notify.receipts.parse``): the fields each
provider sends, their times in Asia/Shanghai, and a body refused whole, naming the receipt and field."""

import json
from datetime import datetime, timezone

import pytest

from worker.notify.receipts import BadReceipt, Receipt, parse

ALIYUN = {
    "phone_number": "13900000002", "send_time": "2026-12-02 20:00:01", "report_time": "2026-12-02 20:00:05",
    "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
    "biz_id": "932702304080415357^0", "out_id": "order-7:order_cancelled:creator",
}  # fmt: skip
TENCENT = {
    "user_receive_time": "2026-12-02 20:00:05", "nationcode": "86", "mobile": "13900000002",
    "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功", "sid": "2028:f825e6b16e23f73f4123",
}  # fmt: skip
AT = datetime(2026, 12, 2, 12, 0, 5, tzinfo=timezone.utc)  # 20:00:05 in Asia/Shanghai


def body(*items) -> bytes:
    return json.dumps(list(items), ensure_ascii=False).encode()


def test_an_aliyun_report_names_its_send_by_biz_id_and_out_id():
    assert parse("aliyun", body(ALIYUN)) == [
        Receipt("aliyun", "932702304080415357^0", "order-7:order_cancelled:creator", True, None, AT)
    ]


def test_an_aliyun_failure_keeps_the_code_and_the_words():
    failed = ALIYUN | {"success": False, "err_code": "MK:0012", "err_msg": "空号"}
    (receipt,) = parse("aliyun", body(failed))
    assert (receipt.delivered, receipt.error) == (False, "MK:0012: 空号")


def test_long_words_of_the_provider_are_clipped_not_refused():
    (receipt,) = parse("aliyun", body(ALIYUN | {"success": False, "err_code": "MK:0012", "err_msg": "错" * 500}))
    assert receipt.error == ("MK:0012: " + "错" * 500)[:300]


def test_an_aliyun_failure_without_words_still_says_so():
    (receipt,) = parse("aliyun", body(ALIYUN | {"success": False, "err_code": None, "err_msg": ""}))
    assert receipt.error == "no reason given"


def test_a_tencent_callback_names_its_send_by_sid():
    assert parse("tencent", body(TENCENT)) == [Receipt("tencent", "2028:f825e6b16e23f73f4123", None, True, None, AT)]


def test_a_tencent_failure_keeps_errmsg_and_description():
    (receipt,) = parse("tencent", body(TENCENT | {"report_status": "FAIL", "errmsg": "MN:0001", "description": "空号"}))
    assert (receipt.delivered, receipt.error) == (False, "MN:0001: 空号")


def test_many_receipts_in_one_push_keep_their_order():
    second = ALIYUN | {"biz_id": "2^0", "out_id": "k2"}
    assert [r.message_id for r in parse("aliyun", body(ALIYUN, second))] == ["932702304080415357^0", "2^0"]


def test_an_empty_push_is_no_receipts():
    assert parse("tencent", b"[]") == []


def test_a_single_object_is_taken_as_a_push_of_one():
    assert len(parse("tencent", json.dumps(TENCENT).encode())) == 1


def test_an_aliyun_out_id_is_optional():
    (receipt,) = parse("aliyun", body({k: v for k, v in ALIYUN.items() if k != "out_id"}))
    assert receipt.out_id is None


@pytest.mark.parametrize(
    "provider, raw, says",
    [
        ("aliyun", b"not json", "the body is not JSON"),
        ("aliyun", b"\xff\xfe", "the body is not JSON"),
        ("aliyun", b'"a string"', "the body must be a JSON array of receipts"),
        ("aliyun", b"[1]", "receipt 0 is not a JSON object"),
        ("aliyun", body(ALIYUN, {k: v for k, v in ALIYUN.items() if k != "biz_id"}), "receipt 1: biz_id is missing"),
        ("aliyun", body(ALIYUN | {"success": "true"}), "receipt 0: success must be true or false"),
        (
            "aliyun",
            body(ALIYUN | {"report_time": "2026/12/02 20:00"}),
            "receipt 0: report_time '2026/12/02 20:00' is not a time",
        ),
        ("aliyun", body(ALIYUN | {"biz_id": ["x"]}), "receipt 0: biz_id must be a string"),
        ("aliyun", body(ALIYUN | {"biz_id": "9" * 201}), "receipt 0: biz_id is longer than 200 characters"),
        ("aliyun", body(ALIYUN | {"out_id": "k" * 121}), "receipt 0: out_id is longer than 120 characters"),
        (
            "tencent",
            body(TENCENT | {"report_status": "DONE"}),
            "receipt 0: report_status 'DONE' is neither SUCCESS nor FAIL",
        ),
        ("tencent", body({k: v for k, v in TENCENT.items() if k != "sid"}), "receipt 0: sid is missing"),
        ("tencent", body(TENCENT | {"user_receive_time": ""}), "receipt 0: user_receive_time is missing"),
    ],
)
def test_a_malformed_push_is_refused_whole_naming_what_is_wrong(provider, raw, says):
    with pytest.raises(BadReceipt) as info:
        parse(provider, raw)
    assert str(info.value).startswith(says)
