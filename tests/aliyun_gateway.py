"""A real HTTP server on 127.0.0.1 that plays Aliyun SMS (Dysmsapi 2017-05-25) for the official SDK.

It takes ``SendSms`` and ``QuerySendDetails`` (answered from the sends it accepted, matched on number and
Asia/Shanghai day, with their ``OutId``). It checks each request as Aliyun does: the ``ACS3-HMAC-SHA256`` signature, recomputed here from the
published algorithm (canonical request: method, path, the query sorted and percent-encoded with only
``-_.~`` left as they are, the signed headers as ``name:value`` lines, their names joined by ``;``, the
hex SHA-256 of the body; string to sign: the algorithm's name and the hex SHA-256 of the canonical
request; signature: hex HMAC-SHA256 keyed by the AccessKey secret), so a wrong key fails. It answers
with Aliyun's own bodies: ``{"Code": "OK", "BizId": ...}`` on success, HTTP 200 with another ``Code`` for
a business error, or whatever status the test asks for.
"""

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, quote, urlsplit

from tests.local_server import LocalServer
from worker.formats.display import SHANGHAI

ACCESS_KEY_ID = "LTAI-test-key-id"
ACCESS_KEY_SECRET = "test-secret-of-the-access-key"


@dataclass
class SendSms:
    """One SendSms call as the gateway received and judged it."""

    query: dict[str, str]
    headers: dict[str, str]
    signature_ok: bool
    biz_id: str | None = None
    day: str = ""  # yyyyMMdd in Asia/Shanghai, as QuerySendDetails' SendDate

    @property
    def action(self) -> str:
        return self.headers.get("x-acs-action", "")

    @property
    def variables(self) -> dict[str, str]:
        return json.loads(self.query["TemplateParam"])


@dataclass
class Answer:
    status: int = 200
    code: str = "OK"
    delay: float = 0.0


# Headers Aliyun requires in SignedHeaders, and how far the signing time (x-acs-date) may be from now.
REQUIRED_SIGNED = {
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
}
VARIABLE_MAX = 35
SKEW = 900  # seconds (Aliyun answers SignatureNonceUsed / InvalidTimeStamp.Expired beyond)


def _recent(stamp: str) -> bool:
    try:
        signed_at = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return False
    return abs((datetime.now(timezone.utc) - signed_at).total_seconds()) <= SKEW


def canonical_query(query: str) -> str:
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}" for name, value in pairs)


def acs3_signature(secret: str, method: str, path: str, query: str, headers: dict[str, str], signed: list[str],
                   body: bytes) -> str:  # fmt: skip
    lines = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
    canonical = "\n".join(
        [method, path or "/", canonical_query(query), lines, ";".join(signed), hashlib.sha256(body).hexdigest()]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class AliyunGateway(LocalServer):
    secret: str = ACCESS_KEY_SECRET
    received: list[SendSms] = field(default_factory=list)
    # (the call) -> the answer; every call succeeds unless told otherwise
    respond: object = lambda call: Answer()
    lookups_fail: bool = False  # QuerySendDetails answers 503
    # (the accepted call) -> None, run before the answer goes back: Aliyun pushing its receipt sooner
    # than the sender hears of the send
    on_accept: object = None
    port: int = 0  # 0: a free one

    @property
    def sends(self) -> list[SendSms]:
        return [call for call in self.received if call.action == "SendSms"]

    @property
    def accepted(self) -> list[SendSms]:
        return [call for call in self.sends if call.biz_id]

    def __post_init__(self):
        self._start(self.port)

    def _judge(self, method: str, target: str, headers: dict[str, str], body: bytes) -> SendSms:
        url = urlsplit(target)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        algorithm, _, fields = headers.get("authorization", "").partition(" ")
        parts = dict(part.split("=", 1) for part in fields.split(",") if "=" in part)
        signed = parts.get("SignedHeaders", "").split(";")
        ok = (
            algorithm == "ACS3-HMAC-SHA256"
            and parts.get("Credential") == ACCESS_KEY_ID
            and all(name in headers for name in signed)
            and REQUIRED_SIGNED <= set(signed)
            and _recent(headers.get("x-acs-date", ""))
            and headers.get("x-acs-content-sha256") == hashlib.sha256(body).hexdigest()
            and hmac.compare_digest(
                parts.get("Signature", ""),
                acs3_signature(self.secret, method, url.path, url.query, headers, signed, body),
            )
        )
        day = datetime.now(SHANGHAI).strftime("%Y%m%d")
        return SendSms(query, headers, ok, day=day)

    def _details(self, call: SendSms) -> dict:
        """QuerySendDetails' answer: the accepted sends to that number on that day, a page of them."""
        size, page = int(call.query["PageSize"]), int(call.query["CurrentPage"])
        with self.lock:
            found = [c for c in self.accepted
                     if c.query["PhoneNumbers"] == call.query["PhoneNumber"] and c.day == call.query["SendDate"]]  # fmt: skip
        shown = found[(page - 1) * size : page * size]
        details = [{"OutId": c.query["OutId"], "PhoneNum": c.query["PhoneNumbers"], "SendStatus": 1,
                    "TemplateCode": c.query["TemplateCode"], "ErrCode": "", "Content": ""} for c in shown]  # fmt: skip
        return {"TotalCount": len(found), "SmsSendDetailDTOs": {"SmsSendDetailDTO": details}}

    def _handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                call = gateway._judge("POST", self.path, headers, body)
                if call.action == "QuerySendDetails":
                    answer = Answer(503, "ServiceUnavailable") if gateway.lookups_fail else Answer()
                else:
                    answer = gateway.respond(call)
                if not call.signature_ok:
                    answer = Answer(400, "SignatureDoesNotMatch")
                elif call.action not in ("SendSms", "QuerySendDetails"):
                    answer = Answer(400, "InvalidAction.NotFound")
                elif call.action == "SendSms" and not all(
                    isinstance(v, str) and 1 <= len(v) <= VARIABLE_MAX for v in call.variables.values()
                ):  # Aliyun takes string variables of 1 to 35 characters only
                    answer = Answer(code="isv.PARAM_LENGTH_LIMIT")
                ok = answer.status == 200 and answer.code == "OK"
                if ok and call.action == "SendSms":
                    call.biz_id = f"{uuid.uuid4().int % 10**18}^0"
                with gateway.lock:
                    gateway.received.append(call)
                if call.biz_id and gateway.on_accept:
                    gateway.on_accept(call)
                time.sleep(answer.delay)  # after recording: a send accepted but answered too late
                reply = {"RequestId": str(uuid.uuid4()).upper(), "Code": answer.code, "Message": answer.code}
                if call.biz_id:
                    reply |= {"Message": "OK", "BizId": call.biz_id}
                elif ok:
                    reply |= {"Message": "OK", **gateway._details(call)}
                raw = json.dumps(reply).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        return Handler


def main() -> None:
    """``python -m tests.aliyun_gateway --port 9000 [--receipts URL]``: the gateway on its own, to try the
    Aliyun sender end to end without Aliyun (README, "Delivery receipts"). With ``--receipts`` it pushes
    an SmsReport for each accepted send to that URL, as Aliyun does, a moment after answering."""
    import argparse
    import threading

    import httpx

    parser = argparse.ArgumentParser(prog="python -m tests.aliyun_gateway")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--receipts", help="the receipts URL, .../receipts/aliyun/<token>")
    args = parser.parse_args()

    def push(call: SendSms) -> None:
        now = datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
        report = {"phone_number": call.query["PhoneNumbers"], "send_time": now, "report_time": now, "success": True,
                  "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1", "biz_id": call.biz_id,
                  "out_id": call.query["OutId"]}  # fmt: skip
        answer = httpx.post(args.receipts, json=[report], timeout=10)
        print(f"receipt for {call.query['OutId']} pushed: {answer.status_code} {answer.text}", flush=True)

    def accepted(call: SendSms) -> None:
        print(
            f"SendSms {call.query['TemplateCode']} {call.query['TemplateParam']} OutId={call.query['OutId']}",
            flush=True,
        )
        if args.receipts:
            threading.Timer(0.5, push, [call]).start()

    gateway = AliyunGateway(port=args.port, on_accept=accepted)
    print(
        f"local Aliyun SMS gateway on {gateway.endpoint} (AccessKey {ACCESS_KEY_ID} / {ACCESS_KEY_SECRET})", flush=True
    )
    threading.Event().wait()


if __name__ == "__main__":
    main()
