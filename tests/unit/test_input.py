"""Validation of what callers type, and how phones and money look to people."""

import pytest

from worker.errors import InvalidInput
from worker.formats import phones, validation
from worker.formats.display import yuan

CN = ("CN",)


@pytest.mark.parametrize(
    "raw",
    [
        "13812341234",
        "+8613812341234",
        "+86 138 1234 1234",
        " 138-1234-1234 ",
        "0086 13812341234",
        "１３８１２３４１２３４",
    ],
)
def test_chinese_mobiles_normalise_to_e164(raw):
    assert phones.normalise(raw, CN) == "+8613812341234"


@pytest.mark.parametrize(
    "raw, says",
    [
        ("", "not a phone number"),
        ("abc", "has letters"),
        ("13800138888x", "has letters"),
        ("13800138888 ext. 12", "has letters"),
        ("12345", "not a valid number"),
        ("+16502530000", "is a US number"),
        ("+442079460000", "is a GB number"),
        ("010 6552 9988", "not a mobile number"),
    ],
)
def test_bad_phones_are_refused_with_the_reason(raw, says):
    with pytest.raises(InvalidInput, match=says) as info:
        phones.normalise(raw, CN)
    assert info.value.code == "invalid_phone"


def test_other_regions_when_configured():
    assert phones.normalise("+85251234567", ("CN", "HK")) == "+85251234567"


def test_phones_are_masked():
    assert phones.mask("+8613812341234") == "+86138****1234"
    assert phones.mask("+85251234567") == "+852512****4567"


@pytest.mark.parametrize("given, clean", [(1, 1), ("250", 250), (" 42 ", 42), (100_000_000_000, 100_000_000_000)])
def test_amounts(given, clean):
    assert validation.amount_fen(given) == clean


@pytest.mark.parametrize("given", [0, -1, "0", "-1", 1.5, "1.5", "abc", "", 10**15, "9" * 5000, True, None, "١٢"])
def test_bad_amounts(given):
    with pytest.raises(InvalidInput, match="amount_fen must be a whole number of fen from 1 to 100000000000") as info:
        validation.amount_fen(given)
    assert info.value.code == "invalid_amount"


def test_text_is_trimmed():
    assert validation.reason("  预算调整 \t") == "预算调整"


@pytest.mark.parametrize(
    "given, says",
    [
        ("", "required"),
        ("   \t ", "required"),
        ("x" * 501, "501 characters; at most 500"),
        ("bad\x00byte", "control character \\(U\\+0000\\) at position 4"),
        ("two\nlines", "control character \\(U\\+000A\\)"),
        ("\x1b[31mred", "control character"),
        (None, "must be text"),
    ],
)
def test_bad_reasons(given, says):
    with pytest.raises(InvalidInput, match=says) as info:
        validation.reason(given)
    assert info.value.code == "invalid_reason"


@pytest.mark.parametrize("given", ["x" * 500, "预算调整 🎬👩‍👩‍👧", "'; DROP TABLE orders; --"])
def test_good_reasons_pass_as_they_are(given):
    assert validation.reason(given) == given


def test_titles_are_at_most_100_characters():
    assert validation.title("标" * 100) == "标" * 100
    with pytest.raises(InvalidInput, match="at most 100"):
        validation.title("标" * 101)


@pytest.mark.parametrize(
    "fen, shown", [(0, "0.00"), (1, "0.01"), (12_345, "123.45"), (100_000_000_000, "1,000,000,000.00")]
)
def test_yuan(fen, shown):
    assert yuan(fen) == shown
