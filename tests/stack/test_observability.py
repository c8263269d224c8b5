"""The worker's metrics as Prometheus sees them: a real worker serving ``/metrics``, checked by
``promtool check metrics``, scraped by a real Prometheus loaded with the shipped alerts, whose every
dashboard query answers, and whose alert for a dead SMS fires when one dies while the others stay
quiet. Needs Debian's ``prometheus`` package (promtool and prometheus; ``.ci/run`` installs it)."""

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.deploy import ALERTS, dashboard_queries, metric_names, rules, tool
from tests.support import free_port

WAIT = 60  # seconds: a hang guard, not a speed target


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def eventually(check, what: str):
    """``check()``'s first truthy answer, polled; an exception counts as not yet."""
    deadline, last = time.monotonic() + WAIT, None
    while time.monotonic() < deadline:
        try:
            found = check()
            if found:
                return found
        except Exception as error:  # noqa: BLE001 - a server still starting, a query with no data yet
            last = error
        time.sleep(0.25)
    raise AssertionError(f"waited {WAIT} s for {what} (last: {last!r})")


class Prometheus:
    """A Prometheus server of its own on 127.0.0.1, scraping one worker every second with the rules."""

    def __init__(self, tmp_path, target: str):
        self.port = free_port()
        shutil.copy(ALERTS, tmp_path / "alerts.yml")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["alerts.yml"],
            "scrape_configs": [{"job_name": "xingtu", "static_configs": [{"targets": [target]}]}],
        }
        (tmp_path / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
        self.log = (tmp_path / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [tool("prometheus"), f"--config.file={tmp_path / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        eventually(lambda: get(self.url("/-/ready")), "Prometheus to be ready")

    def url(self, path: str, **query) -> str:
        return f"http://127.0.0.1:{self.port}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")

    def query(self, expr: str) -> list:
        answer = json.loads(get(self.url("/api/v1/query", query=expr)))
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def alerts(self) -> dict[str, str]:
        """Each rule's state: inactive, pending or firing, after an evaluation without error."""
        groups = json.loads(get(self.url("/api/v1/rules")))["data"]["groups"]
        found = {rule["name"]: rule for group in groups for rule in group["rules"]}
        for rule in found.values():
            assert rule["health"] in ("ok", "unknown"), rule
        return {name: rule["state"] for name, rule in found.items()}

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


@pytest.fixture
def prometheus(tmp_path):
    tool("promtool")
    started = []
    yield lambda target: started.append(Prometheus(tmp_path, target)) or started[-1]
    for server in started:
        server.stop()


def exported(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name, *(sample.name for sample in family.samples)}
    return names


def test_prometheus_scrapes_the_worker_answers_the_dashboard_and_fires_on_a_dead_sms(
    start_worker, xingtu_cli, webhook, prometheus
):
    port = free_port()
    start_worker(env={"XINGTU_METRICS_PORT": str(port)})
    server = prometheus(f"127.0.0.1:{port}")
    eventually(lambda: server.query('up{job="xingtu"} == 1'), "the first scrape")
    eventually(lambda: server.query("xingtu_scan_last_success_timestamp_seconds"), "a scan to succeed")
    time.sleep(2)  # a few scrapes with the dead count at 0, so its rise is an increase
    assert server.alerts()["XingtuNotificationsDead"] == "inactive"

    webhook.respond = lambda body: (400, 0) if body["id"].startswith("order-1:") else (200, 0)
    for side, phone in (("client", "13800000001"), ("creator", "13900000002")):
        assert xingtu_cli(side, "add", "--name", side, "--phone", phone).returncode == 0
    for _ in range(2):
        published = xingtu_cli("order", "publish", "--client", 1, "--creator", 1, "--amount-fen", 100, "--title", "t")
        assert published.returncode == 0, published.stderr

    def counted() -> str | None:
        text = get(f"http://127.0.0.1:{port}/metrics")
        wanted = [f'xingtu_sends_total{{code="{code}",sender="webhook"}} 1.0' for code in ("HTTP 400", "OK")]
        return text if all(line in text for line in wanted) else None

    metrics = eventually(counted, "the dead and the sent SMS counted by code")
    assert 'xingtu_dispatch_notifications_total{outcome="dead"} 1.0' in metrics
    assert (
        "xingtu_database_up 1.0" in metrics
        and 'xingtu_order_cancellations_total{reason="acceptance_timeout"}' in metrics
    )

    checked = subprocess.run([tool("promtool"), "check", "metrics"], input=metrics, capture_output=True, text=True)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, ""), "promtool's lint of the exposition"

    used = {name for rule in rules() for name in metric_names(rule["expr"])}
    used |= {name for expr in dashboard_queries().values() for name in metric_names(expr)}
    assert used - exported(metrics) == set(), "every metric an alert or the dashboard reads is exported"

    state = eventually(lambda: (s := server.alerts())["XingtuNotificationsDead"] == "firing" and s, "the alert")
    assert {name for name, value in state.items() if value == "firing"} == {"XingtuNotificationsDead"}
    eventually(lambda: server.query('sum(rate(xingtu_sends_total{code="OK"}[1m])) > 0'), "the send in a rate")
    for panel, expr in dashboard_queries().items():
        assert server.query(expr), f"the dashboard's {panel!r} answers nothing: {expr}"
