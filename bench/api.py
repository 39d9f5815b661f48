"""``lifeup bench api``: ``POST /v1/score`` on one user-day of events, against the earlier method.

The API runs under a real uvicorn (a child process on a free loopback port), the client is one
keep-alive HTTP/1.1 connection (the standard library's ``http.client``) sending the same user-day
of simulated phone syncs (Google Fit REST Datasets) again and again, each request answered with
every window scored. The client was httpx until measured: httpx spends ~0.6 ms of its own CPU on
each of these requests (``http.client`` ~0.2 ms), a quarter of the request's time that is the
client's, not the API's. One httpx request per round is still timed (``httpx_score_p50_ms``),
and so is the route's own work on the same body in this process, without HTTP
(``in_process_score_p50_ms``: the rest of ``score_p50_ms`` is the HTTP layer's).

The baseline is the earlier system's method (``model_export.seed_method``) on the same events:
the old API took one request per user-hour, so covering the same user-day takes one call per
hour, timed in-process with no HTTP at all (which flatters the baseline).
``speedup_vs_seed_method`` = ``score_rps`` / ``seed_method_rps``, both in user-days per second.
On this shared machine the wall-clock figures move with the other jobs (and the API's two
processes suffer more from them than the in-process baseline), so the CPU time of both sides is
reported too: the API process's per request (uvicorn, FastAPI, scoring; not the client's) and
the earlier method's per user-day (``cpu_ratio_seed_to_server``).
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import httpx
import numpy as np
import orjson

KEY = "bench-key"
SEED = 7
BUDGET_S = 20.0  # both sides, interleaved
MAX_REQUESTS = 400


def one_user_day() -> list[Any]:
    from model_export.simulate import simulate

    return list(simulate(1, 1, SEED, cheats=False, legit_unusual=False).events)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _api(port: int) -> Iterator[tuple[subprocess.Popen[bytes], IO[bytes]]]:
    """uvicorn in a child process, stopped on exit; its log goes to a file (a pipe nobody reads
    would block the server once full)."""
    env = dict(os.environ, LIFEUP_API_KEYS=KEY, LIFEUP_KAFKA_BOOTSTRAP="127.0.0.1:1")
    command = [sys.executable, "-m", "uvicorn", "--factory", "stream.api.app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            yield process, log
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(client: httpx.Client, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """Until the API answers an empty score. Not ``/readyz``: it starts the Kafka producer,
    which would then retry the closed bootstrap port in the background all through the run."""
    headers = {"Authorization": f"Bearer {KEY}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the API exited: {log.read().decode(errors='replace')}")
        try:
            answer = client.post("/v1/score", content=b"[]", headers=headers)
        except httpx.HTTPError:  # not listening yet
            time.sleep(0.1)
            continue
        if answer.status_code != 200:  # uvicorn listens once the model is loaded (or failed to)
            raise RuntimeError(f"the API answered {answer.status_code}: {answer.text}")
        return
    raise RuntimeError("the API did not load its model within 60 s")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``), all its threads."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Connection:
    """One keep-alive connection posting to ``/v1/score``."""

    def __init__(self, port: int) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

    def score(self, content: bytes) -> float:
        """Seconds from sending the request to the last byte of a 200 answer."""
        started = time.perf_counter()
        self.http.request("POST", "/v1/score", body=content, headers=self.headers)
        answer = self.http.getresponse()
        data = answer.read()
        elapsed = time.perf_counter() - started
        if answer.status != 200:
            raise RuntimeError(f"/v1/score answered {answer.status}: {data[:500]!r}")
        return elapsed


def _in_process_scorer(body: bytes) -> Callable[[], float]:
    """The route's own work on the same body in this process (decode, parse, buffer, score,
    answer bytes), no HTTP: what the request costs beyond it is the HTTP layer's."""
    from stream.api.routes.score import score_body
    from stream.scoring.detector import load_detector
    from stream.settings import Settings

    detector, settings = load_detector(), Settings(api_keys=KEY)

    def timed() -> float:
        started = time.perf_counter()
        score_body(body, detector, settings, False)
        return time.perf_counter() - started

    return timed


def _seed_runner(events: list[Any]) -> tuple[Any, int]:
    """One call of the earlier method per user-hour of the day, as its API required."""
    from model_export.seed_method import load_weights, requests_from_events, seed_detect

    requests = list(requests_from_events(events).values())
    weights = load_weights()

    def user_day() -> None:
        for request in requests:
            seed_detect(request, weights)

    return user_day, len(requests)


def _measure(body: bytes, events: list[Any], port: int) -> dict[str, Any]:
    """Both sides interleaved (a few API requests, then one seed user-day) so that the noisy
    shared machine slows them alike."""
    seed_user_day, hours = _seed_runner(events)
    in_process = _in_process_scorer(body)
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    with (
        _api(port) as (process, log),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):
        _wait_ready(client, process, log)
        connection = _Connection(port)

        def via_httpx() -> float:
            started = time.perf_counter()
            client.post("/v1/score", content=body, headers=headers).raise_for_status()
            return time.perf_counter() - started

        answer = client.post("/v1/score", content=body, headers=headers).json()
        for _ in range(10):  # warm-up: imports, onnxruntime arenas, the connections
            connection.score(body)
            via_httpx()
            in_process()
        seed_user_day()
        floor = [connection.score(b"[]") for _ in range(100)]  # auth, routing, an empty score
        latencies: list[float] = []
        httpx_latencies: list[float] = []
        chain: list[float] = []
        seed: list[float] = []
        seed_cpu = 0.0
        server_cpu = _cpu_seconds(process.pid)
        end = time.perf_counter() + BUDGET_S
        while time.perf_counter() < end and len(latencies) < MAX_REQUESTS:
            latencies.extend(connection.score(body) for _ in range(5))
            httpx_latencies.append(via_httpx())
            chain.append(in_process())
            started, cpu = time.perf_counter(), time.process_time()
            seed_user_day()
            seed.append(time.perf_counter() - started)
            seed_cpu += time.process_time() - cpu
        server_cpu = _cpu_seconds(process.pid) - server_cpu
        connection.http.close()
    return {
        "latencies": latencies,
        "httpx": httpx_latencies,
        "chain": chain,
        "floor": floor,
        "seed": seed,
        "hours": hours,
        "answer": answer,
        "server_cpu_per_request": server_cpu / (len(latencies) + len(httpx_latencies)),
        "seed_cpu_per_user_day": seed_cpu / len(seed),
    }


def run() -> dict[str, float | int | str]:
    events = one_user_day()
    body = orjson.dumps(events)
    got = _measure(body, events, _free_port())
    latencies, floor, seed = got["latencies"], got["floor"], got["seed"]
    score_rps = len(latencies) / sum(latencies)
    seed_rps = len(seed) / sum(seed)
    return {
        "events_per_request": len(events),
        "points_per_request": sum(len(e.get("point", [])) for e in events if isinstance(e, dict)),
        "request_bytes": len(body),
        "windows_per_request": len(got["answer"].get("windows", [])),
        "requests": len(latencies),
        "score_rps": round(score_rps, 1),
        "score_p50_ms": round(float(np.percentile(latencies, 50)) * 1000, 2),
        "score_p99_ms": round(float(np.percentile(latencies, 99)) * 1000, 2),
        "score_p99_target_ms": 50.0,
        "http_floor_p50_ms": round(float(np.percentile(floor, 50)) * 1000, 2),
        "httpx_score_p50_ms": round(float(np.percentile(got["httpx"], 50)) * 1000, 2),
        "in_process_score_p50_ms": round(float(np.percentile(got["chain"], 50)) * 1000, 2),
        "seed_method_calls_per_user_day": got["hours"],
        "seed_method_user_days": len(seed),
        "seed_method_rps": round(seed_rps, 2),
        "seed_method_p50_ms": round(float(np.percentile(seed, 50)) * 1000, 2),
        "server_cpu_ms_per_request": round(got["server_cpu_per_request"] * 1000, 2),
        "seed_method_cpu_ms_per_user_day": round(got["seed_cpu_per_user_day"] * 1000, 2),
        "cpu_ratio_seed_to_server": round(
            got["seed_cpu_per_user_day"] / got["server_cpu_per_request"], 1
        ),
        "speedup_vs_seed_method": round(score_rps / seed_rps, 1),
        "speedup_target": 20.0,
    }
