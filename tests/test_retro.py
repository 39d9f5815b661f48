"""Retroactive alerts: a shaker switched on at 14:55 alerts 14:00 once 15:00 has seen it whole.

A walker's day (minute step points with a walker's varying cadence) with a steady shaker from
14:55 to 15:35. The step point of 15:20 arrives before those after 15:04 (out of order, within
the lateness) and moves event time on, so 14:00 closes holding ten minutes of the shaker: too
short to be judged. 15:00 sees the bout whole and, through its look-behind, that it began at
14:55: the carry rule (``stream.scoring.retro``) then alerts 14:00 in ``lifeup score``, the
worker and the API, with the same alert id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from confluent_kafka import Producer
from fastapi.testclient import TestClient

from stream.alerts import alert_id, alerts_for
from stream.api.app import create_app
from stream.kafka import ensure_topics, producer_config
from stream.parsing import parse_obj
from stream.pipeline import OfflineRun, score_results
from stream.scoring.base import WindowScore
from stream.scoring.detector import Detector, load_detector
from stream.scoring.retro import carry, carry_back
from stream.settings import Settings
from stream.windows import Window, WindowTotals
from tests.conftest import TopicReader, WorkerProcess, worker_env
from tests.test_api_support import AUTH, settings

NS = 1_000_000_000
DAY_S = 1_772_409_600  # 2026-03-02T00:00:00Z
HOUR_S = 3600
SHAKEN_HOUR = 14  # the hour the shaker is switched on in
STEPS_SOURCE = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"


def _step(user: str, start_s: int, steps: int, seconds: int = 60) -> dict[str, Any]:
    return {
        "user_id": user,
        "dataTypeName": "com.google.step_count.delta",
        "startTimeNanos": str(start_s * NS),
        "endTimeNanos": str((start_s + seconds) * NS),
        "value": [{"intVal": steps}],
        "originDataSourceId": STEPS_SOURCE,
    }


def walker_minutes(seed: int, quiet: tuple[int, int]) -> dict[int, int]:
    """Minute of the day -> steps: a walker's day, 07:00 to 22:00, bouts of 2 to 25 minutes at
    80 to 120 steps/min varying minute to minute, a few steps between; nothing in the minutes
    ``quiet`` (the user sits down)."""
    rng = np.random.default_rng(seed)
    out: dict[int, int] = {}
    minute = 7 * 60
    while minute < 22 * 60:
        if rng.random() < 0.3:
            cadence = rng.uniform(80, 120)
            for m in range(minute, minute + int(rng.integers(2, 26))):
                out[m] = max(1, int(rng.normal(cadence, 9)))
            minute += int(rng.integers(2, 26))
        else:
            out[minute] = int(rng.integers(1, 15))
            minute += int(rng.integers(3, 20))
    return {m: n for m, n in out.items() if not quiet[0] <= m < quiet[1] and m < 22 * 60}


def shaken_day(user: str, on_s: int, off_s: int, *, seed: int, early_s: int | None) -> list[Any]:
    """The walker's day with a shaker from ``on_s`` to ``off_s`` (seconds into the day, 118/119
    steps a minute, a partial first minute pro rata), in time order; with ``early_s``, the step
    point starting at that second arrives five minutes into the next hour."""
    quiet = (on_s // 60 - 3, off_s // 60 + 3)
    minutes = walker_minutes(seed, quiet)
    for k, m in enumerate(range(on_s // 60, -(-off_s // 60))):
        share = (min(off_s, (m + 1) * 60) - max(on_s, m * 60)) / 60
        minutes[m] = round((118 + k % 2) * share)
    events: list[Any] = [_step(user, DAY_S + 60 * m, n) for m, n in sorted(minutes.items())]
    if early_s is not None:
        cut = DAY_S + (SHAKEN_HOUR + 1) * HOUR_S + 5 * 60
        early = next(e for e in events if int(e["startTimeNanos"]) == (DAY_S + early_s) * NS)
        events.remove(early)
        at = next(i for i, e in enumerate(events) if int(e["startTimeNanos"]) >= cut * NS)
        events.insert(at, early)
    return events


H = SHAKEN_HOUR * HOUR_S
RETRO = ("u-retro", H + 55 * 60, H + 95 * 60, 5, H + HOUR_S + 20 * 60)  # on at 14:55, 40 min
TWICE = ("u-twice", H + 30 * 60, H + 100 * 60, 6, None)  # on at 14:30: 14:00 is judged itself
LATE = ("u-late", H + 57 * 60 + 30, H + 97 * 60, 8, None)  # on at 14:57:30
CALM = "u-calm"


def _day(case: tuple[str, int, int, int, int | None]) -> list[Any]:
    user, on_s, off_s, seed, early_s = case
    return shaken_day(user, on_s, off_s, seed=seed, early_s=early_s)


def _calm_day() -> list[Any]:
    return [_step(CALM, DAY_S + 60 * m, n) for m, n in sorted(walker_minutes(9, (0, 0)).items())]


def _hour_id(detector: Detector, user: str, hour: int = SHAKEN_HOUR) -> str:
    start = (DAY_S + hour * HOUR_S) * NS
    return alert_id(user, start, start + HOUR_S * NS, detector.version)


def _verdict(run: OfflineRun, user: str, hour: int) -> WindowScore:
    start = (DAY_S + hour * HOUR_S) * NS
    return next(v for w, v in run.verdicts if w.user_id == user and w.start_ns == start)


@pytest.fixture(scope="module")
def detector() -> Detector:
    return load_detector()


def _offline(detector: Detector, events: list[Any]) -> OfflineRun:
    return score_results((parse_obj(e) for e in events), detector, detector.grid)


# ------------------------------------------------------------------ the rule itself


def _window(start_s: int) -> Window:
    values = np.zeros((3, 60), dtype=np.float32)
    return Window("u", start_s * NS, (start_s + HOUR_S) * NS, values, values > 0,
                  WindowTotals(0, 0.0, 0))  # fmt: skip


def test_carry_gives_the_back_finding_only_to_a_window_not_alerted() -> None:
    back = WindowScore(2.5, {"steps": 1.0, "distance": 0.0, "speed": 0.0}, ("x",))
    verdict = WindowScore(3.0, dict(back.channels), ("x", "y"), back=back)
    retro = carry(verdict, previous_alerted=False)
    assert retro is not None and retro.carried and retro.anomalous
    assert (retro.score, retro.reasons, retro.channels) == (2.5, ("x",), back.channels)
    assert carry(verdict, previous_alerted=True) is None
    assert carry(WindowScore(3.0), previous_alerted=False) is None


def test_carry_back_replaces_only_the_adjacent_previous_verdict() -> None:
    back = WindowScore(2.0, {}, ("x",))
    carrying = WindowScore(2.0, {}, ("x",), back=back)
    quiet = WindowScore(0.2)
    run = [(_window(0), quiet), (_window(2 * HOUR_S), quiet), (_window(3 * HOUR_S), carrying)]
    out = carry_back(run)
    assert out[0] == run[0] and out[2] == run[2]
    assert out[1][1].carried and out[1][1].reasons == ("x",)
    gap = [(_window(0), quiet), (_window(2 * HOUR_S), carrying)]  # no window 1:00: no carry
    assert carry_back(gap) == gap


# ------------------------------------------------------------------ lifeup score, the API


def test_score_alerts_the_hour_the_shaker_was_switched_on_in(detector: Detector) -> None:
    run = _offline(detector, _day(RETRO))
    shaken = _verdict(run, "u-retro", SHAKEN_HOUR)
    carrying = _verdict(run, "u-retro", SHAKEN_HOUR + 1)
    assert carrying.anomalous and carrying.back is not None
    assert shaken.carried and shaken.anomalous
    assert "cadence_without_variation" in shaken.reasons
    assert shaken.score >= carrying.back.score >= 1.0
    assert shaken.channels == carrying.channels
    ids = [a.alert_id for a in alerts_for(run.verdicts, detector.version)]
    assert ids.count(_hour_id(detector, "u-retro")) == 1


def test_without_the_carry_the_hour_would_be_missed(detector: Detector) -> None:
    """The case is the diagnosed miss: 14:00 alone holds too little of the bout."""
    from model_export.eval.labels import build_windows

    windows = build_windows(_day(RETRO), detector.grid)
    start = (DAY_S + H) * NS
    alone = detector.score([w for w in windows if w.start_ns == start])[0]
    assert not alone.anomalous


def test_an_hour_alerted_itself_gets_no_second_alert(detector: Detector) -> None:
    run = _offline(detector, _day(TWICE))
    shaken = _verdict(run, "u-twice", SHAKEN_HOUR)
    carrying = _verdict(run, "u-twice", SHAKEN_HOUR + 1)
    assert shaken.anomalous and not shaken.carried
    assert carrying.back is not None  # the bout did begin there, but 14:00 was alerted
    ids = [a.alert_id for a in alerts_for(run.verdicts, detector.version)]
    assert ids.count(_hour_id(detector, "u-twice")) == 1


def test_a_walkers_day_carries_nothing(detector: Detector) -> None:
    run = _offline(detector, _calm_day())
    assert run.verdicts and not any(v.anomalous or v.back for _, v in run.verdicts)


def test_normal_windows_carry_nothing_back(detector: Detector) -> None:
    from tests.scoring_cases import simulated_normal

    verdicts = detector.score(list(simulated_normal()))
    assert not any(v.back is not None or v.carried for v in verdicts)


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with TestClient(create_app(settings())) as client:
        yield client


def _answer(api: TestClient, body: Any, path: str = "/v1/score") -> dict[str, Any]:
    headers = {**AUTH, "content-type": "application/json"}
    response = api.post(path, content=orjson.dumps(body), headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _entry(answer: dict[str, Any], user: str, hour: int = SHAKEN_HOUR) -> dict[str, Any]:
    start = f"2026-03-02T{hour:02d}:00:00Z"
    return next(w for w in answer["windows"] if w["user_id"] == user and w["window_start"] == start)


def test_the_api_alerts_the_same_hour_with_the_same_id(api: TestClient, detector: Detector) -> None:
    """A request is buffered whole, so 14:00 sees 16 minutes ahead: 21 minutes of the shaker
    from 14:55, enough to be judged itself. Same window, same id either way."""
    entry = _entry(_answer(api, _day(RETRO)), "u-retro")
    assert entry["anomalous"] and entry["alert_id"] == _hour_id(detector, "u-retro")


def test_the_api_carries_back_what_the_hour_cannot_see(api: TestClient, detector: Detector) -> None:
    """Switched on at 14:57:30, the first steady 20 minutes end after 14:00's look-ahead; the
    answer says which reasons were carried back from 15:00, in both endpoints' windows."""
    entry = _entry(_answer(api, _day(LATE)), "u-late")
    assert entry["anomalous"] and entry["alert_id"] == _hour_id(detector, "u-late")
    assert entry["carried_reasons"] == entry["reasons"]
    assert "cadence_without_variation" in entry["carried_reasons"]
    assert _entry(_answer(api, _day(LATE)), "u-late", SHAKEN_HOUR + 1)["carried_reasons"] == []
    assert _entry(_answer(api, _calm_day()), CALM, 12)["carried_reasons"] == []
    offline = _verdict(_offline(detector, _day(LATE)), "u-late", SHAKEN_HOUR)
    assert offline.carried and list(offline.reasons) == entry["reasons"]


def test_the_earlier_apis_request_carries_back_too(api: TestClient, detector: Detector) -> None:
    steps = [e for e in _day(LATE) if e["dataTypeName"] == "com.google.step_count.delta"]
    request = {
        "user_id": "u-late",
        "step_count": {
            "values": [e["value"][0]["intVal"] for e in steps],
            "timestamps": [int(e["startTimeNanos"]) for e in steps],
        },
    }
    answer = _answer(api, request, "/detect_anomalies/")
    assert answer["anomalies_detected"] == 1
    entry = _entry(answer, "u-late")
    assert entry["alert_id"] == _hour_id(detector, "u-late")
    assert "cadence_without_variation" in entry["carried_reasons"]


# ------------------------------------------------------------------ the worker


@pytest.mark.broker
@pytest.mark.slow
def test_the_worker_sends_the_retroactive_alerts_lifeup_score_sends(
    kafka_bootstrap: str, tmp_path: Path, detector: Detector
) -> None:
    events = _day(RETRO) + _day(TWICE) + _calm_day()
    expected = {
        a.alert_id: a.to_dict() for a in alerts_for(_offline(detector, events).verdicts,
                                                    detector.version)
    }  # fmt: skip
    assert _hour_id(detector, "u-retro") in expected
    env = worker_env(kafka_bootstrap, f"retro-{tmp_path.name[-6:]}", tmp_path)
    settings_ = Settings.model_validate({"kafka_bootstrap": kafka_bootstrap})
    topics = [env[f"LIFEUP_{n}_TOPIC"] for n in ("EVENTS", "ALERTS")]
    ensure_topics(settings_, topics, partitions=4)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    reader = TopicReader(kafka_bootstrap, topics[1:])
    try:
        producer = Producer(producer_config(settings_))
        for event in events:
            producer.produce(topics[0], key=event["user_id"].encode(), value=orjson.dumps(event))
            producer.poll(0)
        assert producer.flush(30) == 0

        def sent() -> list[dict[str, Any]]:
            return [orjson.loads(v) for _, v in reader.of(topics[1])]

        done = reader.wait_for(lambda: {a["alert_id"] for a in sent()} >= set(expected), 90)
        assert done, worker.log()
        reader.wait_for(lambda: False, 2.0)  # anything extra would show up now
        got = sent()
        assert len(got) == len({a["alert_id"] for a in got})  # none sent twice
        assert {a["alert_id"]: _facts(a) for a in got} == {
            k: _facts(a) for k, a in expected.items()
        }
        retro = next(a for a in got if a["alert_id"] == _hour_id(detector, "u-retro"))
        assert "cadence_without_variation" in retro["reasons"] and retro["score"] >= 1.0
        assert not any(a["user_id"] == CALM for a in got)
    finally:
        reader.close()
        worker.stop()


def _facts(alert: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in alert.items() if k != "detected_at"}
