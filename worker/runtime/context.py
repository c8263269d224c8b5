"""What the tasks and the CLI's runs need at hand: the settings, a factory of units of work, the SMS
sender (built on first use, so only a process that sends loads it), and the Celery app to queue new
notifications on once a transaction has committed."""

from dataclasses import dataclass
from functools import cached_property

from celery import Celery
from sqlalchemy.orm import sessionmaker

from worker.database.engines import make_engine, session_factory
from worker.database.unit_of_work import UnitOfWork
from worker.notify.senders import Sender, load_sender
from worker.runtime import handoff
from worker.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    app: Celery
    sessions: sessionmaker[UnitOfWork]

    @classmethod
    def build(cls, settings: Settings, app: Celery) -> "Runtime":
        """For a worker process: call it after the fork, never at import."""
        return cls(settings, app, session_factory(make_engine(settings.database_url, pool_pre_ping=True)))

    @cached_property
    def sender(self) -> Sender:
        return load_sender(self.settings)

    @cached_property
    def handoff(self) -> handoff.Handoff:
        return handoff.Handoff(self.app, self.settings.send_batch_size, self.settings.dispatch_interval.total_seconds())

    def after_commit(self, new_notifications: int) -> None:
        self.handoff.sweeps(new_notifications)
