"""MCN agencies (MCN机构): signing creators and releasing them.

A creator is signed to at most one MCN at a time (``creators.mcn_id``). Signing and releasing lock the
creator, as every action an MCN takes for them does (``worker.services.locking.side``), so a release
and an action at the same instant are ordered: the action ran while signed, or it is refused.
"""

from datetime import datetime

from models import Mcn
from models.states import CreatorEventKind, Role
from worker.database.unit_of_work import UnitOfWork
from worker.errors import InvalidState
from worker.services import locking, parties
from worker.services.records import Actor, Records
from worker.settings import Settings


def sign(session: UnitOfWork, settings: Settings, *, mcn_id: int, creator_id: int, now: datetime) -> Mcn:
    mcn = parties.get(session, Mcn, mcn_id)
    creator = locking.lock_creator(session, creator_id, now)
    if creator.mcn_id == mcn_id:
        raise InvalidState(f"creator {creator_id} is already signed to mcn {mcn_id}")
    if creator.mcn_id is not None:
        raise InvalidState(
            f"creator {creator_id} is signed to mcn {creator.mcn_id}; a creator is signed to one MCN at a time,"
            " so that MCN must release them first"
        )
    creator.mcn_id = mcn_id
    _trail(session, creator.id, mcn_id, CreatorEventKind.MCN_SIGNED, now)
    return mcn


def release(session: UnitOfWork, settings: Settings, *, mcn_id: int, creator_id: int, now: datetime) -> Mcn:
    mcn = parties.get(session, Mcn, mcn_id)
    creator = locking.lock_creator(session, creator_id, now)
    if creator.mcn_id != mcn_id:
        raise InvalidState(f"creator {creator_id} is not signed to mcn {mcn_id}")
    creator.mcn_id = None
    _trail(session, creator.id, mcn_id, CreatorEventKind.MCN_RELEASED, now)
    return mcn


def _trail(session: UnitOfWork, creator_id: int, mcn_id: int, event: CreatorEventKind, now: datetime) -> None:
    session.flush()  # the creator's new mcn_id first, so a lookup of the MCN's creators in this transaction sees it
    records = Records()
    records.creator_event(creator_id, now, Actor(Role.MCN, mcn_id), event, mcn_id=mcn_id)
    records.write(session)
