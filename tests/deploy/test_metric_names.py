"""Every metric the alert rules and the Grafana dashboard query is one the relay exposes.

The exposed names come from the relay's own registry (tests/support/promql.py), so a
metric added to relay/infrastructure/metrics.py is known here without a list; the names
queried are read from each PromQL expression.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.promql import exposed_names, metric_names

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "relay-alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "relay-dashboard.json"
PROMETHEUS_OWN = {"up"}
"""Series Prometheus writes itself for every target (RelayDown uses ``up``)."""


def _rule_expressions() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def _dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def _dashboard_expressions() -> dict[str, str]:
    dashboard = _dashboard()
    expressions = {
        f"{panel['title']} {target['refId']}": target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            expressions[f"${variable['name']}"] = variable["query"]["query"]
    return expressions


def _unknown(expressions: dict[str, str]) -> dict[str, list[str]]:
    known = exposed_names() | PROMETHEUS_OWN
    unknown = {where: sorted(metric_names(expr) - known) for where, expr in expressions.items()}
    return {where: names for where, names in unknown.items() if names}


def test_metric_names_are_read_from_selectors_not_labels_functions_or_variables() -> None:
    expr = """
        histogram_quantile(0.99, sum by (venue, le) (
          rate(relay_publish_latency_seconds_bucket{venue=~"$venue", le!="0.1"}[$__rate_interval])
        )) > 1
        or (0 * max by (instance) (relay_nats_connected)
            unless on (instance) relay_events_published_total offset 5m)
    """
    assert metric_names(expr) == {
        "relay_publish_latency_seconds_bucket",
        "relay_nats_connected",
        "relay_events_published_total",
    }
    assert metric_names("label_values(relay_venue_connected, venue)") == {"relay_venue_connected"}
    assert metric_names('sum(rate(relay_typo_total{reason="x y"}[5m])) by (venue)') == {
        "relay_typo_total"
    }


def test_exposed_names_list_every_sample_of_counters_gauges_and_families_without_series() -> None:
    names = exposed_names()
    assert {
        "relay_events_published_total",  # a counter kept outside prometheus-client's Counter
        "relay_frames_rejected_total",  # a labelled counter with no series yet
        "relay_queue_depth_events",
        "relay_circuit_breaker_state",
    } <= names
    assert "relay_frames_rejected" not in names
    assert all(name.startswith("relay_") for name in names)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(_rule_expressions, id="alert rules"),
        pytest.param(_dashboard_expressions, id="dashboard"),
    ],
)
def test_every_metric_queried_is_exposed_by_the_relay(source: Any) -> None:
    assert _unknown(source()) == {}


def test_the_dashboard_shows_each_part_of_the_relay() -> None:
    queried = set().union(*(metric_names(expr) for expr in _dashboard_expressions().values()))
    assert {
        "relay_events_published_total",  # events/s per venue and data type
        "relay_events_received_total",
        "relay_events_dropped_total",  # drops
        "relay_frames_rejected_total",  # rejected frames by reason
        "relay_book_resyncs_total",  # resyncs
        "relay_stale_reconnects_total",  # staleness per stream
        "relay_queue_depth_events",  # queue depth
        "relay_publish_latency_seconds_bucket",  # latency p50/p99
        "relay_circuit_breaker_state",  # circuit state
        "relay_nats_connected",  # NATS connection
        "relay_jetstream_ready",
        "relay_venue_connected",
    } <= queried
    expressions = _dashboard_expressions().values()
    assert any(expr.startswith("histogram_quantile(0.5,") for expr in expressions)
    assert any(expr.startswith("histogram_quantile(0.99,") for expr in expressions)


def test_the_dashboard_panels_fit_the_grid_and_use_the_datasource_variable() -> None:
    dashboard = _dashboard()
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    cells = [
        (panel["gridPos"]["x"] + dx, panel["gridPos"]["y"] + dy)
        for panel in panels
        for dx in range(panel["gridPos"]["w"])
        for dy in range(panel["gridPos"]["h"])
    ]
    assert len(cells) == len(set(cells)), "panels overlap"
    names = [variable["name"] for variable in dashboard["templating"]["list"]]
    assert names == ["datasource", "instance", "venue"]
