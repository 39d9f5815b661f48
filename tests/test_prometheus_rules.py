"""Prometheus configuration and alert rules, checked by Prometheus' own promtool.

`promtool test rules` runs deploy/prometheus/tests/*.test.yml: every alert has a case where it
fires and a case where it stays silent. A broken copy of the rules must fail, so the check is live.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")
promql_parser = pytest.importorskip("promql_parser", reason="promql-parser not installed")

REPO = Path(__file__).resolve().parents[1]
PROM = REPO / "deploy" / "prometheus"
RULES = PROM / "rules" / "lifeup-alerts.yml"
REQUIRED_ALERTS = {
    "LifeUpWorkerDown",
    "LifeUpWorkerNotReady",
    "LifeUpConsumerLagGrowing",
    "LifeUpDeadLetterSpike",
    "LifeUpAlertRateUnusual",
    "LifeUpNoEvents",
}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip(
            "promtool missing (Debian package prometheus): run scripts/install-system-tools"
        )
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120)


def test_rules_pass_promtool_check() -> None:
    result = run("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rules_unit_tests_pass() -> None:
    tests = sorted((PROM / "tests").glob("*.test.yml"))
    assert tests
    result = run("test", "rules", *map(str, tests))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_required_alert_has_a_firing_and_a_silent_case() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in (PROM / "tests").glob("*.test.yml"):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert alerts >= REQUIRED_ALERTS
    assert alerts <= firing, f"never seen firing: {alerts - firing}"
    assert alerts <= silent, f"never seen silent: {alerts - silent}"


def test_a_wrong_expectation_fails_the_unit_tests(tmp_path: Path) -> None:
    """The unit tests are not vacuous: flipping one expectation makes promtool fail."""
    source = PROM / "tests" / "lifeup-alerts.test.yml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    first = data["tests"][0]["alert_rule_test"][0]
    assert first["exp_alerts"] == []
    first["exp_alerts"] = [{"exp_labels": {"severity": "critical"}}]
    data["tests"] = data["tests"][:1]  # the day-long cases are not needed here
    data["rule_files"] = [str(RULES)]
    broken = tmp_path / "broken.test.yml"
    broken.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run("test", "rules", str(broken))
    assert result.returncode != 0


def test_a_broken_expression_fails_the_check(tmp_path: Path) -> None:
    text = RULES.read_text(encoding="utf-8").replace(
        'expr: up{job="lifeup-worker"} == 0', 'expr: up{job="lifeup-worker" == 0'
    )
    broken = tmp_path / "broken.yml"
    broken.write_text(text, encoding="utf-8")
    result = run("check", "rules", str(broken))
    assert result.returncode != 0
    assert "LifeUpWorkerDown" in result.stdout + result.stderr


def test_compose_prometheus_config_is_valid(tmp_path: Path) -> None:
    """prometheus.yml as compose mounts it, its rule glob pointed at the rules folder."""
    config = yaml.safe_load((PROM / "prometheus.yml").read_text(encoding="utf-8"))
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {"lifeup-worker", "lifeup-api"} <= jobs
    config["rule_files"] = [str(PROM / "rules" / "*.yml")]
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = run("check", "config", str(local))
    assert result.returncode == 0, result.stdout + result.stderr
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    assert f"{sum(len(g['rules']) for g in groups)} rules found" in result.stdout


def test_rule_expressions_parse_and_use_known_jobs() -> None:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            expr = promql_parser.parse(rule["expr"])
            for selector in selectors(expr):
                for matcher in selector.matchers.matchers:
                    if matcher.name == "job":
                        assert matcher.value in {"lifeup-worker", "lifeup-api"}


def selectors(expr: Any) -> list[Any]:
    found: list[Any] = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        return True

    promql_parser.walk(expr, visit)
    return found


def exposition_check(text: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [promtool(), "check", "metrics"], input=text, capture_output=True, timeout=60
    )


def test_exported_metrics_pass_promtool_naming_lint() -> None:
    """The worker's and the API's real registries, each metric touched once, as scraped."""
    prometheus_client = pytest.importorskip("prometheus_client")
    metrics = pytest.importorskip("stream.metrics")
    worker = metrics.WorkerMetrics()
    worker.set_model("lint-model")
    worker.count_outcomes({"accepted": 3, "rejected": 1})
    worker.windows_scored.inc()
    worker.alerts.labels("cadence_above_human_limit").inc()
    worker.anomaly_score.observe(1.7)
    worker.alert_latency.observe(0.2)
    worker.active_users.set(1)
    worker.consumer_lag.labels("lifeup.fit-events", "0").set(5)
    texts = [prometheus_client.generate_latest(worker.registry)]
    try:
        from stream.api.metrics import ApiMetrics
    except ImportError:
        pass
    else:
        api = ApiMetrics()
        api.observe("/v1/score", "POST", 200, 0.01)
        texts.append(api.exposition())
    for text in texts:
        result = exposition_check(text)
        assert result.returncode == 0, (result.stdout + result.stderr).decode()
    bad = exposition_check(
        b"# HELP reconstructionError x\n# TYPE reconstructionError gauge\nreconstructionError 1\n"
    )
    assert bad.returncode != 0, "the lint must flag camelCase names"
