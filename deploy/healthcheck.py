#!/usr/bin/env python3
"""Container health check for both LifeUp roles (stdlib only: runs in the image's HEALTHCHECK).

One image runs the API and the worker, so the check accepts either: the API's ``/healthz`` or the
worker's Prometheus endpoint. ``LIFEUP_HEALTHCHECK_URL`` (comma-separated) replaces the defaults.
Exit 0 when any URL answers 200 within the timeout, 1 otherwise.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 2.5


def candidate_urls(env: dict[str, str]) -> list[str]:
    """URLs to probe, most specific first."""
    override = env.get("LIFEUP_HEALTHCHECK_URL", "")
    if override.strip():
        return [u.strip() for u in override.split(",") if u.strip()]
    api_port = env.get("LIFEUP_API_PORT", "8000")
    metrics_port = env.get("LIFEUP_METRICS_PORT", "9102")
    return [
        f"http://127.0.0.1:{api_port}/healthz",
        f"http://127.0.0.1:{metrics_port}/metrics",
    ]


def answers(url: str, timeout: float = TIMEOUT_S) -> bool:
    """True when ``url`` answers HTTP 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main() -> int:
    return 0 if any(answers(url) for url in candidate_urls(dict(os.environ))) else 1


if __name__ == "__main__":
    sys.exit(main())
