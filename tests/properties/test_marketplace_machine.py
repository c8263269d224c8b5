"""A stateful property test of the whole service layer (hypothesis ``RuleBasedStateMachine``).

Random publishes, accepts, declines, uploads, completions, cancellation requests and answers, and
violations, by the right actors and by wrong ones, interleaved with clock advances and scans. After
every step the invariants hold: a finished order never changes; at most one open request per order;
every finished order's payout and refund add up to its amount and its ledger agrees; every cancelled
order told its creator and its client exactly once; nothing succeeded at or past its deadline; the
audit trail replays to the current state.

``XINGTU_HYPOTHESIS_PROFILE`` picks the effort: ``ci`` (500 examples, the default) or ``soak``.
"""

import shutil
from datetime import timedelta

import sqlalchemy as sa
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from models import CancellationRequest, Order, OrderEvent
from models.states import OrderStatus, RequestStatus, Role, TimeoutPolicy
from tests.audit_replay import replay
from tests.conftest import hypothesis_profile
from tests.market import T0, Market
from worker.db import make_engine, session_factory
from worker.errors import XingtuError
from worker.services import cancellation, orders, sanctions
from worker.services.records import party_id
from worker.settings import Settings

# Waits that land one second short of, and exactly on, the acceptance (24 h) and response (48 h) windows.
STEPS = [timedelta(seconds=1), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=24) - timedelta(seconds=1),
         timedelta(hours=24), timedelta(hours=48) - timedelta(seconds=1), timedelta(hours=48), timedelta(days=8)]  # fmt: skip
# Mostly the right actor, so orders get far enough for the later rules to matter; wrong ones still often.
WHO = ("own", "own", "own", "other side", "stranger")


def machine_for(template, tmp_path_factory):
    class Marketplace(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            path = tmp_path_factory.mktemp("machine") / "xingtu.db"
            shutil.copy(template, path)
            self.engine = make_engine(f"sqlite:///{path}")
            self.now = T0
            self.finished: dict[int, tuple] = {}

        @initialize(policy=st.sampled_from(list(TimeoutPolicy)), percent=st.sampled_from([0, 33, 50, 100]))
        def open_market(self, policy, percent):
            settings = Settings(database_url=str(self.engine.url), cancel_timeout_policy=policy,
                                compensation_percent=percent)  # fmt: skip
            self.market = Market(session_factory(self.engine), settings)
            self.clients = [self.market.client(phone=f"1380000000{n}") for n in range(2)]
            self.creators = [self.market.creator(phone=f"1390000000{n}") for n in range(3)]

        def attempt(self, use_case, **kwargs):
            try:
                return self.market.run(use_case, now=self.now, **kwargs)
            except XingtuError:
                return None

        def actor(self, order_id: int, role: Role, who: str) -> tuple[Role, int]:
            order = self.market.order(order_id)
            if who == "other side":
                role = role.counterparty
            return role, (party_id(order, role) if who != "stranger" else 10_000)

        # --- steps ---------------------------------------------------------------------------------

        def ids(self, *conditions) -> list[int]:
            with self.market.sessions() as session:
                return list(session.scalars(sa.select(Order.id).where(*conditions).order_by(Order.id)))

        def pick(self, data, *conditions) -> int | None:
            """Mostly an order in the state the step is for, so paths get deep; sometimes any order."""
            fitting = self.ids(*conditions) if data.draw(st.integers(0, 4)) else self.ids()
            return data.draw(st.sampled_from(fitting)) if fitting else None

        @rule(client=st.integers(0, 1), creator=st.integers(0, 2), amount=st.integers(1, 10**9))
        def publish(self, client, creator, amount):
            self.attempt(orders.publish, client_id=self.clients[client], creator_id=self.creators[creator],
                         title="夏季新品", amount_fen=amount)  # fmt: skip

        @rule(data=st.data(), who=st.sampled_from(WHO))
        def accept(self, data, who):
            if (order := self.pick(data, Order.status == OrderStatus.PENDING)) is not None:
                _, creator = self.actor(order, Role.CREATOR, who)
                self.attempt(orders.accept, order_id=order, creator_id=creator)

        @rule(data=st.data(), who=st.sampled_from(WHO), chance=st.integers(0, 3))
        def decline(self, data, who, chance):
            if chance == 0 and (order := self.pick(data, Order.status == OrderStatus.PENDING)) is not None:
                _, creator = self.actor(order, Role.CREATOR, who)
                self.attempt(cancellation.decline, order_id=order, creator_id=creator, reason="档期冲突")

        @rule(data=st.data(), who=st.sampled_from(WHO))
        def upload(self, data, who):
            if (order := self.pick(data, Order.status == OrderStatus.ACCEPTED)) is not None:
                _, creator = self.actor(order, Role.CREATOR, who)
                self.attempt(orders.upload, order_id=order, creator_id=creator, video="v")

        @rule(data=st.data(), who=st.sampled_from(WHO))
        def complete(self, data, who):
            if (order := self.pick(data, Order.status == OrderStatus.ACCEPTED, Order.upload_count > 0)) is not None:
                _, client = self.actor(order, Role.CLIENT, who)
                self.attempt(orders.complete, order_id=order, client_id=client)

        @rule(data=st.data(), role=st.sampled_from([Role.CLIENT, Role.CREATOR]), who=st.sampled_from(WHO))
        def request(self, data, role, who):
            if (order := self.pick(data, Order.status.in_([OrderStatus.PENDING, OrderStatus.ACCEPTED]))) is not None:
                role, actor_id = self.actor(order, role, who)
                self.attempt(cancellation.request, order_id=order, role=role, actor_id=actor_id, reason="预算调整")

        @rule(data=st.data(), who=st.sampled_from(WHO),
              answer=st.sampled_from([cancellation.confirm, cancellation.reject, cancellation.withdraw]))  # fmt: skip
        def answer(self, data, who, answer):
            """``own``: the side the rules let answer (counterparty confirms or rejects, initiator withdraws)."""
            asked = Order.requests.any(CancellationRequest.status == RequestStatus.OPEN)
            if (order := self.pick(data, asked)) is None:
                return
            request = self.market.order(order).latest_request
            initiator = request.initiator if request is not None else Role.CLIENT
            side = initiator if answer is cancellation.withdraw else initiator.counterparty
            role, actor_id = self.actor(order, side, who)
            self.attempt(answer, order_id=order, role=role, actor_id=actor_id)

        @rule(creator=st.integers(0, 2), chance=st.integers(0, 9))
        def violation(self, creator, chance):
            if chance == 0:  # rare: a few violations ban a creator for good and end most paths
                self.attempt(sanctions.record, creator_id=self.creators[creator], evidence="私下接广告")

        @rule(step=st.sampled_from(STEPS))
        def wait(self, step):
            self.now += step

        @rule()
        def scan(self):
            self.market.scan(self.now)

        # --- invariants ------------------------------------------------------------------------------

        @invariant()
        def the_books_hold(self):
            if hasattr(self, "market"):
                self.market.check_invariants()  # money, ledger, one order_cancelled per side, audit chain

        @invariant()
        def finished_orders_never_change_and_the_trail_replays(self):
            if not hasattr(self, "market"):
                return
            with self.market.sessions() as session:
                for order in session.scalars(sa.select(Order)):
                    row = tuple(getattr(order, c.key) for c in Order.__table__.columns)
                    if order.status.terminal:
                        assert self.finished.setdefault(order.id, row) == row, f"order {order.id} changed"
                    trail = session.scalars(sa.select(OrderEvent).where(OrderEvent.order_id == order.id)
                                            .order_by(OrderEvent.id)).all()  # fmt: skip
                    replayed = replay(trail)
                    current = {"status": order.status, "upload_count": order.upload_count,
                               "creator_payout_fen": order.creator_payout_fen,
                               "client_refund_fen": order.client_refund_fen, "cancel_reason": order.cancel_reason}  # fmt: skip
                    assert replayed == current, f"order {order.id}: trail says {replayed}, row says {current}"

        @invariant()
        def one_open_request_and_nothing_late(self):
            if not hasattr(self, "market"):
                return
            with self.market.sessions() as session:
                for order in session.scalars(sa.select(Order)):
                    assert order.accepted_at is None or order.accepted_at < order.accept_deadline
                requests = session.scalars(sa.select(CancellationRequest)).all()
            open_per_order = {}
            for request in requests:
                if request.status is RequestStatus.OPEN:
                    open_per_order[request.order_id] = open_per_order.get(request.order_id, 0) + 1
                elif request.respond_by is not None:
                    answered_in_time = request.resolved_at < request.respond_by
                    by_timeout = request.status in (RequestStatus.AUTO_CONFIRMED, RequestStatus.LAPSED)
                    assert answered_in_time != by_timeout, (
                        f"request {request.id} {request.status} at {request.resolved_at}"
                    )
            assert all(count == 1 for count in open_per_order.values())

        def teardown(self):
            self.engine.dispose()

    return Marketplace


def test_the_marketplace_keeps_its_invariants(sqlite_template, tmp_path_factory):
    run_state_machine_as_test(machine_for(sqlite_template, tmp_path_factory), settings=hypothesis_profile())
