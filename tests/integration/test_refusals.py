"""Every refusal names what is wrong and leaves the database exactly as it was."""

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


def own(world, name, role):
    return party_of(world[name], role)


CASES = [
    # (description, use case, order, kwargs builder, error code)
    ("accept by another creator", orders.accept, "pending", lambda w: {"creator_id": w["stranger"]}, "not_allowed"),
    ("accept twice", orders.accept, "accepted", lambda w: {"creator_id": own(w, "accepted", Role.CREATOR)}, "invalid_state"),
    ("accept a completed order", orders.accept, "done", lambda w: {"creator_id": own(w, "done", Role.CREATOR)}, "invalid_state"),
    ("upload to a pending order", orders.upload, "pending", lambda w: {"creator_id": own(w, "pending", Role.CREATOR), "video": "v"}, "invalid_state"),
    ("upload by the client's id", orders.upload, "accepted", lambda w: {"creator_id": w["stranger"], "video": "v"}, "not_allowed"),
    ("upload while frozen", orders.upload, "frozen", lambda w: {"creator_id": own(w, "frozen", Role.CREATOR), "video": "v"}, "cancellation_pending"),
    ("upload a blank video", orders.upload, "accepted", lambda w: {"creator_id": own(w, "accepted", Role.CREATOR), "video": " "}, "invalid_video"),
    ("complete without upload", orders.complete, "bare", lambda w: {"client_id": own(w, "bare", Role.CLIENT)}, "no_upload"),
    ("complete while frozen", orders.complete, "frozen", lambda w: {"client_id": own(w, "frozen", Role.CLIENT)}, "cancellation_pending"),
    ("complete by a stranger", orders.complete, "accepted", lambda w: {"client_id": w["stranger"]}, "not_allowed"),
    ("complete a pending order", orders.complete, "pending", lambda w: {"client_id": own(w, "pending", Role.CLIENT)}, "invalid_state"),
    ("decline an accepted order", cancellation.decline, "accepted", lambda w: {"creator_id": own(w, "accepted", Role.CREATOR), "reason": "r"}, "invalid_state"),
    ("decline by a stranger", cancellation.decline, "pending", lambda w: {"creator_id": w["stranger"], "reason": "r"}, "not_allowed"),
    ("decline without a reason", cancellation.decline, "pending", lambda w: {"creator_id": own(w, "pending", Role.CREATOR), "reason": "  "}, "invalid_reason"),
    ("request by a stranger", cancellation.request, "accepted", lambda w: {"role": Role.CLIENT, "actor_id": w["stranger"], "reason": "r"}, "not_allowed"),
    ("second open request", cancellation.request, "frozen", lambda w: {"role": Role.CREATOR, "actor_id": own(w, "frozen", Role.CREATOR), "reason": "r"}, "cancellation_pending"),
    ("request on a completed order", cancellation.request, "done", lambda w: {"role": Role.CLIENT, "actor_id": own(w, "done", Role.CLIENT), "reason": "r"}, "invalid_state"),
    ("5,000-character reason", cancellation.request, "accepted", lambda w: {"role": Role.CLIENT, "actor_id": own(w, "accepted", Role.CLIENT), "reason": "长" * 5000}, "invalid_reason"),
    ("control character in reason", cancellation.request, "accepted", lambda w: {"role": Role.CLIENT, "actor_id": own(w, "accepted", Role.CLIENT), "reason": "a\x07b"}, "invalid_reason"),
    ("confirm by the initiator", cancellation.confirm, "frozen", lambda w: {"role": Role.CLIENT, "actor_id": own(w, "frozen", Role.CLIENT)}, "not_allowed"),
    ("confirm by a stranger", cancellation.confirm, "frozen", lambda w: {"role": Role.CREATOR, "actor_id": w["stranger"]}, "not_allowed"),
    ("confirm with no request", cancellation.confirm, "accepted", lambda w: {"role": Role.CREATOR, "actor_id": own(w, "accepted", Role.CREATOR)}, "invalid_state"),
    ("reject by the initiator", cancellation.reject, "frozen", lambda w: {"role": Role.CLIENT, "actor_id": own(w, "frozen", Role.CLIENT)}, "not_allowed"),
    ("reject with a blank reason", cancellation.reject, "frozen", lambda w: {"role": Role.CREATOR, "actor_id": own(w, "frozen", Role.CREATOR), "reason": ""}, "invalid_reason"),
    ("withdraw by the counterparty", cancellation.withdraw, "frozen", lambda w: {"role": Role.CREATOR, "actor_id": own(w, "frozen", Role.CREATOR)}, "not_allowed"),
    ("withdraw with no request", cancellation.withdraw, "accepted", lambda w: {"role": Role.CLIENT, "actor_id": own(w, "accepted", Role.CLIENT)}, "invalid_state"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_refusal_changes_nothing(market, world, case):
    _, use_case, name, kwargs, code = case
    before = market.dump()
    with pytest.raises(Exception) as info:
        market.run(use_case, order_id=world[name].id, now=NOW, **kwargs(world))
    assert getattr(info.value, "code", None) == code, info.value
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
