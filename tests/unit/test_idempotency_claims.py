"""What makes two calls the same call under an idempotency key (``idempotency.Claim``): the name and
the arguments given, in any order, an argument given as None being one left out."""

import pytest

from worker.errors import InvalidInput
from worker.services.idempotency import Claim


def fingerprint(call: str, **arguments) -> str:
    return Claim.of("k", call, arguments).fingerprint


def test_the_same_call_in_any_order_is_the_same_call():
    assert fingerprint("xingtu.accept_order", order_id=1, creator_id=2) == fingerprint(
        "xingtu.accept_order", creator_id=2, order_id=1, mcn_id=None
    )


@pytest.mark.parametrize(
    "other",
    [
        {"call": "xingtu.accept_order", "order_id": 1, "mcn_id": 2},  # the same id as another party
        {"call": "xingtu.accept_order", "order_id": 1, "creator_id": "2"},  # text is not a number
        {"call": "xingtu.accept_order", "order_id": 2, "creator_id": 1},
        {"call": "xingtu order accept", "order_id": 1, "creator_id": 2},  # a command is not a task
    ],
)
def test_anything_else_is_another_call(other):
    call = other.pop("call")
    assert fingerprint(call, **other) != fingerprint("xingtu.accept_order", order_id=1, creator_id=2)


def test_no_key_is_no_claim_and_a_key_is_kept_as_given():
    assert Claim.of(None, "xingtu.accept_order", {"order_id": 1}) is None
    claim = Claim.of(" Key-1 ", "xingtu.accept_order", {"order_id": 1})
    assert (claim.key, claim.call, len(claim.fingerprint)) == (" Key-1 ", "xingtu.accept_order", 64)


def test_a_malformed_key_is_refused_whatever_the_call():
    with pytest.raises(InvalidInput) as refused:
        Claim.of("x" * 256, "xingtu.accept_order", {})
    assert refused.value.code == "invalid_idempotency_key"
