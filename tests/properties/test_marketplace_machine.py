"""A stateful property test of the whole service layer (hypothesis ``RuleBasedStateMachine``).

Random publishes, accepts, declines, uploads, completions, cancellation requests and answers,
violations, accounts closed and reopened, creators signed to and released by MCNs, by the right actors
and by wrong ones (MCNs acting for creators they sign and for ones they do not), interleaved with clock
advances and scans. After every step the invariants hold: a finished order never changes, nor do the
rows that refer to it; at most one open request per order; every finished order's payout and refund are
what the compensation table gives (recomputed here) and its ledger agrees; every cancelled order told
its creator and its client exactly once; nothing succeeded at or past its deadline; a closed account has
no pending order; only the order's own parties acted, or an MCN signing its creator at that moment, and
no wrong actor succeeded; the audit trail replays to the current state.

``XINGTU_HYPOTHESIS_PROFILE`` picks the effort: ``ci`` (500 examples, the default) or ``soak``.
"""

import shutil
from collections import Counter
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.orm import selectinload

from models import CancellationRequest, LedgerEntry, Notification, Order, OrderEvent
from models.states import CancelReason, OrderStatus, RequestStatus, Role, TimeoutPolicy
from tests.audit_replay import replay
from tests.market import T0, Market
from tests.support import hypothesis_profile
from worker.database.engines import make_engine, session_factory
from worker.errors import Conflict, XingtuError
from worker.rules import party_of
from worker.services import accounts, agencies, cancellation, orders, sanctions
from worker.settings import Settings

# Waits that land one second short of, and exactly on, the acceptance (24 h) and response (48 h) windows.
STEPS = [timedelta(seconds=1), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=24) - timedelta(seconds=1),
         timedelta(hours=24), timedelta(hours=48) - timedelta(seconds=1), timedelta(hours=48), timedelta(days=8)]  # fmt: skip
# Weighted coins: the common outcome repeated (and first, the one hypothesis shrinks towards).
MOSTLY = st.sampled_from([True, True, True, True, False])
SOMETIMES = st.sampled_from([False, False, False, True])
RARELY = st.sampled_from([False] * 9 + [True])
# Odd amounts half the time: where rounding half up and rounding down part (50 % of 10,001 fen).
AMOUNTS = st.one_of(st.integers(0, 5 * 10**8 - 1).map(lambda n: 2 * n + 1), st.integers(1, 10**9))
# Few orders per run, so the steps go deep into each one rather than wide across many.
MAX_ORDERS = 3
# Mostly the right actor, so orders get far enough for the later rules to matter; wrong ones still often:
# "other side" is the order's counterparty, "another" a registered party of the same role but not of
# this order, "stranger" an id nobody has; "mcn" an MCN acting as the creator side (the one signing the
# order's creator if one does), "other mcn" one that does not sign them. Only "own" may succeed, bar a
# request by the other side, and "mcn" while it signs the creator.
ONE_SIDED = ("own", "own", "own", "another", "stranger", "mcn", "other mcn")
WHO = ("own", "own", "own", "other side", "another", "stranger", "mcn", "other mcn")
PENDING = Order.status == OrderStatus.PENDING
ACCEPTED = Order.status == OrderStatus.ACCEPTED
UPLOADED = Order.upload_count > 0
ASKED = Order.requests.any(CancellationRequest.status == RequestStatus.OPEN)
TRAILING = ("order_events", "notifications", "cancellation_requests", "ledger_entries")  # rows that refer to an order


class Marketplace(RuleBasedStateMachine):
    """The service layer as a state machine: its rules are the steps of the module docstring, and
    ``everything_holds`` checks every invariant named there after each step.

    Each run works on its own copy of the migrated SQLite ``template``, made under ``tmp_path_factory``;
    the test binds both with ``functools.partial``, the no-argument factory hypothesis calls per run."""

    def __init__(self, template: Path, tmp_path_factory: pytest.TempPathFactory):
        super().__init__()
        path = tmp_path_factory.mktemp("machine") / "xingtu.db"
        shutil.copy(template, path)
        self.engine = make_engine(f"sqlite:///{path}")
        self.now = T0
        self.finished: dict[int, tuple] = {}
        self.published = 0
        self.present: dict[str, bool] = {}  # which states some order is in, for the preconditions

    @initialize(policy=st.sampled_from(list(TimeoutPolicy)), percent=st.sampled_from([50, 33, 0, 100]),
                amount=AMOUNTS, agency=st.booleans())  # fmt: skip
    def open_market(self, policy, percent, amount, agency):
        """Parties, and one deal already in production, its creator signed to an MCN or not: the
        deepest states (a client cancelling after an upload, with its rounding; an MCN answering for its
        creator) would otherwise need most of a run to reach."""
        settings = Settings(database_url=str(self.engine.url), cancel_timeout_policy=policy,
                            compensation_percent=percent)  # fmt: skip
        self.market = Market(session_factory(self.engine), settings)
        self.clients = [self.market.client(phone=f"1380000000{n}") for n in range(2)]
        self.creators = [self.market.creator(phone=f"1390000000{n}") for n in range(3)]
        self.mcns = [self.market.mcn(phone=f"1370000000{n}") for n in range(2)]
        self.signed: dict[int, int] = {}  # creator -> the MCN signing them, as the steps left it
        deal = self.market.run(orders.publish, client_id=self.clients[0], creator_id=self.creators[0],
                               title="开业首单", amount_fen=amount, now=self.now)  # fmt: skip
        self.market.run(orders.accept, order_id=deal.id, creator_id=deal.creator_id, now=self.now)
        self.market.run(orders.upload, order_id=deal.id, creator_id=deal.creator_id, video="v", now=self.now)
        if agency:
            self.market.sign(self.mcns[0], deal.creator_id, now=self.now)
            self.signed[deal.creator_id] = self.mcns[0]

    def attempt(self, use_case, *, wrong_actor: bool = False, **kwargs):
        """Run a use case; a refusal is a result. One thread, so a ``Conflict`` means a database
        constraint caught what the rules let through: that fails the test, as does a wrong actor's
        success."""
        try:
            result = self.market.run(use_case, now=self.now, **kwargs)
        except Conflict:
            raise
        except XingtuError:
            return None
        assert not wrong_actor, f"{use_case.__name__} by a wrong actor succeeded: {kwargs}"
        return result

    def actor(self, order_id: int, role: Role, who: str) -> tuple[Role, int]:
        """(role, id) of ``who`` acting as ``role`` on the order: ``Role.MCN`` for an MCN, which acts as
        the creator side whatever ``role`` says."""
        order = self.market.order(order_id)
        if who in ("mcn", "other mcn"):
            signing = self.signed.get(order.creator_id)
            if who == "mcn" and signing is not None:
                return Role.MCN, signing
            return Role.MCN, next(m for m in self.mcns if m != signing)
        if who == "other side":
            role = role.counterparty
        if who == "stranger":
            return role, 10_000
        own = party_of(order, role)
        if who == "another":
            return role, next(p for p in (self.clients if role is Role.CLIENT else self.creators) if p != own)
        return role, own

    # --- steps ---------------------------------------------------------------------------------

    def ids(self, *conditions) -> list[int]:
        with self.market.sessions() as session:
            return list(session.scalars(sa.select(Order.id).where(*conditions).order_by(Order.id)))

    def has(self, state: str) -> bool:
        """A precondition: a step for orders in some state is only taken while there is one (as the
        invariant found after the last step)."""
        return self.present.get(state, False)

    def may_act(self, order_id: int, role: Role, actor_id: int, side: Role) -> bool:
        """Whether ``role`` ``actor_id`` is the order's ``side`` (an MCN: signing its creator now)."""
        order = self.market.order(order_id)
        if role is Role.MCN:
            return side is Role.CREATOR and self.signed.get(order.creator_id) == actor_id
        return role is side and actor_id == party_of(order, side)

    def creator_side(self, order_id: int, who: str) -> tuple[dict, bool]:
        """The keyword naming who acts for the creator (``creator_id`` or ``mcn_id``), and whether they may."""
        role, actor_id = self.actor(order_id, Role.CREATOR, who)
        name = "mcn_id" if role is Role.MCN else "creator_id"
        return {name: actor_id}, self.may_act(order_id, role, actor_id, Role.CREATOR)

    def pick(self, data, *conditions) -> int | None:
        """Mostly an order in the state the step is for, so paths get deep; sometimes any order."""
        fitting = self.ids(*conditions) if data.draw(MOSTLY) else self.ids()
        return data.draw(st.sampled_from(fitting)) if fitting else None

    @precondition(lambda self: self.published < MAX_ORDERS)
    @rule(client=st.integers(0, 1), creator=st.integers(0, 2), amount=AMOUNTS)
    def publish(self, client, creator, amount):
        self.published += 1
        self.attempt(orders.publish, client_id=self.clients[client], creator_id=self.creators[creator],
                     title="夏季新品", amount_fen=amount)  # fmt: skip

    @precondition(lambda self: self.has("pending"))
    @rule(data=st.data(), who=st.sampled_from(ONE_SIDED))
    def accept(self, data, who):
        if (order := self.pick(data, PENDING)) is not None:
            side, may = self.creator_side(order, who)
            self.attempt(orders.accept, order_id=order, **side, wrong_actor=not may)

    @precondition(lambda self: self.has("pending"))
    @rule(data=st.data(), who=st.sampled_from(ONE_SIDED), go=SOMETIMES)
    def decline(self, data, who, go):
        if go and (order := self.pick(data, PENDING)) is not None:
            side, may = self.creator_side(order, who)
            self.attempt(cancellation.decline, order_id=order, **side, reason="档期冲突", wrong_actor=not may)

    @precondition(lambda self: self.has("accepted"))
    @rule(data=st.data(), who=st.sampled_from(ONE_SIDED))
    def upload(self, data, who):
        if (order := self.pick(data, ACCEPTED)) is not None:
            side, may = self.creator_side(order, who)
            self.attempt(orders.upload, order_id=order, **side, video="v", wrong_actor=not may)

    @precondition(lambda self: self.has("uploaded"))
    @rule(data=st.data(), who=st.sampled_from(ONE_SIDED))
    def complete(self, data, who):
        if (order := self.pick(data, ACCEPTED, UPLOADED)) is not None and who not in ("mcn", "other mcn"):
            _, client = self.actor(order, Role.CLIENT, who)
            self.attempt(orders.complete, order_id=order, client_id=client, wrong_actor=who != "own")

    @precondition(lambda self: self.has("pending") or self.has("accepted"))
    @rule(data=st.data(), role=st.sampled_from([Role.CLIENT, Role.CLIENT, Role.CREATOR]), who=st.sampled_from(WHO))
    def request(self, data, role, who):
        """Either side of the order may ask; nobody else. Mostly on accepted orders (where a request
        stays open to be answered); on pending ones it cancels at once."""
        if (order := self.pick(data, ACCEPTED)) is not None:
            role, actor_id = self.actor(order, role, who)
            may = any(self.may_act(order, role, actor_id, side) for side in (Role.CLIENT, Role.CREATOR))
            self.attempt(cancellation.request, order_id=order, role=role, actor_id=actor_id, reason="预算调整",
                         wrong_actor=not may)  # fmt: skip

    def answer(self, data, who, answer):
        """``own``: the side the rules let answer (counterparty confirms or rejects, initiator withdraws)."""
        if (order := self.pick(data, ASKED)) is None:
            return
        request = self.market.order(order).latest_request
        initiator = request.initiator if request is not None else Role.CLIENT
        side = initiator if answer is cancellation.withdraw else initiator.counterparty
        role, actor_id = self.actor(order, side, who)
        may = request is not None and self.may_act(order, role, actor_id, side)
        self.attempt(answer, order_id=order, role=role, actor_id=actor_id, wrong_actor=not may)

    # three rules rather than one with a choice: an open request gets answered before time runs out
    @precondition(lambda self: self.has("asked"))
    @rule(data=st.data(), who=st.sampled_from(WHO))
    def confirm(self, data, who):
        self.answer(data, who, cancellation.confirm)

    @precondition(lambda self: self.has("asked"))
    @rule(data=st.data(), who=st.sampled_from(WHO))
    def reject(self, data, who):
        self.answer(data, who, cancellation.reject)

    @precondition(lambda self: self.has("asked"))
    @rule(data=st.data(), who=st.sampled_from(WHO))
    def withdraw(self, data, who):
        self.answer(data, who, cancellation.withdraw)

    @rule(creator=st.integers(0, 2), go=RARELY)
    def violation(self, creator, go):
        if go:  # rare: a few violations ban a creator for good and end most paths
            self.attempt(sanctions.record, creator_id=self.creators[creator], evidence="私下接广告")

    @rule(mcn=st.integers(0, 1), creator=st.integers(0, 2), release=SOMETIMES)
    def sign(self, mcn, creator, release):
        """An MCN signs a creator, or releases one; the model of who signs whom follows what succeeded."""
        mcn, creator = self.mcns[mcn], self.creators[creator]
        if release:
            if self.attempt(
                agencies.release, mcn_id=mcn, creator_id=creator, wrong_actor=self.signed.get(creator) != mcn
            ):
                del self.signed[creator]
        elif self.attempt(agencies.sign, mcn_id=mcn, creator_id=creator, wrong_actor=creator in self.signed):
            self.signed[creator] = mcn

    @rule(role=st.sampled_from([Role.CLIENT, Role.CREATOR]), index=st.integers(0, 2), reopen=SOMETIMES, go=SOMETIMES)
    def close(self, role, index, reopen, go):
        """关闭星图, and reopening: rarer than the order steps, since a closed account ends its paths."""
        if not (go or reopen):
            return
        parties = self.clients if role is Role.CLIENT else self.creators
        account_id = parties[index % len(parties)]
        if reopen:
            self.attempt(accounts.reopen, role=role, account_id=account_id)
        else:
            self.attempt(accounts.close, role=role, account_id=account_id, reason="不再使用星图")

    @rule(step=st.sampled_from(STEPS))
    def wait(self, step):
        self.now += step

    @rule()
    def scan(self):
        self.market.scan(self.now)

    # --- invariants ------------------------------------------------------------------------------

    @invariant()
    def everything_holds(self):
        """One look at the whole database after every step (one session, each table read once)."""
        if not hasattr(self, "market"):
            return
        self.market.check_invariants()  # money and ledger, one order_cancelled per side, audit chain
        with self.market.sessions() as session:
            found = session.scalars(sa.select(Order).options(selectinload(Order.requests))).all()
            trails = {}
            for event in session.scalars(sa.select(OrderEvent).order_by(OrderEvent.id)):
                trails.setdefault(event.order_id, []).append(event)
            rows = Counter()  # per order and table: the rows that refer to the order
            for model in (OrderEvent, Notification, CancellationRequest, LedgerEntry):
                counted = session.execute(sa.select(model.order_id, sa.func.count()).group_by(model.order_id))
                for order_id, count in counted:
                    rows[(order_id, model.__tablename__)] = count
            for order in found:
                self.check_trail(order, trails[order.id])
                self.check_money(order)
                self.check_timing(order)
            self.check_finished({order.id: order for order in found}, rows)
            self.present = {
                "pending": any(o.status is OrderStatus.PENDING for o in found),
                "accepted": any(o.status is OrderStatus.ACCEPTED for o in found),
                "uploaded": any(o.status is OrderStatus.ACCEPTED and o.upload_count for o in found),
                "asked": any(r.status is RequestStatus.OPEN for o in found for r in o.requests),
            }

    def check_trail(self, order: Order, trail: list[OrderEvent]) -> None:
        """Only the order's own parties acted on it, and its audit trail replays to its row."""
        for event in trail:
            if event.actor_role is Role.MCN:  # when it acted, ``attempt`` held it to signing the creator
                assert event.actor_id in self.mcns, f"order {order.id}: {event.event} by an unknown MCN"
            elif event.actor_role is not Role.SYSTEM:
                assert event.actor_id == party_of(order, event.actor_role), (
                    f"order {order.id}: {event.event} by a non-party"
                )
        current = {"status": order.status, "upload_count": order.upload_count,
                   "creator_payout_fen": order.creator_payout_fen, "client_refund_fen": order.client_refund_fen,
                   "cancel_reason": order.cancel_reason}  # fmt: skip
        replayed = replay(trail)
        assert replayed == current, f"order {order.id}: trail says {replayed}, row says {current}"

    def check_money(self, order: Order) -> None:
        """Recomputed from the rules, not from the numbers the code wrote: the compensation table
        with the quote frozen at the request and rounded half up to the fen."""
        if not order.status.terminal:
            return
        by_request = order.cancel_reason not in (None, CancelReason.ACCEPTANCE_TIMEOUT)
        quote = (order.amount_fen * self.market.settings.compensation_percent + 50) // 100
        if order.status is OrderStatus.COMPLETED:
            payout = order.amount_fen
        elif by_request and order.latest_request.initiator is Role.CLIENT and order.first_upload_at:
            payout = quote  # an open request froze uploads: the upload came before the request
        else:
            payout = 0
        if by_request:
            assert order.latest_request.compensation_fen == payout, f"order {order.id}: quoted wrong"
        paid = (order.creator_payout_fen, order.client_refund_fen)
        assert paid == (payout, order.amount_fen - payout), f"order {order.id}: paid {paid}, SPEC {payout}"

    def check_timing(self, order: Order) -> None:
        """At most one open request; nothing accepted or answered at or past its deadline."""
        assert order.accepted_at is None or order.accepted_at < order.accept_deadline, f"order {order.id}: late"
        assert sum(r.status is RequestStatus.OPEN for r in order.requests) <= 1, f"order {order.id}: two open"
        for request in order.requests:
            if request.status is RequestStatus.OPEN:
                continue
            if request.respond_by is None:  # an immediate cancellation of a pending order
                assert request.resolved_at < order.accept_deadline, f"request {request.id} after the deadline"
            else:
                answered_in_time = request.resolved_at < request.respond_by
                by_timeout = request.status in (RequestStatus.AUTO_CONFIRMED, RequestStatus.LAPSED)
                assert answered_in_time != by_timeout, f"request {request.id} {request.status} at {request.resolved_at}"

    def check_finished(self, orders_by_id: dict[int, Order], rows: Counter) -> None:
        """A finished order never changes again: neither its row nor the rows that refer to it."""
        for order in orders_by_id.values():
            if order.status.terminal:
                self.finished.setdefault(order.id, self.snapshot(order, rows))
        for order_id, snapshot in self.finished.items():
            assert self.snapshot(orders_by_id[order_id], rows) == snapshot, f"finished order {order_id} changed"

    @staticmethod
    def snapshot(order: Order, rows: Counter) -> tuple:
        return (tuple(getattr(order, c.key) for c in Order.__table__.columns),
                tuple(rows[(order.id, table)] for table in TRAILING))  # fmt: skip

    def teardown(self):
        self.engine.dispose()


def test_the_marketplace_keeps_its_invariants(sqlite_template, tmp_path_factory):
    run_state_machine_as_test(partial(Marketplace, sqlite_template, tmp_path_factory), settings=hypothesis_profile())
