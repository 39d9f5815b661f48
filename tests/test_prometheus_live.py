"""Every PromQL expression of the dashboards and the alert rules, evaluated by a real Prometheus
(Debian's package, loopback, free port) scraping a real `lifeup worker` and `lifeup api` that run
on the embedded broker: each expression must evaluate, and each must return data.

Alert expressions are mostly empty when all is well (`up == 0`), so for them every series they
select must return data and the rule groups must evaluate without error; dashboard queries must
return data themselves. The worker is fed a cheater (an alert), a normal user, a malformed and an
ignored message, and the API answers authorised and unauthorised calls, so every metric exists.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")
promql_parser = pytest.importorskip("promql_parser", reason="promql-parser not installed")

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "deploy" / "prometheus" / "rules" / "lifeup-alerts.yml"
DASHBOARDS = sorted((REPO / "deploy" / "grafana" / "dashboards").glob("*.json"))
API_KEY = "live-test-key"
ESTIMATED_STEPS = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
OFFSET = re.compile(r"\s+offset\s+-?[0-9a-z]+$")
MACROS = {"$__rate_interval": "30s", "$__interval": "5s", "$__range": "5m"}
POLL_S = 60.0  # worker start (~5 s), group join, first scrape (~5 s), a 1 s rule interval

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _require_stack() -> str:
    missing = [
        m for m in ("stream.worker.run", "stream.api.app") if importlib.util.find_spec(m) is None
    ]
    if missing:
        pytest.skip(f"worker/API not in this checkout yet: {', '.join(missing)} missing")
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.skip("prometheus missing (Debian package): run scripts/install-system-tools")
    return prometheus


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_for(url: str, proc: subprocess.Popen[bytes], what: str, log: Path, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if http_get(url)[0] == 200:
            return
        time.sleep(0.25)
    pytest.fail(f"{what} did not answer {url} within {limit:.0f} s:\n{log.read_text()[-3000:]}")


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        cmd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def step_event(user: str, start: datetime, steps: int) -> bytes:
    begin = int(start.timestamp()) * 1_000_000_000
    return json.dumps(
        {
            "user_id": user,
            "dataTypeName": "com.google.step_count.delta",
            "startTimeNanos": str(begin),
            "endTimeNanos": str(begin + 60_000_000_000),
            "value": [{"intVal": steps}],
            "originDataSourceId": ESTIMATED_STEPS,
        }
    ).encode()


def feed(bootstrap: str, topic: str) -> None:
    """A cheater (350 steps every minute for an hour), a walker, one malformed, one ignored."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    hour = datetime(2024, 3, 1, 14, tzinfo=UTC)
    for minute in range(60):
        at = hour + timedelta(minutes=minute)
        producer.produce(topic, step_event("live-cheater", at, 350), key=b"live-cheater")
        producer.produce(topic, step_event("live-walker", at, 60 + minute % 7), key=b"live-walker")
    # 16 min past the hour's end: the cheater's window completes by event time (lateness 15 min),
    # so its alert also measures latency; the walker's is flushed when the user goes idle.
    later = hour + timedelta(minutes=76)
    producer.produce(topic, step_event("live-cheater", later, 20), key=b"live-cheater")
    producer.produce(topic, b"{not json", key=b"live-broken")
    heart = json.dumps(
        {
            "user_id": "live-walker",
            "dataTypeName": "com.google.heart_rate.bpm",
            "startTimeNanos": "1709301600000000000",
            "endTimeNanos": "1709301600000000000",
            "value": [{"fpVal": 72.0}],
        }
    ).encode()
    producer.produce(topic, heart, key=b"live-walker")
    assert producer.flush(30) == 0


def exercise_api(base: str) -> None:
    assert http_get(f"{base}/healthz")[0] == 200
    body = b"[" + step_event("api-user", datetime(2024, 3, 1, 9, tzinfo=UTC), 80) + b"]"
    headers = {"Content-Type": "application/json"}
    assert http_post(f"{base}/v1/score", body, headers) == 401
    assert (
        http_post(f"{base}/v1/score", body, {**headers, "Authorization": f"Bearer {API_KEY}"})
        == 200
    )
    http_get(f"{base}/metrics")


def query(prom: str, expr: str) -> dict[str, Any]:
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, body = http_get(url, timeout=10)
    data: dict[str, Any] = json.loads(body) if body else {"status": "unreachable"}
    if status != 200 or data.get("status") != "success":
        pytest.fail(f"Prometheus refused {expr!r}: {status} {data}")
    return data


def has_data(result: dict[str, Any]) -> bool:
    data = result["data"]
    return data["resultType"] in {"scalar", "string"} or bool(data["result"])


def expand(expr: str) -> str:
    for macro, value in MACROS.items():
        expr = expr.replace(macro, value)
    return expr


def selectors(expr: str) -> list[str]:
    found: list[str] = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(str(node))
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


@pytest.fixture
def stack(kafka_bootstrap: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    prometheus = _require_stack()
    run_id = uuid.uuid4().hex[:8]
    topics = {
        "LIFEUP_EVENTS_TOPIC": f"live-{run_id}.events",
        "LIFEUP_ALERTS_TOPIC": f"live-{run_id}.alerts",
        "LIFEUP_DLQ_TOPIC": f"live-{run_id}.dlq",
    }
    metrics_port, web_port, api_port, prom_port = (free_port() for _ in range(4))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("LIFEUP_")}
    env = {
        **base_env,
        **topics,
        "LIFEUP_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LIFEUP_TOPIC_PARTITIONS": "1",
        "LIFEUP_WORKER_APP_ID": f"live-{run_id}",
        "LIFEUP_WORKER_STORE": "memory://",
        "LIFEUP_WORKER_DATADIR": str(tmp_path / "worker-state"),
        "LIFEUP_METRICS_HOST": "127.0.0.1",
        "LIFEUP_METRICS_PORT": str(metrics_port),
        "LIFEUP_WORKER_WEB_HOST": "127.0.0.1",
        "LIFEUP_WORKER_WEB_PORT": str(web_port),
        "LIFEUP_WORKER_URL": f"http://127.0.0.1:{web_port}",
        "LIFEUP_IDLE_FLUSH_SECONDS": "2",
        "LIFEUP_API_KEYS": API_KEY,
    }
    lifeup = [sys.executable, "-m", "stream.cli"]
    # Production rules, with the 1 min recording interval shortened so they evaluate in the test.
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        group["interval"] = "1s"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp_path / "rules.yml")],
        "scrape_configs": [
            {
                "job_name": "lifeup-worker",
                "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}],
            },
            {"job_name": "lifeup-api", "static_configs": [{"targets": [f"127.0.0.1:{api_port}"]}]},
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        worker_log = tmp_path / "worker.log"
        procs.append(start([*lifeup, "worker", "--loglevel", "info"], env, worker_log))
        api_log = tmp_path / "api.log"
        procs.append(
            start([*lifeup, "api", "--host", "127.0.0.1", "--port", str(api_port)], env, api_log)
        )
        prom_log = tmp_path / "prometheus.log"
        procs.append(
            start(
                [
                    prometheus,
                    f"--config.file={tmp_path / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ],
                base_env,
                prom_log,
            )
        )
        wait_for(f"http://127.0.0.1:{metrics_port}/metrics", procs[0], "worker", worker_log, 60)
        wait_for(f"http://127.0.0.1:{api_port}/healthz", procs[1], "api", api_log, 60)
        wait_for(f"http://127.0.0.1:{prom_port}/-/ready", procs[2], "prometheus", prom_log, 30)
        feed(kafka_bootstrap, topics["LIFEUP_EVENTS_TOPIC"])
        exercise_api(f"http://127.0.0.1:{api_port}")
        yield {
            "prometheus": f"http://127.0.0.1:{prom_port}",
            "worker_metrics": f"http://127.0.0.1:{metrics_port}/metrics",
            "worker_log": str(worker_log),
        }
    finally:
        for proc in reversed(procs):
            stop(proc)


# The scenario itself: it must move the counters the expressions read.
SCENARIO = [
    'lifeup_events_total{outcome="accepted"} > 0',
    'lifeup_events_total{outcome="rejected"} > 0',
    'lifeup_events_total{outcome="ignored"} > 0',
    "lifeup_windows_scored_total > 0",
    "lifeup_alerts_total > 0",
    "lifeup_alert_latency_seconds_count > 0",
    'lifeup_http_requests_total{status="401"} > 0',
    'lifeup_http_requests_total{status="200"} > 0',
]


def expressions() -> list[tuple[str, str, bool]]:
    """(where, expr, must itself return data)."""
    out = [(f"scenario: {expr}", expr, True) for expr in SCENARIO]
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            for target in panel.get("targets", []):
                out.append((f"{path.name}: {panel['title']}", expand(target["expr"]), True))
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule["record"]
            out.append((f"rule {name}", rule["expr"], "record" in rule))
    return out


def test_every_dashboard_and_rule_expression_returns_data(stack: dict[str, str]) -> None:
    prom = stack["prometheus"]
    pending = {where: (expr, must) for where, expr, must in expressions()}
    deadline = time.monotonic() + POLL_S
    failures: dict[str, str] = {}
    while pending and time.monotonic() < deadline:
        failures = {}
        for where, (expr, must) in list(pending.items()):
            result = query(prom, expr)  # evaluates, or fails the test with Prometheus' error
            # A fresh Prometheus has no history: `x offset 23h` is checked as `x`.
            series = {OFFSET.sub("", s) for s in selectors(expr)}
            empty = sorted(s for s in series if not has_data(query(prom, s)))
            if empty:
                failures[where] = f"no data for {empty}"
            elif must and not has_data(result):
                failures[where] = f"{expr!r} returned nothing"
            else:
                del pending[where]
        if pending:
            time.sleep(1.0)
    if pending:
        status, metrics = http_get(stack["worker_metrics"])
        worker_tail = Path(stack["worker_log"]).read_text()[-2000:]
        pytest.fail(
            "expressions without data after "
            f"{POLL_S:.0f} s:\n"
            + "\n".join(f"  {w}: {failures.get(w, '?')}" for w in pending)
            + f"\nworker /metrics ({status}):\n{metrics.decode()[-2500:]}"
            + f"\nworker log:\n{worker_tail}"
        )
    rules = json.loads(http_get(f"{prom}/api/v1/rules")[1])["data"]["groups"]
    assert {g["name"] for g in rules} == {"lifeup-recording", "lifeup-alerts"}
    for group in rules:
        for rule in group["rules"]:
            assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
    targets = json.loads(http_get(f"{prom}/api/v1/targets")[1])["data"]["activeTargets"]
    assert {(t["labels"]["job"], t["health"]) for t in targets} == {
        ("lifeup-worker", "up"),
        ("lifeup-api", "up"),
    }
