"""Clients and creators: registering them and finding them."""

from datetime import datetime

from sqlalchemy.orm import Session

from models import Client, Creator
from worker.database.unit_of_work import UnitOfWork
from worker.errors import NotFound
from worker.formats import phones, validation
from worker.settings import Settings

Party = Client | Creator


def add(session: UnitOfWork, settings: Settings, *, model: type[Party], name: str, phone: str, now: datetime) -> Party:
    party = model(name=validation.name(name), phone=phones.normalise(phone, settings.phone_regions), created_at=now)
    session.add(party)
    session.flush()
    return party


def get(session: Session, model: type[Party], party_id: int) -> Party:
    party = session.get(model, party_id)
    if party is None:
        raise NotFound(f"{model.__tablename__[:-1]} {party_id} does not exist")
    return party
