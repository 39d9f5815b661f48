"""``POST /detect_anomalies/``: the earlier API's request, answered by LifeUp's detector."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from stream.api.legacy import MAX_DELTA_NS, delta_spans, to_events
from stream.api.models import DetectAnomaliesRequest, DetectAnomaliesResponse
from tests.test_api_support import AUTH, TAKEOUT, scoring_client

HOUR_NS = 1_709_301_600 * 10**9
JSON = {**AUTH, "content-type": "application/json"}


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with scoring_client() as test_client:
        yield test_client


def _series(path_part: str) -> dict[str, list[Any]]:
    """One Takeout stream as the earlier API's users sent it: each point's value, stamped with
    its startTimeNanos (one series per channel, from Google's merged stream)."""
    (path,) = TAKEOUT.glob(f"*{path_part}")
    points = json.loads(path.read_text())["Data Points"]
    values = [next(iter(p["fitValue"][0]["value"].values())) for p in points]
    return {"values": values, "timestamps": [int(p["startTimeNanos"]) for p in points]}


@pytest.mark.skipif(not TAKEOUT.is_dir(), reason="../shared/data is absent")
def test_takeout_request_as_the_earlier_users_sent_it(api: TestClient) -> None:
    request = {
        "step_count": _series("step_count.delta_com.google(2).json"),  # merge_step_deltas
        "distance": _series("distance.delta_com.google.a(3).json"),  # merge_distance_delta
        "speed": _series("speed_com.google.android.gm.json"),  # merge_speed
    }
    answer = api.post("/detect_anomalies/", headers=JSON, content=orjson.dumps(request))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["anomalies_detected"] == int(any(w["anomalous"] for w in body["windows"]))
    assert body["windows"]
    assert sum(w["totals"]["steps"] for w in body["windows"]) == sum(
        request["step_count"]["values"]
    )
    metres = sum(w["totals"]["distance_m"] for w in body["windows"])
    assert metres == pytest.approx(sum(request["distance"]["values"]), rel=1e-9)
    speed = sum(w["totals"]["speed_samples"] for w in body["windows"])
    assert speed == len(request["speed"]["values"])

    events = to_events(DetectAnomaliesRequest.model_validate(request))
    scored = api.post("/v1/score", headers=AUTH, content=orjson.dumps(events)).json()
    assert [w["score"] for w in scored["windows"]] == [w["score"] for w in body["windows"]]


def test_a_shaken_phone_in_the_old_request_is_detected(api: TestClient) -> None:
    starts = [HOUR_NS + m * 60 * 10**9 for m in range(25)]
    request = {"step_count": {"values": [330 + m % 3 for m in range(25)], "timestamps": starts}}
    body = api.post("/detect_anomalies/", headers=JSON, content=orjson.dumps(request)).json()
    assert body["anomalies_detected"] == 1
    assert "cadence_above_human_limit" in body["windows"][0]["reasons"]
    assert body["windows"][0]["user_id"] == "detect-anomalies"
    # built as plain JSON (no pydantic on the way out): the documented model must still fit it
    assert DetectAnomaliesResponse.model_validate(body).model_dump(mode="json") == body


def test_an_ordinary_walk_in_the_old_request_is_not_flagged(api: TestClient) -> None:
    starts = [HOUR_NS + m * 60 * 10**9 for m in range(25)]
    request = {
        "step_count": {"values": [95 + (m * 7) % 13 for m in range(25)], "timestamps": starts},
        "distance": {"values": [70.0 + (m * 5) % 9 for m in range(25)], "timestamps": starts},
        "user_id": "walker",
    }
    body = api.post("/detect_anomalies/", headers=JSON, content=orjson.dumps(request)).json()
    assert body["anomalies_detected"] == 0, body
    assert body["windows"][0]["user_id"] == "walker"


def test_fractional_steps_are_refused_with_the_parsers_code(api: TestClient) -> None:
    request = {"step_count": {"values": [2.5], "timestamps": [HOUR_NS]}}
    answer = api.post("/detect_anomalies/", headers=JSON, content=orjson.dumps(request))
    assert answer.status_code == 422
    assert answer.json()["rejections"][0]["code"] == "bad_type"


def test_a_body_that_is_not_json_is_invalid_json_with_the_place(api: TestClient) -> None:
    answer = api.post("/detect_anomalies/", headers=JSON, content=b'{"speed": nope}')
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_json"  # as /v1/score answers it
    assert "at character 10" in answer.json()["detail"]


@given(st.lists(st.integers(0, 4 * 3600), min_size=1, max_size=50))
def test_delta_spans_never_overlap_nor_exceed_one_bin(offsets_s: list[int]) -> None:
    starts = np.sort(np.asarray(offsets_s, dtype=np.int64) * 10**9 + HOUR_NS)
    ends = delta_spans(starts)
    assert (ends >= starts).all()
    assert (ends - starts <= MAX_DELTA_NS).all()
    assert (ends[:-1] <= starts[1:]).all()
    close = np.diff(starts) <= MAX_DELTA_NS
    assert (ends[:-1][close] == starts[1:][close]).all()  # abutting points are restored exactly
