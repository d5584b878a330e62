"""Prometheus metrics: deliveries, audits, GitHub calls, rate limits and latencies."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

REGISTRY = CollectorRegistry(auto_describe=True)

M = TypeVar("M", bound=MetricWrapperBase)
# Each metric keeps its children for ever, so this holds no more than the registry already does.
_CHILDREN: dict[tuple[int, tuple[str, ...]], Any] = {}


def labelled(metric: M, *values: str) -> M:
    """`metric.labels(*values)`, remembered: prometheus checks and locks on every lookup."""
    key = (id(metric), values)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*values)
    return cast(M, child)


DELIVERIES = Counter(
    "canon_gate_deliveries_total",
    "Webhook deliveries by event and outcome.",
    ["event", "outcome"],
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "canon_gate_delivery_seconds",
    "Time from receiving a delivery to answering it.",
    ["event"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
AUDITS = Counter(
    "canon_gate_audits_total",
    "Concluded audits by check run conclusion.",
    ["conclusion"],
    registry=REGISTRY,
)
GITHUB_CALLS = Counter(
    "canon_gate_github_calls_total",
    "GitHub API calls by method, route and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
GITHUB_LATENCY = Histogram(
    "canon_gate_github_call_seconds",
    "GitHub API call latency.",
    ["method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
RATE_LIMIT_REMAINING = Gauge(
    "canon_gate_github_rate_limit_remaining",
    "The rate limit left, per installation, as of the last call.",
    ["installation"],
    registry=REGISTRY,
)
REDELIVERIES = Counter(
    "canon_gate_redeliveries_total",
    "Failed deliveries the reconciler asked GitHub to redeliver.",
    registry=REGISTRY,
)
RECONCILE_PASSES = Counter(
    "canon_gate_reconcile_passes_total",
    "Passes of the delivery-log reconciler, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
