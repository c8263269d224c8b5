"""The JSON of what a use case returned, as the CLI and the task API answer it (the shapes are in
``worker.formats.serialize``), with what it shows beside the row itself read in the same transaction: a
creator's record, an MCN's creators."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Client, Creator, Mcn, Notification, Order, Violation
from worker.formats import serialize
from worker.services import creator_record


def mcn_creators(session: Session, mcn_id: int) -> list[int]:
    return list(session.scalars(select(Creator.id).where(Creator.mcn_id == mcn_id).order_by(Creator.id)))


def shown(session: Session, result: Any) -> dict[str, Any]:
    if isinstance(result, Order):
        return serialize.order_json(result)
    if isinstance(result, Creator):
        return serialize.creator_json(result, creator_record.of(session, result.id))
    if isinstance(result, Client):
        return serialize.client_json(result)
    if isinstance(result, Mcn):
        return serialize.mcn_json(result, mcn_creators(session, result.id))
    if isinstance(result, Violation):
        return serialize.violation_json(result)
    if isinstance(result, Notification):
        return serialize.notification_json(result)
    raise TypeError(f"no JSON shape for {type(result).__name__}")
