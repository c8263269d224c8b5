"""The alert rules, the Prometheus config, the Grafana dashboard and the compose ``ops`` profile are
valid as their own tools read them, and every alert proves it fires on its fault and stays quiet
otherwise (``promtool test rules``, tests/prometheus/alerts_test.yml)."""

import re
import subprocess

import pytest
import yaml

from tests.ops.deploy import (
    ALERT_TESTS,
    ALERTS,
    OPERATIONS,
    PROMETHEUS_CONFIG,
    ROOT,
    dashboard,
    dashboard_queries,
    rules,
    tool,
)


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool("promtool"), *args], capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_promtool_finds_the_rules_and_the_config_valid():
    checked = promtool("check", "rules", str(ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout
    config = promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert config.returncode == 0, config.stdout + config.stderr


def test_every_alert_fires_on_its_fault_and_stays_quiet_otherwise():
    tested = promtool("test", "rules", str(ALERT_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    cases = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    expectations = [case for test in cases for case in test.get("alert_rule_test", [])]
    for rule in rules():
        mine = [case for case in expectations if case["alertname"] == rule["alert"]]
        assert any(case["exp_alerts"] for case in mine), f"nothing proves {rule['alert']} fires"
        assert any(not case["exp_alerts"] for case in mine), f"nothing proves {rule['alert']} stays quiet"


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors of the page's headings."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule["alert"])
def test_each_alert_is_named_for_its_symptom_and_says_where_the_runbook_is(rule):
    assert re.fullmatch(r"Xingtu(?:[A-Z][a-z]+)+", rule["alert"]), "CamelCase, prefixed with the project"
    assert rule["labels"]["severity"] in ("critical", "warning")
    assert rule["annotations"]["summary"]
    page, _, anchor = rule["annotations"]["runbook"].partition("#")
    assert page == "docs/operations.md" and anchor in _anchors(OPERATIONS.read_text())


def test_the_dashboard_reads_prometheus_through_its_datasource_variable():
    board = dashboard()
    (variable,) = board["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == ("datasource", "datasource", "prometheus")
    assert board["uid"] and len({panel["id"] for panel in board["panels"]}) == len(board["panels"])
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"], panel["title"]
    titles = " ".join(panel["title"] for panel in board["panels"]).lower()
    for wanted in ("orders by status", "overdue pending", "cancellations by cause", "outbox by status",
                   "oldest due", "send outcomes by provider code", "scan duration", "dispatch duration"):  # fmt: skip
        assert wanted in titles


def test_every_dashboard_query_parses(tmp_path):
    """promtool has no check for a lone expression, so each is a recording rule of a throwaway file."""
    queries = dashboard_queries()
    group = {"name": "dashboard", "rules": [{"record": f"q{n}", "expr": e} for n, e in enumerate(queries.values())]}
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [group]}))
    checked = promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(queries)} rules found" in checked.stdout


def test_the_ops_profile_runs_prometheus_with_the_rules_and_grafana_with_the_dashboard():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("flower", "prometheus", "grafana"):
        assert services[name]["profiles"] == ["ops"]
    mounts = {
        name: dict(
            volume.removesuffix(":ro").split(":", 1) for volume in services[name]["volumes"] if volume.startswith("./")
        )
        for name in ("prometheus", "grafana")
    }
    assert mounts["prometheus"]["./deploy/prometheus/alerts.yml"] == "/etc/prometheus/alerts.yml"
    assert mounts["prometheus"]["./deploy/prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["grafana"]["./deploy/grafana/xingtu.json"].startswith("/var/lib/grafana/dashboards/")
    for service in mounts.values():
        for source in service:
            assert (ROOT / source).exists(), source
    provisioned = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/xingtu.yml").read_text())
    assert provisioned["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    scrape = yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]
    assert [job["job_name"] for job in scrape] == ["xingtu"], 'the alerts\' up{job="xingtu"}'
    assert services["worker"]["environment"]["XINGTU_METRICS_PORT"] == str(scrape[0]["dns_sd_configs"][0]["port"])
