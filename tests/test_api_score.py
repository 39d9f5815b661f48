"""``POST /v1/score`` and ``/v1/score/takeout``: the same verdicts as ``lifeup score``."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

from stream.alerts import alert_id
from stream.api import convert
from stream.api.app import create_app
from stream.api.models import ScoreResponse
from stream.parsing import in_event_time, parse_obj
from stream.pipeline import score_results
from stream.scoring.context import stack_context
from stream.scoring.detector import load_detector
from stream.windows import Window
from tests.test_api_support import AUTH, TAKEOUT, scoring_client, settings, walk_hour

HOUR = 1_709_301_600  # 2024-03-01T14:00:00Z


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with scoring_client() as test_client:
        yield test_client


def _events() -> list[dict[str, Any]]:
    return walk_hour("u-1", HOUR, 100, 30) + walk_hour("u-1", HOUR + 3600, 330, 20)


def _same_context(a: Window, b: Window) -> bool:
    """Whether the checks see the same bins around both windows."""
    return all(
        np.array_equal(x, y, equal_nan=True)
        for x, y in zip(stack_context([a]), stack_context([b]), strict=True)
    )


def test_score_gives_lifeup_scores_verdicts(api: TestClient) -> None:
    """Simulated users with injected cheats, through the API and through ``lifeup score``'s chain
    (event-time replay of the same events): the same windows, scores, reasons and totals."""
    from model_export.simulate import simulate

    sim = simulate(3, 1, seed=11)
    assert any(span.cheat for span in sim.spans)  # something to flag
    events = sim.events
    answer = api.post("/v1/score", headers=AUTH, content=orjson.dumps(events))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    detector = load_detector()
    offline = score_results(in_event_time(parse_obj(e) for e in events), detector, detector.grid)
    assert len(body["windows"]) == len(offline.verdicts) > 20
    assert body["model_version"] == detector.version
    assert any(w["anomalous"] for w in body["windows"])
    # The request is buffered whole, so each window's look-ahead (``Window.after``, the bins
    # after it that the checks see) is complete; a stream closes a window before the last
    # of those bins may have arrived. Verdicts must match wherever both saw the same bins.
    plan, grid = convert.request_plan(convert.parse_events(events)[0], detector.grid)
    whole = score_results(plan, detector, grid).verdicts
    same_context = 0
    for got, (window, verdict), (seen, _) in zip(
        body["windows"], offline.verdicts, whole, strict=True
    ):
        assert got["user_id"] == window.user_id
        assert got["window_start"] == window.start.strftime("%Y-%m-%dT%H:%M:%SZ")
        if not _same_context(window, seen):
            continue
        same_context += 1
        assert got["score"] == pytest.approx(verdict.score, rel=1e-5)
        assert got["reasons"] == list(verdict.reasons)
        assert got["anomalous"] == verdict.anomalous
        assert got["totals"]["steps"] == window.totals.steps
        assert got["totals"]["distance_m"] == pytest.approx(window.totals.distance_m, rel=1e-9)
        assert got["threshold"] == 1.0
    assert same_context >= len(whole) // 2  # most windows: the comparison is not vacuous


def test_answer_is_exactly_its_documented_model(api: TestClient) -> None:
    """The route writes its JSON without pydantic (for speed), so the model in the OpenAPI
    document must still describe it field for field: a round trip through it changes nothing."""
    from model_export.simulate import simulate

    events = simulate(3, 1, seed=11).events
    answer = api.post("/v1/score?series=true", headers=AUTH, content=orjson.dumps(events))
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    flagged = [w for w in body["windows"] if w["anomalous"]]
    assert flagged and all(w["alert_id"] for w in flagged)
    speeds = [v for w in body["windows"] for v in w["series"]["speed_mps"]]
    assert None in speeds and any(v is not None for v in speeds)
    assert ScoreResponse.model_validate(body).model_dump(mode="json") == body


def test_shaker_hour_is_flagged_with_its_reason_and_the_workers_alert_id(api: TestClient) -> None:
    body = api.post("/v1/score", headers=AUTH, content=orjson.dumps(_events())).json()
    normal, shaker = body["windows"]
    assert not normal["anomalous"]
    assert normal["alert_id"] is None
    assert shaker["anomalous"]
    assert "cadence_above_human_limit" in shaker["reasons"]
    start_ns = (HOUR + 3600) * 1_000_000_000
    version = body["model_version"]
    assert shaker["alert_id"] == alert_id("u-1", start_ns, start_ns + 3600 * 10**9, version)
    assert sum(shaker["channels"].values()) == pytest.approx(1.0, abs=1e-6)


def test_large_bodies_scored_in_a_thread_give_the_same_answer(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stream.api.routes import score

    content = orjson.dumps(_events())
    assert len(content) <= score.INLINE_MAX_BYTES
    on_loop = api.post("/v1/score", headers=AUTH, content=content)
    monkeypatch.setattr(score, "INLINE_MAX_BYTES", len(content) - 1)
    in_thread = api.post("/v1/score", headers=AUTH, content=content)
    assert on_loop.status_code == in_thread.status_code == 200
    assert on_loop.content == in_thread.content
    assert on_loop.json()["windows"]


def test_series_are_the_windows_bins(api: TestClient) -> None:
    events = walk_hour("u-1", HOUR, 100, 30)
    plain = api.post("/v1/score", headers=AUTH, content=orjson.dumps(events)).json()
    assert plain["windows"][0]["series"] is None
    body = api.post("/v1/score?series=true", headers=AUTH, content=orjson.dumps(events)).json()
    (window,) = body["windows"]
    series = window["series"]
    assert series["bin_seconds"] == 60
    assert len(series["steps"]) == len(series["distance_m"]) == len(series["speed_mps"]) == 60
    assert (
        sum(series["steps"])
        == window["totals"]["steps"]
        == sum(e["value"][0]["intVal"] for e in events)
    )
    assert all(v is None for v in series["speed_mps"])


def test_one_event_is_the_same_as_an_array_of_one(api: TestClient) -> None:
    event = walk_hour("u-1", HOUR, 100, 1)[0]
    single = api.post("/v1/score", headers=AUTH, content=orjson.dumps(event)).json()
    array = api.post("/v1/score", headers=AUTH, content=orjson.dumps([event])).json()
    assert single == array
    assert api.post("/v1/score", headers=AUTH, content=b"[]").json()["windows"] == []


def _takeout_zip(folder_name: str = "Takeout/Fit/All Data") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(TAKEOUT.glob("*.json")):
            archive.write(path, f"{folder_name}/{path.name}")
        archive.writestr("Takeout/Fit/All Sessions/x.json", json.dumps({"fitnessActivity": "walk"}))
    return buffer.getvalue()


@pytest.mark.skipif(not TAKEOUT.is_dir(), reason="../shared/data is absent")
def test_takeout_zip_upload_counts_each_step_once(api: TestClient) -> None:
    files = {"files": ("alice.zip", _takeout_zip(), "application/zip")}
    answer = api.post("/v1/score/takeout", headers=AUTH, files=files)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    one_source = json.loads(
        (TAKEOUT / "derived_com.google.step_count.delta_com.google.json").read_text()
    )
    steps = sum(p["fitValue"][0]["value"]["intVal"] for p in one_source["Data Points"])
    assert sum(w["totals"]["steps"] for w in body["windows"]) == steps
    assert {w["user_id"] for w in body["windows"]} == {"alice"}
    assert all(w["series"] is not None for w in body["windows"])
    assert body["rejections"] == []  # the sessions file sits outside All Data and is not read


@pytest.mark.skipif(not TAKEOUT.is_dir(), reason="../shared/data is absent")
def test_takeout_tgz_part_upload_reads_as_the_zip(api: TestClient) -> None:
    """Takeout also delivers .tgz, split in numbered parts: the part number is not the user."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(TAKEOUT.glob("*.json")):
            archive.add(path, f"Takeout/Fit/All Data/{path.name}")
    files = {"files": ("alice-002.tgz", buffer.getvalue(), "application/gzip")}
    tgz = api.post("/v1/score/takeout", headers=AUTH, files=files)
    assert tgz.status_code == 200, tgz.text
    zipped = {"files": ("alice.zip", _takeout_zip(), "application/zip")}
    assert (
        tgz.json()["windows"]
        == api.post("/v1/score/takeout", headers=AUTH, files=zipped).json()["windows"]
    )
    assert {w["user_id"] for w in tgz.json()["windows"]} == {"alice"}


@pytest.mark.skipif(not TAKEOUT.is_dir(), reason="../shared/data is absent")
def test_takeout_json_files_upload_with_a_user(api: TestClient) -> None:
    paths = sorted(TAKEOUT.glob("*step_count.delta*.json"))
    files = [("files", (p.name, p.read_bytes(), "application/json")) for p in paths]
    files.append(("files", ("broken.json", b"{oops", "application/json")))
    answer = api.post("/v1/score/takeout", headers=AUTH, files=files, data={"user": "bob"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {w["user_id"] for w in body["windows"]} == {"bob"}
    assert [r["code"] for r in body["rejections"]] == ["invalid_json"]
    assert "broken.json" in body["rejections"][0]["detail"]


def test_takeout_upload_errors(api: TestClient) -> None:
    not_zip = api.post(
        "/v1/score/takeout", headers=AUTH, files={"files": ("a.zip", b"PK no", "application/zip")}
    )
    assert not_zip.status_code == 422
    assert not_zip.json()["error"] == "invalid_zip"
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("Takeout/readme.txt", "nothing")
    nothing = api.post(
        "/v1/score/takeout",
        headers=AUTH,
        files={"files": ("b.zip", empty.getvalue(), "application/zip")},
    )
    assert nothing.status_code == 422
    assert nothing.json()["error"] == "no_points"
    missing = api.post("/v1/score/takeout", headers=AUTH)
    assert missing.status_code == 422


def test_zip_expanding_past_the_limit_is_413() -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("All Data/big.json", b"[" + b" " * 300_000 + b"]")
    with TestClient(create_app(settings(api_max_body_bytes=10_000))) as c:
        answer = c.post(
            "/v1/score/takeout",
            headers=AUTH,
            files={"files": ("c.zip", bomb.getvalue(), "application/zip")},
        )
    if answer.status_code == 503:
        pytest.skip(answer.json()["detail"])
    assert answer.status_code == 413
    assert "LIFEUP_API_MAX_BODY_BYTES" in answer.json()["detail"]


@pytest.mark.skipif(not TAKEOUT.is_dir(), reason="../shared/data is absent")
def test_upload_order_does_not_change_the_verdicts(api: TestClient) -> None:
    paths = sorted(TAKEOUT.glob("*.json"))
    bodies = []
    for ordered in (paths, paths[::-1]):
        files = [("files", (p.name, p.read_bytes(), "application/json")) for p in ordered]
        bodies.append(api.post("/v1/score/takeout", headers=AUTH, files=files).json())
    forward, backward = bodies
    assert forward["windows"] == backward["windows"]
    assert forward["events"]["late"] == backward["events"]["late"] == 0


def test_a_health_connect_record_updated_in_a_request_counts_once(api: TestClient) -> None:
    """A request holding both versions of a record updated in place (same ``metadata.id``), in
    either order: the hour holds the latest count (``stream.revisions``), not their sum."""
    meta = {"id": "r-7", "dataOrigin": "com.sec.android.app.shealth"}
    first, grown = (
        {"user_id": "u-9", "recordType": "Steps", "startTime": "2024-03-01T14:00:00Z",
         "endTime": end, "count": count, "metadata": meta}
        for end, count in (("2024-03-01T14:15:00Z", 800), ("2024-03-01T14:30:00Z", 1_500))
    )  # fmt: skip
    for events in ([first, grown], [grown, first]):
        body = api.post("/v1/score", headers=AUTH, content=orjson.dumps(events)).json()
        assert [w["totals"]["steps"] for w in body["windows"]] == [1_500]
        # one request is one arrival: its versions are taken oldest first, the grown one adds
        # its growth, and nothing is a duplicate whatever their order in the body
        assert (body["events"]["accepted"], body["events"]["duplicate"]) == (2, 0)
