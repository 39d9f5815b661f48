"""Every contract shape through the real parser; every rejection code on an input that earns it."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from stream.parsing import CODES, parse_message, parse_obj
from stream.points import Channel, ParseResult

NOW = 1_764_000_000 * 10**9  # 2025-11-24, fixed so time checks do not depend on the clock
START = 1_709_302_115_648_590_535
MIN = 60 * 10**9
STEPS = "com.google.step_count.delta"
DISTANCE = "com.google.distance.delta"
SPEED = "com.google.speed"
ESTIMATED = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"


def point(
    start: int = START, minutes: int = 1, steps: Any = 20, *, as_str: bool = True, **extra: Any
) -> dict[str, Any]:
    end = start + minutes * MIN
    body = {
        "dataTypeName": STEPS,
        "startTimeNanos": str(start) if as_str else start,
        "endTimeNanos": str(end) if as_str else end,
        "value": [{"intVal": steps}],
        "originDataSourceId": ESTIMATED,
    }
    body.update(extra)
    return body


def parse(obj: object, key: bytes | None = None) -> ParseResult:
    return parse_message(orjson.dumps(obj), key, now_ns=NOW)


def codes(result: ParseResult) -> list[str]:
    return [r.code for r in result.rejections]


def only_batch(result: ParseResult) -> Any:
    assert not result.rejections, result.rejections
    assert len(result.batches) == 1
    return result.batches[0]


def test_single_point_contract_example() -> None:
    batch = only_batch(parse({"user_id": "u-42", **point()}))
    assert (batch.user_id, batch.channel, batch.source) == ("u-42", Channel.STEPS, ESTIMATED)
    assert batch.start_ns.tolist() == [START] and batch.end_ns.tolist() == [START + MIN]
    assert batch.value.tolist() == [20.0] and not batch.manual


@pytest.mark.parametrize("as_str", [True, False])
def test_nanos_as_strings_or_integers_give_the_same_point(as_str: bool) -> None:
    batch = only_batch(parse({"user_id": "u", **point(as_str=as_str)}))
    assert batch.start_ns.tolist() == [START]


def test_takeout_fit_value_in_place_of_value() -> None:
    body = point()
    del body["value"]
    body["fitValue"] = [{"value": {"intVal": 33}}]
    assert only_batch(parse({"user_id": "u", **body})).value.tolist() == [33.0]


def test_user_from_key_when_no_user_id_field() -> None:
    assert only_batch(parse(point(), key=b"k-7")).user_id == "k-7"
    assert only_batch(parse({"user_id": "own", **point()}, key=b"k-7")).user_id == "own"


def test_rest_dataset_is_one_columnar_batch_with_the_stream_as_source() -> None:
    pts = [point(START + i * MIN, as_str=i % 2 == 0, steps=i) for i in range(100)]
    stream = "derived:com.google.step_count.delta:com.google.android.gms:merge_step_deltas"
    batch = only_batch(parse({"user_id": "u", "dataSourceId": stream, "point": pts}))
    assert batch.source == stream and len(batch) == 100
    assert batch.value.tolist() == [float(i) for i in range(100)]
    assert batch.start_ns.dtype == np.int64 and batch.start_ns[-1] == START + 99 * MIN


def test_takeout_body_distance_and_speed() -> None:
    pts = [
        {
            "fitValue": [{"value": {"fpVal": 12.5}}],
            "dataTypeName": DISTANCE,
            "startTimeNanos": START,
            "endTimeNanos": START + MIN,
        },
    ]
    body = {
        "user_id": "u",
        "Data Source": "derived:com.google.distance.delta:x",
        "Data Points": pts,
    }
    batch = only_batch(parse(body))
    assert (batch.channel, batch.value.tolist()) == (Channel.DISTANCE, [12.5])
    speed = {**pts[0], "dataTypeName": SPEED, "endTimeNanos": START}
    body = {"user_id": "u", "Data Source": "derived:com.google.speed:x", "Data Points": [speed]}
    assert only_batch(parse(body)).channel == Channel.SPEED


def test_aggregate_response_buckets() -> None:
    source = "derived:com.google.step_count.delta:com.google.android.gms:aggregated"
    buckets = [
        {
            "startTimeMillis": str((START + h * 60 * MIN) // 10**6),
            "endTimeMillis": str((START + (h + 1) * 60 * MIN) // 10**6),
            "dataset": [{"dataSourceId": source, "point": [point(START + h * 60 * MIN, 60, 100)]}],
        }
        for h in range(3)
    ]
    result = parse({"user_id": "u", "bucket": buckets})
    assert not result.rejections
    assert sum(len(b) for b in result.batches) == 3
    assert {b.source for b in result.batches} == {source}


def test_health_connect_steps_distance_speed_and_manual_entry() -> None:
    meta = {"id": "x", "dataOrigin": "com.google.android.apps.fitness", "device": {"type": "PHONE"}}
    records = [
        {
            "user_id": "u",
            "recordType": "Steps",
            "startTime": "2024-03-01T08:00:00Z",
            "endTime": "2024-03-01T08:01:00Z",
            "count": 97,
            "metadata": {**meta, "recordingMethod": "AUTOMATICALLY_RECORDED"},
        },
        {
            "user_id": "u",
            "recordType": "Distance",
            "startTime": "2024-03-01T10:00:00+02:00",
            "endTime": "2024-03-01T10:01:00.250+02:00",
            "distance": {"inMeters": 72.5},
            "metadata": {**meta, "recordingMethod": "MANUAL_ENTRY"},
        },
        {
            "user_id": "u",
            "recordType": "Speed",
            "startTime": "2024-03-01T08:00:00Z",
            "endTime": "2024-03-01T08:01:00Z",
            "samples": [
                {"time": "2024-03-01T08:00:10.123456789Z", "speed": {"inMetersPerSecond": 1.4}},
                {"time": "2024-03-01T08:00:40Z", "speed": {"inMetersPerSecond": 1.5}},
            ],
            "metadata": meta,
        },
        {"user_id": "u", "recordType": "HeartRate", "samples": []},
    ]
    result = parse(records)
    assert not result.rejections and result.ignored == 1
    by_channel = {b.channel: b for b in result.batches}
    eight = 1_709_280_000 * 10**9  # 2024-03-01T08:00:00Z
    assert by_channel[Channel.STEPS].start_ns.tolist() == [eight]
    assert by_channel[Channel.STEPS].value.tolist() == [97.0]
    distance = by_channel[Channel.DISTANCE]
    assert distance.manual and distance.source.endswith(":user_input")
    assert distance.end_ns.tolist() == [eight + 60 * 10**9 + 250_000_000]
    speed = by_channel[Channel.SPEED]
    assert speed.start_ns.tolist() == [eight + 10_123_456_789, eight + 40 * 10**9]
    assert speed.source == "com.google.android.apps.fitness" and not speed.manual


def test_manual_google_fit_points_are_flagged_in_a_dataset() -> None:
    manual = "raw:com.google.step_count.delta:com.google.android.apps.fitness:user_input"
    pts = [point(START), point(START + MIN, originDataSourceId=manual)]
    result = parse({"user_id": "u", "dataSourceId": ESTIMATED, "point": pts})
    flags = sorted((b.manual, len(b)) for b in result.batches)
    assert flags == [(False, 1), (True, 1)]


def test_unknown_data_types_are_ignored_not_rejected() -> None:
    heart = {**point(), "dataTypeName": "com.google.heart_rate.bpm", "value": [{"fpVal": 70.0}]}
    result = parse([{"user_id": "u", **heart}, {"user_id": "u", **point()}])
    assert result.ignored == 1 and not result.rejections and result.point_count == 1
    body = {"user_id": "u", "Data Source": "raw:x", "Data Points": [heart] * 5}
    assert parse(body).ignored == 5


def test_broken_point_is_rejected_alone_the_rest_accepted() -> None:
    pts = [point(START + i * MIN) for i in range(10)]
    pts[3]["value"] = [{"intVal": -5}]
    pts[7]["endTimeNanos"] = str(START)
    result = parse({"user_id": "u", "dataSourceId": ESTIMATED, "point": pts})
    assert sorted(codes(result)) == ["end_before_start", "negative_value"]
    assert result.point_count == 8
    assert "point 3" in next(r.detail for r in result.rejections if r.code == "negative_value")


def rejected(obj_or_raw: object, key: bytes | None = b"u", **kwargs: Any) -> list[str]:
    raw = obj_or_raw if isinstance(obj_or_raw, bytes) else orjson.dumps(obj_or_raw)
    result = parse_message(raw, key, now_ns=NOW, **kwargs)
    assert result.point_count == 0
    return codes(result)


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (b"\xff\xfe{", "not_utf8"),
        (b'{"user_id": ', "invalid_json"),
        ("just text", "unknown_shape"),
        ([[1, 2]], "unknown_shape"),
        ({"hello": "world"}, "unknown_shape"),
        ({**point(), "value": [{"intVal": 2.5}]}, "bad_type"),
        ({**point(), "value": [{"intVal": "20"}]}, "bad_type"),
        ({**point(), "startTimeNanos": "soon"}, "bad_type"),
        ({k: v for k, v in point().items() if k != "endTimeNanos"}, "missing_field"),
        ({k: v for k, v in point().items() if k != "value"}, "missing_field"),
        (point(steps=-1), "negative_value"),
        ({**point(), "endTimeNanos": str(START - 1)}, "end_before_start"),
        (point(start=900_000_000 * 10**9), "time_out_of_range"),
        (point(start=NOW + 2 * 86_400 * 10**9), "time_out_of_range"),
        ({**point(), "startTimeNanos": "99999999999999999999"}, "time_out_of_range"),
        ({"user_id": 42, **point()}, "bad_type"),
        ({"dataSourceId": "x", "point": {"not": "a list"}}, "bad_type"),
    ],
)
def test_rejection_codes(event: object, code: str) -> None:
    assert rejected(event) == [code]
    assert code in CODES


def test_non_finite_values_are_rejected() -> None:
    distance = {**point(), "dataTypeName": DISTANCE, "value": [{"fpVal": float("nan")}]}
    assert codes(parse_obj(distance, "u", now_ns=NOW)) == ["non_finite"]
    distance["value"] = [{"fpVal": float("inf")}]
    body = {"user_id": "u", "dataSourceId": "derived:x", "point": [distance, point()]}
    result = parse_obj(body, now_ns=NOW)
    assert codes(result) == ["non_finite"] and result.point_count == 1


def test_message_level_codes() -> None:
    assert rejected(point(), key=None) == ["missing_user_id"]
    assert rejected(point(), max_bytes=10) == ["too_large"]
    many = {"dataSourceId": ESTIMATED, "point": [point()] * 100_001}
    assert codes(parse_obj(many, "u", now_ns=NOW)) == ["too_many_points"]


def test_health_connect_rejections() -> None:
    base = {"recordType": "Steps", "startTime": "2024-03-01T08:00:00Z"}
    assert rejected({**base, "endTime": "2024-03-01T08:01:00", "count": 1}) == ["bad_type"]
    assert rejected({**base, "endTime": "2024-03-01T07:00:00Z", "count": 1}) == ["end_before_start"]
    assert rejected({**base, "endTime": "2024-03-01T08:01:00Z"}) == ["missing_field"]
    assert rejected({**base, "endTime": "2024-03-01T08:01:00Z", "count": -3}) == ["negative_value"]
    assert rejected({**base, "endTime": "2024-02-30T08:01:00Z", "count": 1}) == ["bad_type"]


def test_health_connect_records_without_record_type_are_typed_by_their_fields() -> None:
    """react-native-health-connect's ``readRecords``/``getChanges`` leave ``recordType`` out
    (real outputs: a Steps record of 9 from Google Fit, a Fitbit Distance record)."""
    meta = {"dataOrigin": "com.fitbit.FitbitMobile", "recordingMethod": 0, "device": 0}
    times = {"startTime": "2024-03-01T08:00:00Z", "endTime": "2024-03-01T08:01:00Z"}
    steps = {"count": 9, **times, "metadata": meta}
    distance = {"distance": {"inMeters": 18.0, "inKilometers": 0.018}, **times, "metadata": meta}
    speed = {
        **times,
        "samples": [{"time": times["startTime"], "speed": {"inMetersPerSecond": 1.2}}],
    }
    heart = {**times, "samples": [{"time": times["startTime"], "beatsPerMinute": 70}]}
    bare = parse_obj({"user_id": "u", **steps}, None, now_ns=NOW)
    assert only_batch(bare).channel is Channel.STEPS and only_batch(bare).value.tolist() == [9.0]
    listed = parse_obj(
        {"user_id": "u", "records": [steps, distance, speed, heart]}, None, now_ns=NOW
    )
    assert not listed.rejections and listed.ignored == 1  # the heart rate, as a typed one
    assert sorted(b.channel.name for b in listed.batches) == ["DISTANCE", "SPEED", "STEPS"]
    manual = parse_obj(
        {"user_id": "u", **steps, "metadata": {**meta, "recordingMethod": 3}}, None, now_ns=NOW
    )
    assert only_batch(manual).manual
    # an object whose fields name no record type is no record
    assert codes(parse_obj({"user_id": "u", **times}, None, now_ns=NOW)) == ["unknown_shape"]


def test_data_point_changes_read_their_inserted_points() -> None:
    """A REST ``users.dataSources.dataPointChanges.list`` page (points from shimmer's tests)."""
    page = {
        "dataSourceId": ESTIMATED,
        "insertedDataPoint": [point(START, steps=4146), point(START + MIN, steps=17)],
        "deletedDataPoint": [point(START - MIN, steps=3)],
        "nextPageToken": "1436593407066",
    }
    result = parse_obj(page, "u", now_ns=NOW)
    batch = only_batch(result)
    assert (batch.source, batch.value.tolist(), result.ignored) == (ESTIMATED, [4146.0, 17.0], 1)
    assert not result.rejections


def test_session_summaries_are_ignored_not_rejected() -> None:
    """Takeout's ``All Sessions`` files sit beside ``All Data``: summaries of points it holds."""
    session = {
        "fitnessActivity": "walking", "startTime": "2024-10-15T21:49:22.997Z",
        "endTime": "2024-10-15T21:59:22.049Z", "duration": "599.052s",
        "aggregate": [{"metricName": "com.google.step_count.delta", "intValue": 1188}],
    }  # fmt: skip
    result = parse_obj(session, "u", now_ns=NOW)
    assert not result.rejections and not result.batches and result.ignored == 1
    page = parse_obj({"session": [session, session], "deletedSession": []}, "u", now_ns=NOW)
    assert not page.rejections and page.ignored == 2


def test_python_integers_beyond_int64_from_parse_obj() -> None:
    huge_time = {**point(), "startTimeNanos": 10**30}
    assert codes(parse_obj(huge_time, "u", now_ns=NOW)) == ["time_out_of_range"]
    huge_steps = point(steps=10**400)
    assert codes(parse_obj(huge_steps, "u", now_ns=NOW)) == ["bad_type"]
    stream = {"dataSourceId": ESTIMATED, "point": [huge_time, huge_steps, point()]}
    result = parse_obj(stream, "u", now_ns=NOW)
    assert sorted(codes(result)) == ["bad_type", "time_out_of_range"] and result.point_count == 1


def test_array_of_single_points_of_one_stream() -> None:
    pts = [{"user_id": "u", **point(START + i * MIN, steps=i)} for i in range(50)]
    batch = only_batch(parse(pts))
    assert (len(batch), batch.source, batch.value[-1]) == (50, ESTIMATED, 49.0)
    mixed = parse([*pts[:3], "text", {"user_id": "v", **point()}])
    assert codes(mixed) == ["unknown_shape"] and mixed.point_count == 4
    assert {b.user_id for b in mixed.batches} == {"u", "v"}
