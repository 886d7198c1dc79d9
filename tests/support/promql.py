"""Metric names in PromQL expressions, and the names the relay's registry exposes.

:func:`metric_names` reads the series a PromQL expression (an alert rule's ``expr``, a
Grafana target's ``expr``) selects; :func:`exposed_names` lists every sample name the
relay's :class:`~relay.infrastructure.metrics.PrometheusMetrics` can put on ``/metrics``,
from the registry's families, so a metric added there is known here without a list.
"""

from __future__ import annotations

import re

from relay.infrastructure.metrics import PrometheusMetrics

_SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}
"""Sample names of each family type (OpenMetrics), as the name's suffix."""

_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "inf",
        "nan",
    }
)

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_OFFSET = re.compile(r"\boffset\s+-?\w+")
_GRAFANA_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")
_LABEL_VALUES = re.compile(r"\blabel_values\(\s*([^,()]+?)\s*,\s*\w+\s*\)")
_IDENTIFIER = re.compile(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects: ``{'relay_queue_depth_events'}`` for
    ``max by (instance) (relay_queue_depth_events{job="relay"}[5m]) > 1024``.

    Strings, label matchers, ranges, ``offset`` durations, grouping label lists
    (``by``, ``on``, ...), Grafana variables (``$__rate_interval``, ``${venue}``) and
    function names (an identifier followed by ``(``) are not names; Grafana's
    ``label_values(METRIC, LABEL)`` stands for ``METRIC``.
    """
    text = _LABEL_VALUES.sub(r"\1", expr)
    for pattern in (_STRING, _GRAFANA_VARIABLE, _MATCHERS, _RANGE, _GROUPING, _OFFSET):
        text = pattern.sub(" ", text)
    names: set[str] = set()
    for match in _IDENTIFIER.finditer(text):
        word = match.group()
        if word in _KEYWORDS or text[match.end() :].lstrip().startswith("("):
            continue
        names.add(word)
    return names


def exposed_names() -> set[str]:
    """Every sample name of the relay's metrics registry.

    Counters give ``<name>_total`` and ``<name>_created``, histograms ``_bucket``,
    ``_sum``, ``_count`` and ``_created``, gauges their name (:data:`_SUFFIXES`). Read
    from a fresh :class:`PrometheusMetrics`: a labelled family with no series yet is
    listed too.
    """
    names: set[str] = set()
    for family in PrometheusMetrics().registry.collect():
        names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
    return names
