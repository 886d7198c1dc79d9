"""deploy/prometheus/relay-alerts.yml: promtool accepts the rules and its unit tests pass,
every alert has a case that fires it and one that does not, and the Kubernetes
PrometheusRule carries the same groups.

promtool comes with Debian's ``prometheus`` package; ``.ci/run`` installs it and sets
``RELAY_REQUIRE_PROMTOOL=1``, so in CI (or with ``CI`` set) a missing promtool fails
these tests instead of skipping them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "relay-alerts.yml"
RULE_TESTS = PROMETHEUS / "relay-alerts.test.yml"
PROMETHEUS_RULE = ROOT / "deploy" / "kubernetes" / "base" / "prometheusrule.yaml"


def _alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is not None:
        return path
    if os.environ.get("RELAY_REQUIRE_PROMTOOL") == "1" or os.environ.get("CI"):
        pytest.fail("promtool is not installed; .ci/run installs Debian's prometheus package")
    pytest.skip("promtool is not installed (apt-get install prometheus); CI runs these")


def _promtool(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
    )


def test_promtool_checks_every_rule(promtool: str) -> None:
    result = _promtool(promtool, "check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alert_rules())} rules found" in result.stdout


def test_promtool_unit_tests_of_the_rules_pass(promtool: str) -> None:
    result = _promtool(promtool, "test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_case_that_fires_it_and_one_that_does_not() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case["alert_rule_test"]:
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    alerts = {rule["alert"] for rule in _alert_rules()}
    assert len(alerts) == len(_alert_rules()) == 13
    assert firing == alerts
    assert quiet == alerts


def test_the_prometheus_rule_carries_the_same_groups_as_the_rule_file() -> None:
    """To update: copy relay-alerts.yml's ``groups`` into the PrometheusRule's ``spec``."""
    rule = yaml.safe_load(PROMETHEUS_RULE.read_text())
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]
