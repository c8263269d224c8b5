"""Every refusal names what is wrong and leaves the database exactly as it was."""

from collections.abc import Callable
from enum import Enum
from typing import Any, NamedTuple

import pytest

from models import Client, Creator
from models.states import Role
from tests.market import HOUR, T0
from worker.rules import party_of
from worker.services import cancellation, orders, parties

NOW = T0 + 4 * HOUR


@pytest.fixture
def world(market):
    """A pending order, an accepted one with an upload, a frozen one (client's request open), a
    completed one, and a stranger on each side."""
    pending = market.publish()
    accepted = market.accepted(uploads=1)
    frozen = market.accepted(uploads=1)
    market.request(frozen, Role.CLIENT, now=T0 + 3 * HOUR)
    done = market.accepted(uploads=1)
    market.run(orders.complete, order_id=done.id, client_id=done.client_id, now=T0 + 3 * HOUR)
    bare = market.accepted()
    return {"pending": pending, "accepted": accepted, "frozen": frozen, "done": done, "bare": bare,
            "stranger": 999}  # fmt: skip


class Party(Enum):
    """A placeholder for an id in a case's kwargs, resolved against the world by ``Refusal.arguments``."""

    OWN_CLIENT = "the case's order's client"
    OWN_CREATOR = "the case's order's creator"
    STRANGER = "an id that is no party"


OWN_CLIENT, OWN_CREATOR, STRANGER = Party


class Refusal(NamedTuple):
    """A use case run on one of the world's orders, with kwargs that it must refuse with ``code``."""

    description: str
    use_case: Callable
    order: str  # a key of ``world``
    kwargs: dict[str, Any]  # besides order_id and now; ``Party`` values stand for ids
    code: str

    def arguments(self, world) -> dict[str, Any]:
        return {key: self.resolve(value, world) if isinstance(value, Party) else value
                for key, value in self.kwargs.items()}  # fmt: skip

    def resolve(self, party: Party, world) -> int:
        if party is STRANGER:
            return world["stranger"]
        return party_of(world[self.order], Role.CLIENT if party is OWN_CLIENT else Role.CREATOR)


CASES = [
    Refusal("accept by another creator", orders.accept, "pending", {"creator_id": STRANGER}, "not_allowed"),
    Refusal("accept twice", orders.accept, "accepted", {"creator_id": OWN_CREATOR}, "invalid_state"),
    Refusal("accept a completed order", orders.accept, "done", {"creator_id": OWN_CREATOR}, "invalid_state"),
    Refusal("upload to a pending order", orders.upload, "pending", {"creator_id": OWN_CREATOR, "video": "v"},
            "invalid_state"),
    Refusal("upload by the client's id", orders.upload, "accepted", {"creator_id": STRANGER, "video": "v"},
            "not_allowed"),
    Refusal("upload while frozen", orders.upload, "frozen", {"creator_id": OWN_CREATOR, "video": "v"},
            "cancellation_pending"),
    Refusal("upload a blank video", orders.upload, "accepted", {"creator_id": OWN_CREATOR, "video": " "},
            "invalid_video"),
    Refusal("complete without upload", orders.complete, "bare", {"client_id": OWN_CLIENT}, "no_upload"),
    Refusal("complete while frozen", orders.complete, "frozen", {"client_id": OWN_CLIENT}, "cancellation_pending"),
    Refusal("complete by a stranger", orders.complete, "accepted", {"client_id": STRANGER}, "not_allowed"),
    Refusal("complete a pending order", orders.complete, "pending", {"client_id": OWN_CLIENT}, "invalid_state"),
    Refusal("decline an accepted order", cancellation.decline, "accepted", {"creator_id": OWN_CREATOR, "reason": "r"},
            "invalid_state"),
    Refusal("decline by a stranger", cancellation.decline, "pending", {"creator_id": STRANGER, "reason": "r"},
            "not_allowed"),
    Refusal("decline without a reason", cancellation.decline, "pending", {"creator_id": OWN_CREATOR, "reason": "  "},
            "invalid_reason"),
    Refusal("request by a stranger", cancellation.request, "accepted",
            {"role": Role.CLIENT, "actor_id": STRANGER, "reason": "r"}, "not_allowed"),
    Refusal("second open request", cancellation.request, "frozen",
            {"role": Role.CREATOR, "actor_id": OWN_CREATOR, "reason": "r"}, "cancellation_pending"),
    Refusal("request on a completed order", cancellation.request, "done",
            {"role": Role.CLIENT, "actor_id": OWN_CLIENT, "reason": "r"}, "invalid_state"),
    Refusal("5,000-character reason", cancellation.request, "accepted",
            {"role": Role.CLIENT, "actor_id": OWN_CLIENT, "reason": "长" * 5000}, "invalid_reason"),
    Refusal("control character in reason", cancellation.request, "accepted",
            {"role": Role.CLIENT, "actor_id": OWN_CLIENT, "reason": "a\x07b"}, "invalid_reason"),
    Refusal("confirm by the initiator", cancellation.confirm, "frozen",
            {"role": Role.CLIENT, "actor_id": OWN_CLIENT}, "not_allowed"),
    Refusal("confirm by a stranger", cancellation.confirm, "frozen",
            {"role": Role.CREATOR, "actor_id": STRANGER}, "not_allowed"),
    Refusal("confirm with no request", cancellation.confirm, "accepted",
            {"role": Role.CREATOR, "actor_id": OWN_CREATOR}, "invalid_state"),
    Refusal("reject by the initiator", cancellation.reject, "frozen",
            {"role": Role.CLIENT, "actor_id": OWN_CLIENT}, "not_allowed"),
    Refusal("reject with a blank reason", cancellation.reject, "frozen",
            {"role": Role.CREATOR, "actor_id": OWN_CREATOR, "reason": ""}, "invalid_reason"),
    Refusal("withdraw by the counterparty", cancellation.withdraw, "frozen",
            {"role": Role.CREATOR, "actor_id": OWN_CREATOR}, "not_allowed"),
    Refusal("withdraw with no request", cancellation.withdraw, "accepted",
            {"role": Role.CLIENT, "actor_id": OWN_CLIENT}, "invalid_state"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.description for case in CASES])
def test_refusal_changes_nothing(market, world, case):
    before = market.dump()
    with pytest.raises(Exception) as info:
        market.run(case.use_case, order_id=world[case.order].id, now=NOW, **case.arguments(world))
    assert getattr(info.value, "code", None) == case.code, info.value
    assert market.dump() == before


def test_unknown_order(market):
    with pytest.raises(Exception, match="order 404 does not exist") as info:
        market.run(orders.accept, order_id=404, creator_id=1, now=NOW)
    assert info.value.code == "not_found"


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"amount_fen": 0}, "invalid_amount"),
        ({"amount_fen": -1}, "invalid_amount"),
        ({"amount_fen": "1.5"}, "invalid_amount"),
        ({"amount_fen": "abc"}, "invalid_amount"),
        ({"amount_fen": 10**15}, "invalid_amount"),
        ({"title": ""}, "invalid_title"),
        ({"title": "x" * 101}, "invalid_title"),
        ({"client_id": 404}, "not_found"),
        ({"creator_id": 404}, "not_found"),
    ],
)
def test_bad_publish_changes_nothing(market, kwargs, code):
    client, creator = market.client(), market.creator()
    before = market.dump()
    args = {"client_id": client, "creator_id": creator, "title": "t", "amount_fen": 100, **kwargs}
    with pytest.raises(Exception) as info:
        market.run(orders.publish, now=NOW, **args)
    assert info.value.code == code
    assert market.dump() == before


@pytest.mark.parametrize("phone", ["", "12345", "+16502530000", "010 6552 9988"])
def test_bad_phone_changes_nothing(market, phone):
    before = market.dump()
    for model in (Client, Creator):
        with pytest.raises(Exception) as info:
            market.run(parties.add, model=model, name="某人", phone=phone, now=NOW)
        assert info.value.code == "invalid_phone"
    assert market.dump() == before
