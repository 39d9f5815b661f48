#!/usr/bin/env python3
"""Builds LifeUp's Grafana dashboard JSON with grafana-foundation-sdk.

Why generated, not hand-kept: the SDK's typed builders catch misspelt options and lay panels out on
the grid, and every query lives in one readable table below. The JSON is committed (Grafana and
docker-compose need no Python); tests/test_grafana_dashboards.py fails when it drifts from this
script. Regenerate with ``.venv/bin/python deploy/grafana/build_dashboards.py``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import heatmap, stat, timeseries
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

DATASOURCE_UID = "prometheus"  # deploy/grafana/provisioning/datasources/prometheus.yml
DASHBOARD_UID = "lifeup-overview"
OUT = Path(__file__).resolve().parent / "dashboards" / "lifeup-overview.json"
RI = "$__rate_interval"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    heatmap: bool = False


@dataclass(frozen=True)
class PanelSpec:
    title: str
    kind: str  # "timeseries" | "stat" | "heatmap"
    unit: str
    description: str
    queries: tuple[Query, ...] = field(default_factory=tuple)
    width: int = 8
    stat_text: str = ""  # stat panels: "name" shows the series name (e.g. the model version)


ROWS: dict[str, list[PanelSpec]] = {
    "Stream": [
        PanelSpec(
            "Events by outcome",
            "timeseries",
            "ops",
            "Events per second the workers read, by what became of them.",
            (Query(f"sum by (outcome) (rate(lifeup_events_total[{RI}]))", "{{outcome}}"),),
        ),
        PanelSpec(
            "Consumer lag",
            "timeseries",
            "short",
            "Events waiting in the events topic, per partition; KEDA scales the workers on it.",
            (Query("sum by (topic, partition) (lifeup_consumer_lag)", "{{topic}}/{{partition}}"),),
        ),
        PanelSpec(
            "Dead-letter rate",
            "timeseries",
            "ops",
            "Rejected events per second (they go to the dead-letter topic with their error code).",
            (
                Query(
                    f'sum(rate(lifeup_events_total{{outcome="rejected"}}[{RI}])) or vector(0)',
                    "rejected/s",
                ),
            ),
        ),
        PanelSpec(
            "Workers up / ready",
            "stat",
            "short",
            "Worker replicas Prometheus can scrape, and those holding partitions with their "
            "tables restored (fewer while a worker restarts or the group rebalances).",
            (
                Query('sum(up{job="lifeup-worker"})', "up"),
                Query("sum(lifeup_worker_ready) or vector(0)", "ready"),
            ),
            width=6,
        ),
        PanelSpec(
            "Active users",
            "stat",
            "short",
            "Users with state held by the workers.",
            (Query("sum(lifeup_active_users)", "users"),),
            width=6,
        ),
        PanelSpec(
            "Model version",
            "stat",
            "none",
            "The model each worker scores with (several at once during a rollout).",
            (Query("count by (version) (lifeup_model_info)", "{{version}}"),),
            width=12,
            stat_text="name",
        ),
    ],
    "Detection": [
        PanelSpec(
            "Windows scored",
            "timeseries",
            "ops",
            "User-hours scored per second.",
            (Query(f"sum(rate(lifeup_windows_scored_total[{RI}]))", "windows/s"),),
        ),
        PanelSpec(
            "Alerts by reason",
            "timeseries",
            "ops",
            "Alerts per second by reason code (an alert with two reasons counts in both).",
            (Query(f"sum by (reason) (rate(lifeup_alerts_total[{RI}]))", "{{reason}}"),),
        ),
        PanelSpec(
            "Alert latency",
            "timeseries",
            "s",
            "From the Kafka timestamp of the event that completed a window to the alert's send.",
            (
                Query(
                    "histogram_quantile(0.5, sum by (le) "
                    f"(rate(lifeup_alert_latency_seconds_bucket[{RI}])))",
                    "p50",
                ),
                Query(
                    "histogram_quantile(0.99, sum by (le) "
                    f"(rate(lifeup_alert_latency_seconds_bucket[{RI}])))",
                    "p99",
                ),
            ),
        ),
        PanelSpec(
            "Score distribution",
            "heatmap",
            "short",
            "Window scores; the alert threshold is 1.0.",
            (
                Query(
                    f"sum by (le) (increase(lifeup_anomaly_score_bucket[{RI}]))",
                    "{{le}}",
                    heatmap=True,
                ),
            ),
            width=12,
        ),
        PanelSpec(
            "Score quantiles",
            "timeseries",
            "short",
            "Median and 99th percentile of window scores; above 1.0 is an alert.",
            (
                Query(
                    f"histogram_quantile(0.5, sum by (le) "
                    f"(rate(lifeup_anomaly_score_bucket[{RI}])))",
                    "p50",
                ),
                Query(
                    f"histogram_quantile(0.99, sum by (le) "
                    f"(rate(lifeup_anomaly_score_bucket[{RI}])))",
                    "p99",
                ),
            ),
            width=12,
        ),
    ],
    "API": [
        PanelSpec(
            "API requests",
            "timeseries",
            "reqps",
            "Requests per second by route and status code.",
            (
                Query(
                    f"sum by (route, status) (rate(lifeup_http_requests_total[{RI}]))",
                    "{{route}} {{status}}",
                ),
            ),
        ),
        PanelSpec(
            "API latency p99",
            "timeseries",
            "s",
            "99th percentile of request duration by route.",
            (
                Query(
                    "histogram_quantile(0.99, sum by (le, route) "
                    f"(rate(lifeup_http_request_duration_seconds_bucket[{RI}])))",
                    "{{route}}",
                ),
            ),
        ),
        PanelSpec(
            "API errors",
            "timeseries",
            "percentunit",
            "Share of requests answered 5xx (server errors) and 4xx (client errors).",
            (
                Query(
                    f'(sum(rate(lifeup_http_requests_total{{status=~"5.."}}[{RI}])) or vector(0))'
                    f" / sum(rate(lifeup_http_requests_total[{RI}]))",
                    "5xx",
                ),
                Query(
                    f'(sum(rate(lifeup_http_requests_total{{status=~"4.."}}[{RI}])) or vector(0))'
                    f" / sum(rate(lifeup_http_requests_total[{RI}]))",
                    "4xx",
                ),
            ),
        ),
    ],
}


def _target(query: Query, ref: str) -> prom.Dataquery:
    target = prom.Dataquery().expr(query.expr).ref_id(ref).legend_format(query.legend)
    if query.heatmap:
        target = target.format(pm.PromQueryFormat.HEATMAP)
    return target


def _panel(spec: PanelSpec, panel_id: int) -> Any:
    builder: Any
    if spec.kind == "timeseries":
        builder = timeseries.Panel()
    elif spec.kind == "stat":
        builder = stat.Panel()
    elif spec.kind == "heatmap":
        builder = heatmap.Panel()
    else:
        raise ValueError(f"unknown panel kind {spec.kind!r}")
    datasource = dm.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
    builder = (
        builder.id(panel_id)
        .title(spec.title)
        .description(spec.description)
        .unit(spec.unit)
        .datasource(datasource)
        .height(8)
        .span(spec.width)
    )
    if spec.stat_text:
        builder = builder.text_mode(common.BigValueTextMode(spec.stat_text))
    for index, query in enumerate(spec.queries):
        builder = builder.with_target(_target(query, chr(ord("A") + index)))
    return builder


def build() -> dict[str, Any]:
    """The dashboard as the JSON object Grafana provisions."""
    dash = (
        db.Dashboard("LifeUp")
        .uid(DASHBOARD_UID)
        .description("LifeUp: events in, windows scored, alerts out; the API beside it.")
        .tags(["lifeup"])
        .refresh("30s")
        .time("now-3h", "now")
        .timezone("utc")
        .editable()
    )
    next_id = 1
    for row, panels in ROWS.items():
        dash = dash.with_row(db.Row(row).id(next_id))
        next_id += 1
        for spec in panels:
            dash = dash.with_panel(_panel(spec, next_id))
            next_id += 1
    data: dict[str, Any] = json.loads(json.dumps(dash.build(), cls=JSONEncoder))
    return data


def render() -> str:
    """Stable text of the dashboard (sorted keys, trailing newline) for diffs and the drift test."""
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
