"""What the jobs need at hand: the settings, a session factory, the SMS sender (built on first use, so
only a process that sends loads it), and the Celery app to queue new notifications on."""

from dataclasses import dataclass
from functools import cached_property

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from worker import enqueue
from worker.db import make_engine, session_factory
from worker.notify.senders import Sender, load_sender
from worker.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    app: Celery
    sessions: sessionmaker[Session]

    @classmethod
    def build(cls, settings: Settings, app: Celery) -> "Runtime":
        """For a worker process: call it after the fork, never at import."""
        return cls(settings, app, session_factory(make_engine(settings.database_url, pool_pre_ping=True)))

    @cached_property
    def sender(self) -> Sender:
        return load_sender(self.settings)

    def after_commit(self, new_notifications: int) -> None:
        enqueue.sweeps(self.app, new_notifications, self.settings.send_batch_size)
