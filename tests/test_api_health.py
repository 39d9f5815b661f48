"""Liveness, readiness (Kafka and model), Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.test_api_support import AUTH, client


def test_healthz_answers_without_kafka_or_model(tmp_path: Path) -> None:
    with client(model_path=tmp_path / "missing.onnx") as c:
        answer = c.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_fails_while_kafka_and_model_are_unavailable(tmp_path: Path) -> None:
    with client(model_path=tmp_path / "missing.onnx") as c:
        answer = c.get("/readyz")
        scored = c.post("/v1/score", headers=AUTH, content=b"[]")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not ready"
    assert not body["checks"]["model"]["ok"]
    assert "missing.onnx" in body["checks"]["model"]["detail"]
    assert not body["checks"]["kafka"]["ok"]
    assert scored.status_code == 503
    assert scored.json()["error"] == "model_unavailable"


@pytest.mark.broker
def test_readyz_passes_with_the_broker_and_the_shipped_model(kafka_bootstrap: str) -> None:
    with client(kafka_bootstrap=kafka_bootstrap) as c:
        answer = c.get("/readyz")
    body = answer.json()
    if not body["checks"]["model"]["ok"]:
        pytest.skip(f"no shipped model yet: {body['checks']['model']['detail']}")
    assert answer.status_code == 200, body
    assert body["status"] == "ready"
    assert body["checks"]["kafka"]["ok"]


def _samples(text: str, name: str) -> dict[tuple[str, str, str], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                labels = sample.labels
                out[(labels["route"], labels["method"], labels["status"])] = sample.value
    return out


def test_metrics_count_requests_by_route_template_and_status() -> None:
    with client() as c:
        for user in ("a", "b", "c"):
            c.get(f"/v1/users/{user}/alerts")  # 401: no key
        c.get("/healthz")
        c.get("/no/such/page")
        text = c.get("/metrics").text
    counts = _samples(text, "lifeup_http_requests_total")
    assert counts[("/v1/users/{user_id}/alerts", "GET", "401")] == 3
    assert counts[("/healthz", "GET", "200")] == 1
    assert counts[("<unmatched>", "GET", "404")] == 1
    latency = _samples(text, "lifeup_http_request_duration_seconds_count")
    assert latency[("/v1/users/{user_id}/alerts", "GET", "401")] == 3
    assert not any(route.startswith("/v1/users/a") for route, _, _ in counts)


def test_openapi_documents_every_contract_endpoint_with_security() -> None:
    with client() as c:
        spec = c.get("/openapi.json").json()
    paths = spec["paths"]
    for path, method in [
        ("/v1/score", "post"),
        ("/detect_anomalies/", "post"),
        ("/v1/events", "post"),
        ("/v1/users/{user_id}/alerts", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ]:
        assert method in paths[path], path
    assert paths["/v1/score"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in paths["/healthz"]["get"]
    example = paths["/v1/events"]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert example[0]["dataTypeName"] == "com.google.step_count.delta"


def test_lifeup_api_command_serves_on_the_given_loopback_port() -> None:
    import os
    import subprocess
    import sys
    import time

    import httpx

    from tests.test_api_support import KEY, closed_port

    port = closed_port()
    env = {
        **os.environ,
        "LIFEUP_API_KEYS": KEY,
        "LIFEUP_KAFKA_BOOTSTRAP": f"127.0.0.1:{closed_port()}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "stream.cli", "api", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert answer.json() == {"status": "ok"}
        refused = httpx.post(f"http://127.0.0.1:{port}/v1/score", content=b"[]", timeout=5)
        assert refused.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_start_up_objects_are_frozen_out_of_the_collectors_reach() -> None:
    """A full collection walking every module and the model landed inside a request (p99)."""
    import gc

    gc.unfreeze()
    try:
        with client():
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
