"""The contract's alert: exact fields, RFC 3339 times with Z, deterministic ids."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from stream.alerts import Alert, alert_id, alerts_for, make_alert, ns_to_rfc3339, rfc3339
from stream.scoring.base import WindowScore
from stream.scoring.detector import load_detector
from tests.scoring_cases import CASES, normal_walk

CONTRACT_KEYS = {
    "alert_id",
    "user_id",
    "window_start",
    "window_end",
    "score",
    "threshold",
    "reasons",
    "channels",
    "model_version",
    "detected_at",
}
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def test_alert_has_exactly_the_contract_fields() -> None:
    window = CASES["cadence_above_human_limit"]()
    verdict = load_detector().score([window])[0]
    alert = make_alert(window, verdict, "ae-test", datetime(2026, 11, 24, 10, 0, 0, 123000, UTC))
    data = json.loads(alert.to_json())
    assert set(data) == CONTRACT_KEYS
    assert data["window_start"] == "2024-03-01T14:00:00Z"
    assert data["window_end"] == "2024-03-01T15:00:00Z"
    assert data["detected_at"] == "2026-11-24T10:00:00.123Z"
    assert data["threshold"] == 1.0
    assert data["reasons"][0] == "cadence_above_human_limit"
    assert set(data["channels"]) == {"steps", "distance", "speed"}
    assert data["score"] >= 1.0 and data["model_version"] == "ae-test"
    assert Alert.from_dict(data) == alert


def test_alert_id_is_deterministic_per_user_window_and_model() -> None:
    base = alert_id("u-42", 1, 2, "ae-1")
    assert base == alert_id("u-42", 1, 2, "ae-1")
    assert len({base, alert_id("u-43", 1, 2, "ae-1"), alert_id("u-42", 1, 3, "ae-1")}) == 3
    assert alert_id("u-42", 1, 2, "ae-2") != base
    # Detection time and score never change the id: a re-sent alert is recognisable.
    window = CASES["manual_entry"]()
    a = make_alert(window, WindowScore(2.0), "v", datetime(2026, 1, 1, tzinfo=UTC))
    b = make_alert(window, WindowScore(3.0), "v", datetime(2026, 1, 2, tzinfo=UTC))
    assert a.alert_id == b.alert_id


def test_only_anomalous_windows_become_alerts() -> None:
    windows = [normal_walk(0), CASES["gps_teleport"](), CASES["replayed_activity"]()]
    detector = load_detector()
    verdicts = list(zip(windows, detector.score(windows), strict=True))
    alerts = alerts_for(verdicts, detector.version)
    assert [a.reasons[0] for a in alerts] == ["gps_teleport", "replayed_activity"]
    other_user = dataclasses.replace(windows[1], user_id="u-2")
    assert alerts_for([(other_user, verdicts[1][1])], detector.version)[0].alert_id != (
        alerts[0].alert_id
    )


PLUS_5 = st.just(timezone(timedelta(hours=5)))
LOW = datetime(2000, 1, 1)  # noqa: DTZ001 (hypothesis wants naive bounds, zones come from PLUS_5)
HIGH = datetime(2100, 1, 1)  # noqa: DTZ001


@given(st.datetimes(min_value=LOW, max_value=HIGH, timezones=PLUS_5))
def test_rfc3339_is_utc_with_z(aware: datetime) -> None:
    text = rfc3339(aware)
    assert RFC3339_Z.match(text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert abs(parsed - aware) < timedelta(milliseconds=1)


def test_nanoseconds_to_rfc3339() -> None:
    assert ns_to_rfc3339(1_709_301_600_000_000_000) == "2024-03-01T14:00:00Z"
    assert ns_to_rfc3339(1_709_301_600_123_456_789) == "2024-03-01T14:00:00.123Z"
