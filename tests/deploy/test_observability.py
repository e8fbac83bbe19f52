"""deploy/observability: alert rules, scrape configurations and the dashboard name only metrics that exist."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram

from shared import metrics

FOLDER = Path(__file__).resolve().parents[2] / "deploy" / "observability"
K8S_BASE = FOLDER.parent / "k8s" / "base"

# What PromQL spells that is not a metric name.
_PROMQL_WORDS = {
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
}
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPINGS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
# A whole word not followed by "(" (a function call).
_NAME = re.compile(r"(?<![\w:])[A-Za-z_:][\w:]*(?![\w:])(?!\s*\()")


def exposed_names() -> set[str]:
    """Every sample name shared/metrics.py exposes, and Prometheus's own `up`."""
    names = {"up"}
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names.add(f"{value._name}_total")
        elif isinstance(value, Histogram):
            names |= {f"{value._name}_bucket", f"{value._name}_count", f"{value._name}_sum"}
        elif isinstance(value, Gauge):
            names.add(value._name)
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    bare = _GROUPINGS.sub(" ", _RANGES.sub(" ", _MATCHERS.sub(" ", _STRINGS.sub(" ", expr))))
    bare = re.sub(r"\$__\w+", " ", bare)
    return {name for name in _NAME.findall(bare) if name not in _PROMQL_WORDS and not name[0].isdigit()}


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((FOLDER / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((FOLDER / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (le) (rate(http_request_duration_seconds_bucket{route="/v1/x"}[5m]))',
            {"http_request_duration_seconds_bucket"},
        ),
        (
            "max by (consumer) (consumer_pending_messages) > 1000 and deriv(ready[10m]) > 0",
            {"consumer_pending_messages", "ready"},
        ),
    ],
)
def test_metric_names_are_read_from_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule["alert"])
def test_every_alert_reads_metrics_the_processes_expose(rule: dict[str, Any]) -> None:
    assert metric_names(rule["expr"]) and metric_names(rule["expr"]) <= exposed_names()


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule["alert"])
def test_every_alert_has_a_severity_a_duration_and_words_for_the_operator(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"critical", "warning", "info"}
    assert re.fullmatch(r"\d+[smh]", rule["for"])
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_the_alerts_cover_what_an_operator_must_hear_of() -> None:
    read = {name for rule in rules() for name in metric_names(rule["expr"])}
    assert {
        "consumer_pending_messages",
        "dead_letter_messages",
        "outbox_pending_events",
        "ready",
        "http_requests_total",
        "http_request_duration_seconds_bucket",
    } <= read


def test_every_dashboard_panel_reads_metrics_the_processes_expose() -> None:
    unknown = {name for expr in dashboard_exprs() for name in metric_names(expr)} - exposed_names()
    assert not unknown


def test_prometheus_on_compose_scrapes_every_process_and_loads_the_alerts() -> None:
    config = yaml.safe_load((FOLDER / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    (job,) = config["scrape_configs"]
    (discovery,) = job["dns_sd_configs"]
    compose = yaml.safe_load((FOLDER.parents[1] / "docker-compose.yml").read_text())
    # Every long-running process of ours (not the on-demand operator tools).
    processes = {
        name
        for name, service in compose["services"].items()
        if "ADMIN_PORT" in service.get("environment", {}) and "profiles" not in service
    }
    assert set(discovery["names"]) == processes
    assert discovery["port"] == int(compose["x-app-env"]["ADMIN_PORT"])


def test_the_prometheus_operator_gets_the_same_alerts_and_every_app_pod() -> None:
    rule, monitor = (
        yaml.safe_load((FOLDER / "kubernetes" / name).read_text())
        for name in ("prometheusrule.yaml", "podmonitor.yaml")
    )
    assert rule["spec"]["groups"] == yaml.safe_load((FOLDER / "alerts.yml").read_text())["groups"]
    pod = yaml.safe_load((K8S_BASE / "app-pod.yaml").read_text())["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert monitor["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/component": "app"}
    assert [endpoint["port"] for endpoint in monitor["spec"]["podMetricsEndpoints"]] == [
        port["name"] for port in container["ports"]
    ]
