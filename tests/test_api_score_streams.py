"""``/v1/score`` regroups a user-day of small Datasets by stream before parsing (a speed-up):
the answer must be the one event-by-event parsing gives, and rejections keep their event."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from bench.api import one_user_day
from stream.api import convert
from stream.api.errors import ApiError
from stream.api.routes.score import score_body
from stream.scoring.detector import load_detector
from tests.test_api_support import settings


@pytest.fixture(scope="module")
def detector() -> Any:
    try:
        return load_detector()
    except Exception as exc:  # no shipped model in this checkout
        pytest.skip(f"no loadable model: {exc}")


def _score(events: list[Any], detector: Any) -> bytes:
    return score_body(orjson.dumps(events), detector, settings(), True)


def test_user_day_regrouped_by_stream(detector: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    events = one_user_day()
    streams = convert.by_stream(events, None)
    assert streams is not None and len(streams) < len(events)
    assert sum(len(s["point"]) for s in streams) == sum(len(e["point"]) for e in events)
    grouped = _score(events, detector)
    monkeypatch.setattr(convert, "by_stream", lambda events, user: None)
    assert grouped == _score(events, detector)
    assert orjson.loads(grouped)["windows"]


def test_other_shapes_are_not_regrouped() -> None:
    events = one_user_day()
    assert convert.by_stream([*events, {"dataTypeName": "x"}], None) is None
    assert convert.by_stream([{**events[0], "user_id": 5}, events[1]], None) is None
    assert convert.by_stream([{**events[0], "dataSourceId": ""}, events[1]], None) is None
    assert convert.by_stream(events[:1], None) is None


def test_rejection_keeps_its_event_index(detector: Any) -> None:
    events = one_user_day()
    broken = orjson.loads(orjson.dumps(events[3]))
    broken["point"][0]["endTimeNanos"] = "soon"
    events[3] = broken
    with pytest.raises(ApiError) as caught:
        _score(events, detector)
    assert [(r.index, r.code) for r in caught.value.body.rejections] == [(3, "bad_type")]
