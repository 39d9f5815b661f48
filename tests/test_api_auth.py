"""API keys: 401 without a valid key on every protected endpoint; health and metrics stay open."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.api.auth import KeyRing
from tests.test_api_support import AUTH, KEY, client, settings

PROTECTED = [
    ("POST", "/v1/score"),
    ("POST", "/v1/score/takeout"),
    ("POST", "/detect_anomalies/"),
    ("POST", "/v1/events"),
    ("GET", "/v1/users/u-1/alerts"),
]
OPEN = ["/healthz", "/metrics", "/openapi.json", "/docs", "/"]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_protected_endpoints_refuse_missing_and_wrong_keys(method: str, path: str) -> None:
    with client() as c:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {KEY}"}):
            answer = c.request(method, path, headers=headers, content=b"{}")
            assert answer.status_code == 401, (headers, answer.text)
            assert answer.headers["www-authenticate"] == "Bearer"
            assert answer.json()["error"] == "unauthorized"
        accepted = c.request(method, path, headers=AUTH, content=b"{}")
        assert accepted.status_code != 401


@pytest.mark.parametrize("path", OPEN)
def test_health_metrics_docs_and_page_need_no_key(path: str) -> None:
    with client() as c:
        assert c.get(path).status_code == 200


def test_without_configured_keys_every_protected_call_is_refused_with_the_fix() -> None:
    with client(api_keys=None) as c:
        answer = c.post("/v1/score", headers=AUTH, content=b"[]")
    assert answer.status_code == 401
    assert "LIFEUP_API_KEYS" in answer.json()["detail"]


def test_keys_file_is_reread_when_the_secret_rotates(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# API keys\nold-key\n", encoding="utf-8")
    with client(api_keys=None, api_keys_file=keys) as c:

        def status(key: str) -> int:
            headers = {"Authorization": f"Bearer {key}"}
            return int(c.get("/v1/users/u/alerts", headers=headers).status_code)

        assert status("old-key") != 401
        keys.write_text("new-key\n", encoding="utf-8")
        os.utime(keys, (1, 1))  # a different mtime even within the filesystem's resolution
        assert status("old-key") == 401
        assert status("new-key") != 401


@given(
    keys=st.lists(
        st.text(
            st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=","), min_size=1
        ),
        max_size=4,
    ),
    candidate=st.text(st.characters(codec="ascii"), max_size=12),
)
def test_keyring_accepts_exactly_the_configured_keys(keys: list[str], candidate: str) -> None:
    ring = KeyRing(settings(api_keys=",".join(keys) or None))
    assert ring.accepts(candidate) == (candidate in keys)
    for key in keys:
        assert ring.accepts(key)
