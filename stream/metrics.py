"""The worker's Prometheus metrics, named as the contract says; never a per-user label.

One ``WorkerMetrics`` owns its own registry, so the API (which has its own) and tests that build
several workers in one process never clash over global names.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

OUTCOMES = ("accepted", "ignored", "duplicate", "late", "rejected")
SCORE_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class WorkerMetrics:
    """The contract's metrics plus the worker's consumer lag and readiness, in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "lifeup_events_total", "Points (or unparseable messages) by outcome.", ["outcome"],
            registry=r,
        )  # fmt: skip
        # exported at 0 so rate() works from the start
        self._outcomes = {outcome: self.events.labels(outcome) for outcome in OUTCOMES}
        self.windows_scored = Counter(
            "lifeup_windows_scored_total", "Completed windows scored.", registry=r
        )
        self.alerts = Counter(
            "lifeup_alerts_total", "Alerts sent, by reason.", ["reason"], registry=r
        )
        self.anomaly_score = Histogram(
            "lifeup_anomaly_score", "Scores of scored windows (1.0 = threshold).",
            buckets=SCORE_BUCKETS, registry=r,
        )  # fmt: skip
        self.alert_latency = Histogram(
            "lifeup_alert_latency_seconds",
            "From the Kafka timestamp of the event that completed a window to the alert's send.",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.active_users = Gauge(
            "lifeup_active_users", "Users with state on this worker.", registry=r
        )
        self.model_info = Gauge("lifeup_model_info", "The model in use.", ["version"], registry=r)
        self.ready = Gauge(
            "lifeup_worker_ready",
            "1 once the worker holds partitions and has restored its tables (its /lifeup/readyz).",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "lifeup_consumer_lag", "Messages not yet consumed, per events-topic partition.",
            ["topic", "partition"], registry=r,
        )  # fmt: skip

    def count_outcomes(self, counts: Mapping[str, int]) -> None:
        # ``labels()`` locks and hashes per call: once per message, that adds up
        children = self._outcomes
        for outcome, count in counts.items():
            if count:
                children[outcome].inc(count)

    def set_model(self, version: str) -> None:
        self.model_info.clear()
        self.model_info.labels(version).set(1)

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serves ``/metrics`` on ``host:port`` (0: a free port); returns the port bound."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        bound: int = server.server_address[1]
        return bound
