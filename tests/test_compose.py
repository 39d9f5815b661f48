"""docker-compose.yml, checked by both validators TOOLING.md found here (no Docker engine):
Debian's docker-compose 1.29 (`config -q`: catches undefined dependencies) and check-jsonschema's
vendored compose-spec schema (catches what 1.29 predates). Each must also reject a broken copy.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"
TOPICS = ("lifeup.fit-events", "lifeup.fit-alerts", "lifeup.fit-events.dlq")
# Read by deploy/healthcheck.py inside the image, not by stream/settings.py.
NON_SETTINGS = {"LIFEUP_HEALTHCHECK_URL"}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def tool(name: str, hint: str) -> str:
    path = shutil.which(name) or (
        str(REPO / ".venv" / "bin" / name) if (REPO / ".venv" / "bin" / name).exists() else None
    )
    if path is None:
        pytest.skip(f"{name} missing: {hint}")
    return path


def docker_compose_config(path: Path) -> subprocess.CompletedProcess[str]:
    exe = tool("docker-compose", "run scripts/install-system-tools (Debian docker-compose)")
    return subprocess.run(
        [exe, "-f", str(path), "config", "-q"],
        capture_output=True, text=True, timeout=60, cwd=path.parent,
    )  # fmt: skip


def schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    exe = tool("check-jsonschema", "pip install -e .[dev]")
    return subprocess.run(
        [exe, "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def write_variant(tmp_path: Path, data: dict[str, Any]) -> Path:
    """A copy beside the build context's files, so relative paths keep their meaning."""
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    for name in ("deploy", "pyproject.toml"):
        (tmp_path / name).symlink_to(REPO / name)
    return path


def test_docker_compose_accepts_the_file() -> None:
    result = docker_compose_config(COMPOSE)
    assert result.returncode == 0, result.stderr


def test_compose_spec_schema_accepts_the_file() -> None:
    result = schema_check(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_both_validators_reject_a_bad_condition(tmp_path: Path) -> None:
    data = compose()
    data["services"]["worker"]["depends_on"]["kafka-init"]["condition"] = "service_done"
    path = write_variant(tmp_path, data)
    assert docker_compose_config(path).returncode != 0
    assert schema_check(path).returncode != 0


def test_docker_compose_rejects_an_undefined_dependency(tmp_path: Path) -> None:
    data = compose()
    data["services"]["grafana"]["depends_on"] = {"prometheuz": {"condition": "service_healthy"}}
    result = docker_compose_config(write_variant(tmp_path, data))
    assert result.returncode != 0 and "prometheuz" in result.stderr


def test_services_and_profiles() -> None:
    services = compose()["services"]
    assert {"kafka", "kafka-init", "worker", "api", "prometheus", "grafana", "demo"} <= set(
        services
    )
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    assert services["demo"]["profiles"] == ["demo"]
    for name, service in services.items():
        if name != "demo":
            assert "profiles" not in service, f"{name} should start without a profile"


def test_worker_can_scale() -> None:
    """`--scale worker=N` needs no fixed name and no published host port on the worker."""
    worker = compose()["services"]["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    for volume in worker.get("volumes", []):
        assert not str(volume).split(":")[0].isidentifier(), "a named volume would be shared"


def test_published_ports_bind_loopback_only() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on all interfaces"


def test_topics_are_created_with_partitions() -> None:
    init = compose()["services"]["kafka-init"]
    script = "\n".join(init["command"])
    for topic in TOPICS:
        assert topic in script
    assert "--partitions" in script and "--if-not-exists" in script
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("worker", "api", "demo"):
        depends = compose()["services"][name]["depends_on"]
        assert depends["kafka-init"]["condition"] == "service_completed_successfully"


def test_lifeup_variables_are_settings() -> None:
    settings = pytest.importorskip("stream.settings")
    fields = {f"LIFEUP_{name.upper()}" for name in settings.Settings.model_fields}
    defaults = settings.Settings()
    for name, service in compose()["services"].items():
        env = service.get("environment", {})
        for key in env:
            if key.startswith("LIFEUP_"):
                assert key in fields | NON_SETTINGS, f"{name}: {key} is not a setting"
        if "LIFEUP_EVENTS_TOPIC" in env:
            topics = (
                env["LIFEUP_EVENTS_TOPIC"],
                env["LIFEUP_ALERTS_TOPIC"],
                env["LIFEUP_DLQ_TOPIC"],
            )
            assert topics == (defaults.events_topic, defaults.alerts_topic, defaults.dlq_topic)


def test_mounted_files_exist() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
        build = service.get("build")
        if build:
            assert (REPO / build["context"] / build["dockerfile"]).is_file()


def test_prometheus_scrapes_the_ports_the_services_listen_on() -> None:
    services = compose()["services"]
    prometheus = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    worker_sd = jobs["lifeup-worker"]["dns_sd_configs"][0]
    assert worker_sd["names"] == ["worker"]
    assert str(worker_sd["port"]) == str(services["worker"]["environment"]["LIFEUP_METRICS_PORT"])
    assert jobs["lifeup-api"]["static_configs"][0]["targets"] == ["api:8000"]
    assert services["api"]["command"][-1] == "8000"
