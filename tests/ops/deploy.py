"""What the ops tests read from deploy/: the alert rules, the dashboard's queries, the metric names an
expression uses, and the Prometheus tools (Debian's ``prometheus`` package; ``.ci/run`` installs it)."""

import json
import re
import shutil
from pathlib import Path

import yaml

from tests.support import service_missing

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy/prometheus/alerts.yml"
ALERT_TESTS = ROOT / "tests/prometheus/alerts_test.yml"
PROMETHEUS_CONFIG = ROOT / "deploy/prometheus/prometheus.yml"
DASHBOARD = ROOT / "deploy/grafana/xingtu.json"
OPERATIONS = ROOT / "docs/operations.md"
# Grafana's own variables in the dashboard's queries, as a query against Prometheus would have them.
GRAFANA_VARIABLES = {"$__rate_interval": "1m"}


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def dashboard_queries() -> dict[str, str]:
    """Each query, by its panel and legend, with Grafana's variables replaced."""
    queries = {}
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            queries[f"{panel['title']}: {target['legendFormat']}"] = expr
    return queries


def metric_names(expr: str) -> set[str]:
    """The worker's metrics an expression reads, as the worker names them (a histogram's ``_bucket``
    series is its family's)."""
    return {re.sub(r"_bucket$", "", name) for name in re.findall(r"\bxingtu_[a-z_]+\b", expr)}


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        service_missing(name, FileNotFoundError(f"{name} is not on PATH: apt-get install prometheus"))
    return found
