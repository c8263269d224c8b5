"""The service layer: the use cases, each a function ``(session, settings, *, ..., now)`` run inside
``worker.database.unit_of_work.transaction``; the timers and the outbox relay; and reads.

- ``orders`` (publish, accept, upload, complete), ``cancellation`` (request, decline, confirm, reject,
  withdraw), ``sanctions`` (record a violation), ``parties`` (register; and ``get``, the lookup the
  use cases and ``creator show`` share): the use cases.
- ``timers`` (the scan's set-based timeouts, reminders and lifts) and ``due`` (what is due, as SQL).
- ``locking`` (lock what a use case acts on, applying a due timer first), ``settlement`` (what a
  cancellation writes), ``records`` (audit, ledger and outbox rows).
- ``outbox`` (claim, send, record) and ``reads`` (lookups, lists, status): the rest.
"""
