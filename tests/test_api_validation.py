"""Bad input answers 4xx with what to change (the parser's codes), never 5xx; limits 413."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.test_api_support import AUTH, client, step_point

HOUR = 1_709_301_600  # 2024-03-01T14:00:00Z


def _post(path: str, body: bytes, **overrides: Any) -> tuple[int, dict[str, Any]]:
    with client(**overrides) as c:
        answer = c.post(path, headers={**AUTH, "content-type": "application/json"}, content=body)
    return answer.status_code, answer.json()


@pytest.mark.parametrize("path", ["/v1/score", "/v1/events"])
def test_body_over_the_limit_is_413_naming_the_setting(path: str) -> None:
    body = orjson.dumps([step_point("u", HOUR + 60 * i, 60, 80) for i in range(40)])
    status, answer = _post(path, body, api_max_body_bytes=len(body) - 1)
    assert status == 413
    assert "LIFEUP_API_MAX_BODY_BYTES" in answer["detail"]
    assert f"{len(body):,}" in answer["detail"]


def test_chunked_body_over_the_limit_is_413() -> None:
    chunks = [b"[" + b" " * 500] * 4 + [b"]"]
    with client(api_max_body_bytes=1000) as c:
        answer = c.post("/v1/events", headers=AUTH, content=iter(chunks))
    assert answer.status_code == 413
    assert answer.json()["error"] == "too_large"
    assert "LIFEUP_API_MAX_BODY_BYTES" in answer.json()["detail"]
    assert "grew past it as it streamed" in answer.json()["detail"]  # no size to quote


def test_too_many_points_is_413_naming_the_setting() -> None:
    body = orjson.dumps([step_point("u", HOUR + 60 * i, 60, 80) for i in range(6)])
    status, answer = _post("/v1/events", body, api_max_points=5)
    assert status == 413
    assert answer["error"] == "too_many_points"
    assert "LIFEUP_API_MAX_POINTS" in answer["detail"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "empty_body"),
        (b"{not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"[1, 2]", "invalid_events"),
        (b'"text"', "invalid_events"),
    ],
)
def test_undecodable_bodies_are_422(body: bytes, error: str) -> None:
    status, answer = _post("/v1/events", body)
    assert status == 422
    assert answer["error"] == error


def _broken(**changes: Any) -> dict[str, Any]:
    event = step_point("u-1", HOUR, 60, 80)
    event.update(changes)
    return event


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (_broken(value=[{"intVal": -5}]), "negative_value"),
        (_broken(user_id=None), "missing_user_id"),
        (_broken(endTimeNanos=str((HOUR - 60) * 1_000_000_000)), "end_before_start"),
        (_broken(startTimeNanos="100", endTimeNanos="200"), "time_out_of_range"),
        ({"user_id": "u-1", "hello": "world"}, "unknown_shape"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/events", "/v1/score"])
def test_rejected_events_are_422_with_the_parser_code_and_index(
    path: str, event: dict[str, Any], code: str
) -> None:
    good = step_point("u-1", HOUR + 600, 60, 80)
    status, answer = _post(path, orjson.dumps([good, event]))
    if status == 503:  # /v1/score without a loadable model says so before reading the body
        pytest.skip(answer["detail"])
    assert status == 422, answer
    assert answer["error"] == "invalid_events"
    assert [(r["index"], r["code"]) for r in answer["rejections"]] == [(1, code)]
    assert code in answer["detail"]


def test_legacy_request_with_unpaired_series_is_422() -> None:
    body = {"step_count": {"values": [1, 2, 3], "timestamps": [1]}}
    status, answer = _post("/detect_anomalies/", orjson.dumps(body))
    if status == 503:
        pytest.skip(answer["detail"])
    assert status == 422
    assert answer["rejections"][0]["code"] == "length_mismatch"
    assert "step_count: 3 values but 1 timestamps" in answer["rejections"][0]["detail"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"speed": {"values": [1.0], "timestamps": [-5]}}',
        b'{"speed": {"values": "fast", "timestamps": []}}',
        b'{"speed": {"values": [NaN], "timestamps": [1709301600000000000]}}',
        b'{"speed": {"values": [1], "timestamps": [1e40]}}',
        b"[]",
    ],
)
def test_legacy_request_of_wrong_types_is_422(body: bytes) -> None:
    with client() as c:
        answer = c.post(
            "/detect_anomalies/", headers={**AUTH, "content-type": "application/json"}, content=body
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_request"
