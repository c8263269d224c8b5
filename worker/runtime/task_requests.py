"""How the worker takes a task API message, decided per call: by whether it carries an idempotency key.

- A call **with** a key is acknowledged late: only once it has answered. If the worker process running
  it dies, the message goes back to the queue and another process runs it; the key makes the second
  run answer the first one's answer when the first had committed (``worker.services.idempotency``).
- A call **without** a key is acknowledged as it starts, as it always was: run twice it could be two
  orders. If its process dies, nobody can say whether it was applied, and the caller is answered so, as
  ``{"error": {"code": "worker_lost", ...}}`` in the task API's words instead of Celery's
  ``WorkerLostError``.

The task API's tasks are declared ``acks_late`` with ``reject_on_worker_lost`` (``worker.tasks``); this
request class acknowledges the calls without a key early.
"""

import logging
from functools import cached_property

from billiard.einfo import ExceptionWithTraceback
from billiard.exceptions import WorkerLostError
from celery import states
from celery.worker.request import Request
from celery.worker.state import task_ready

log = logging.getLogger(__name__)

WORKER_LOST = {
    "error": {
        "code": "worker_lost",
        "message": "the worker process running this call died; the action may or may not have been applied: read"
        " the order before trying again, or make such calls with an idempotency_key so they are run again safely",
    }
}


class TaskApiRequest(Request):
    @cached_property
    def keyed(self) -> bool:
        """Whether the call carries an idempotency key (checked by the task itself)."""
        kwargs = self.kwargs
        return isinstance(kwargs, dict) and kwargs.get("idempotency_key") is not None

    def on_accepted(self, pid, time_accepted):
        if not self.keyed:
            self.acknowledge()  # never delivered again, whatever happens to the process now
        super().on_accepted(pid, time_accepted)

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):
        if self.keyed or not self._lost(exc_info.exception) or self._answered():
            # Celery's own handling: a keyed call goes back to the queue; an answer already stored stands.
            return super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)
        task_ready(self)
        self.task.backend.mark_as_done(self.id, WORKER_LOST, request=self._context)
        log.error(
            "%s: its worker process died (%r); the caller is answered worker_lost", self.humaninfo(), exc_info.exception
        )
        return None

    def _answered(self) -> bool:
        """Whether the call's answer was stored before its process was lost (in Celery's own clean-up
        after the task): that answer stands. One read of the result backend, after a loss only."""
        try:
            return self.task.backend.get_task_meta(self.id).get("status") == states.SUCCESS
        except Exception:  # the backend cannot say: the outcome is unknown, which worker_lost says
            log.warning("%s: could not read whether it had answered before its process died", self.humaninfo())
            return False

    def _lost(self, exc: BaseException) -> bool:
        """Whether the process running the call is gone: killed, or exited (which Celery reports as the
        same loss), and not because the call was revoked."""
        exc = exc.exc if isinstance(exc, ExceptionWithTraceback) else exc
        exited = isinstance(exc, (SystemExit, KeyboardInterrupt)) and not (
            self._already_cancelled or self._already_revoked
        )
        return exited or isinstance(exc, WorkerLostError)
