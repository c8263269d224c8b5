"""A real HTTP server on 127.0.0.1 that plays an SMS provider: it records every POST, checks its
signature, and answers as the test tells it to."""

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.local_server import POLL


@dataclass
class Received:
    key: str
    raw: bytes
    body: dict
    signature_ok: bool
    headers: dict


class Webhook:
    def __init__(self, secret: str = "test-secret"):
        self.secret = secret
        self.received: list[Received] = []
        self.lock = threading.Lock()
        # (body) -> (status, seconds to wait before answering); every request gets 200 unless told
        self.respond = lambda body: (200, 0)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs=POLL, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms"

    def _handler(self):
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(webhook.secret.encode(), raw, hashlib.sha256).hexdigest()
                body = json.loads(raw)
                received = Received(
                    self.headers.get("Idempotency-Key"), raw, body,
                    hmac.compare_digest(expected, self.headers.get("X-Xingtu-Signature", "")), dict(self.headers),
                )  # fmt: skip
                with webhook.lock:
                    webhook.received.append(received)
                status, delay = webhook.respond(body)
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"message_id": f"prov-{body['id']}"}).encode())

            def log_message(self, *args):
                pass

        return Handler

    def keys(self) -> list[str]:
        with self.lock:
            return [r.key for r in self.received]

    def wait_for(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"waited {timeout} s for {what}; received {self.keys()}")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
