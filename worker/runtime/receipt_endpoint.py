"""``xingtu receipts serve``: the HTTP endpoint the providers push delivery receipts to (Starlette on
uvicorn, ``pip install 'xingtu-worker[receipts]'``).

``POST /receipts/aliyun/{token}`` takes Aliyun's SmsReport pushes and ``POST /receipts/tencent/{token}``
Tencent Cloud's status callbacks (``worker.notify.receipts``), each answered as that provider expects.
The token (``XINGTU_RECEIPTS_TOKEN``) is compared in constant time; a wrong one, or another path, gets
404. A body over 1 MB, not JSON, or not receipts gets 400 naming what is wrong and changes nothing; a
database that does not answer gets 503, so the provider pushes again later. ``GET /healthz`` answers
200 while the database does.

Access logs are off: the URL carries the token.
"""

import hmac
import logging
import socket
from collections.abc import Callable
from datetime import datetime

import uvicorn
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from worker.clock import utcnow
from worker.database.unit_of_work import transaction
from worker.errors import SettingsError
from worker.notify.receipts import ANSWERS, BadReceipt, parse
from worker.services import receipts

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024  # bytes
NOT_FOUND = Response("not found\n", status_code=404, media_type="text/plain")


class TooLarge(Exception):
    pass


async def _body(request: Request) -> bytes:
    """The request's body, refused as soon as it passes ``MAX_BODY`` (the declared length is not trusted)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise TooLarge
    return bytes(body)


def make_app(token: str, sessions: sessionmaker[Session], clock: Callable[[], datetime] = utcnow) -> Starlette:
    if not token:
        raise SettingsError("XINGTU_RECEIPTS_TOKEN is not set: the receipts URL needs its secret part")
    expected = token.encode()

    def record(parsed: list) -> dict[str, int]:
        with transaction(sessions) as session:
            return dict(receipts.record(session, parsed, clock()))

    async def receive(request: Request) -> Response:
        given = request.path_params["token"].encode()
        provider = request.path_params["provider"]
        if not hmac.compare_digest(given, expected) or provider not in ANSWERS:
            return NOT_FOUND
        try:
            parsed = parse(provider, await _body(request))
        except TooLarge:
            return _refused(provider, f"the body is larger than {MAX_BODY} bytes")
        except BadReceipt as exc:
            return _refused(provider, str(exc))
        try:
            outcomes = await run_in_threadpool(record, parsed)
        except DBAPIError as exc:
            log.error("%s receipts not recorded, the database did not answer: %s", provider, type(exc.orig).__name__)
            return JSONResponse({"error": "the database is unavailable; push again later"}, status_code=503)
        counted = ", ".join(f"{n} {name}" for name, n in sorted(outcomes.items()))
        log.info("%s receipts: %s", provider, counted or "none")
        return JSONResponse(ANSWERS[provider])

    async def health(request: Request) -> Response:
        try:
            await run_in_threadpool(_ping, sessions)
        except DBAPIError:
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/receipts/{provider}/{token}", receive, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )


def _refused(provider: str, reason: str) -> Response:
    log.warning("%s receipts refused: %s", provider, reason)
    return JSONResponse({"error": reason}, status_code=400)


def _ping(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.execute(text("SELECT 1"))


def server(app: Starlette, *, log_level: str = "info") -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, access_log=False, log_level=log_level, lifespan="off"))


def serve(app: Starlette, host: str, port: int, *, log_level: str = "info") -> None:
    """Listen on ``host:port`` until interrupted."""
    listening = socket.create_server((host, port), reuse_port=False)
    log.info("taking delivery receipts on http://%s:%s/receipts/{aliyun|tencent}/<token>", host, port)
    server(app, log_level=log_level).run(sockets=[listening])
