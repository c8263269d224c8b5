"""A real HTTP server on 127.0.0.1 that plays Tencent Cloud SMS (2021-01-11) for the official SDK.

It checks each request as Tencent does: the ``TC3-HMAC-SHA256`` signature, recomputed here from the
published algorithm (canonical request: method, path, query, the signed headers as ``name:value`` lines
with the content type's value lower-cased, their names joined by ``;``, the hex SHA-256 of the body;
string to sign: the algorithm, ``X-TC-Timestamp``, the credential scope ``<date>/sms/tc3_request`` and
the hex SHA-256 of the canonical request; key: HMAC-SHA256 chained from ``"TC3" + secret`` over the
date, ``sms`` and ``tc3_request``), so a wrong key fails. It answers with Tencent's own bodies: per
number in ``Response.SendStatusSet``, or a request-level ``Response.Error``.
"""

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.local_server import LocalServer

SECRET_ID = "AKID-test-secret-id"
SECRET_KEY = "test-secret-key-of-tencent"


@dataclass
class Call:
    body: dict
    headers: dict[str, str]
    signature_ok: bool
    serial_no: str | None = None


@dataclass
class Answer:
    code: str = "Ok"  # the number's Code in SendStatusSet
    error: str | None = None  # a request-level Error code instead
    status: int = 200
    delay: float = 0.0


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


VARIABLE_MAX = 35  # each template variable, as Tencent counts it for a notification template
SKEW = 300  # seconds: Tencent's tolerance for the signing time (AuthFailure.SignatureExpire beyond)


def tc3_signature(secret: str, headers: dict[str, str], signed: list[str], body: bytes, timestamp: str) -> str:
    date = time.strftime("%Y-%m-%d", time.gmtime(int(timestamp)))
    values = {
        name: headers[name].strip().lower() if name == "content-type" else headers[name].strip() for name in signed
    }
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            "".join(f"{n}:{values[n]}\n" for n in signed),
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/sms/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _hmac(_hmac(_hmac(("TC3" + secret).encode(), date), "sms"), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class TencentGateway(LocalServer):
    secret: str = SECRET_KEY
    received: list[Call] = field(default_factory=list)
    respond: object = lambda call: Answer()

    def __post_init__(self):
        self._start()

    def _judge(self, headers: dict[str, str], raw: bytes) -> Call:
        algorithm, _, fields = headers.get("authorization", "").partition(" ")
        parts = dict(part.strip().split("=", 1) for part in fields.split(",") if "=" in part)
        signed = parts.get("SignedHeaders", "").split(";")
        timestamp = headers.get("x-tc-timestamp", "0")
        date = time.strftime("%Y-%m-%d", time.gmtime(int(timestamp)))
        ok = (
            algorithm == "TC3-HMAC-SHA256"
            and parts.get("Credential") == f"{SECRET_ID}/{date}/sms/tc3_request"
            and all(name in headers for name in signed)
            and {"content-type", "host"} <= set(signed)  # what Tencent requires to be signed
            and abs(time.time() - int(timestamp)) <= SKEW  # Tencent refuses a request signed too long ago
            and hmac.compare_digest(
                parts.get("Signature", ""), tc3_signature(self.secret, headers, signed, raw, timestamp)
            )
        )
        return Call(json.loads(raw or b"{}"), headers, ok)

    def _handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                call = gateway._judge(headers, raw)
                answer = gateway.respond(call)
                if not call.signature_ok:
                    answer = Answer(error="AuthFailure.SignatureFailure")
                elif headers.get("x-tc-action") != "SendSms":
                    answer = Answer(error="InvalidAction")
                elif not all(isinstance(v, str) and 1 <= len(v) <= VARIABLE_MAX
                             for v in call.body.get("TemplateParamSet", [])):  # fmt: skip
                    answer = Answer(code="InvalidParameterValue.TemplateParameterLengthLimit")
                request_id = str(uuid.uuid4())
                if answer.error:
                    response = {"Error": {"Code": answer.error, "Message": answer.error}, "RequestId": request_id}
                else:
                    if answer.code == "Ok":
                        call.serial_no = f"2433:{uuid.uuid4().int % 10**20}"
                    status = {
                        "SerialNo": call.serial_no or "", "PhoneNumber": call.body["PhoneNumberSet"][0], "Fee": 1,
                        "SessionContext": call.body.get("SessionContext", ""), "Code": answer.code,
                        "Message": "send success" if answer.code == "Ok" else answer.code, "IsoCode": "CN",
                    }  # fmt: skip
                    response = {"SendStatusSet": [status], "RequestId": request_id}
                with gateway.lock:
                    gateway.received.append(call)
                time.sleep(answer.delay)
                out = json.dumps({"Response": response}).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        return Handler
