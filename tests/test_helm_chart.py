"""The Helm chart: lint, render and Kubernetes-validate it for the default, GKE and edge values.

helm-python-sdk (the Helm v4 Go SDK) lints and renders offline; kubernetes-validate checks every
rendered manifest against Kubernetes 1.31's strict schemas (unknown fields, removed APIs). Custom
resources have no schema there, so they are allow-listed by kind and checked structurally here.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

helm = pytest.importorskip(
    "helm_python", reason="helm-python-sdk not installed (pip install -e .[dev])"
)
kv = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate not installed")
yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "helm" / "lifeup"
KUBE_VERSION = "1.31.0"
CRD_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("monitoring.googleapis.com/v1", "PodMonitoring"),
    ("monitoring.googleapis.com/v1", "Rules"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("networking.gke.io/v1", "ManagedCertificate"),
}
MINIMAL: dict[str, Any] = {"api": {"apiKeys": {"existingSecret": "lifeup-api-keys"}}}


def gke_values() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CHART / "values-gke.yaml").read_text(encoding="utf-8"))
    return data


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    with helm.Chart.load(str(CHART)) as chart:
        out = chart.render(values, name="lifeup", namespace="lifeup")
    docs: list[dict[str, Any]] = []
    for name, text in sorted(out.items()):
        if name.endswith("NOTES.txt"):
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


def notes(values: dict[str, Any]) -> str:
    with helm.Chart.load(str(CHART)) as chart:
        out = chart.render(values, name="lifeup", namespace="lifeup")
    return "".join(text for name, text in out.items() if name.endswith("NOTES.txt"))


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in by_kind(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in {"Deployment", "StatefulSet"}:
            yield doc["metadata"]["name"], doc["spec"]["template"]


def assert_valid(docs: list[dict[str, Any]], kube_version: str = KUBE_VERSION) -> None:
    for doc in docs:
        key = (doc["apiVersion"], doc["kind"])
        if key in CRD_KINDS:
            assert doc["metadata"]["name"] and isinstance(doc.get("spec"), dict), key
            continue
        try:
            kv.validate(doc, kube_version, strict=True)
        except kv.SchemaNotFoundError:
            pytest.fail(
                f"no Kubernetes {kube_version} schema for {key} (removed API or unknown CRD)"
            )
        except kv.ValidationError as exc:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {exc}")


def assert_consistent(docs: list[dict[str, Any]]) -> None:
    """References inside the release point at things the release (or the user) provides."""
    templates = dict(pod_specs(docs))
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for service in by_kind(docs, "Service"):
        selector = service["spec"]["selector"]
        matching = [
            n for n, t in templates.items() if selector.items() <= t["metadata"]["labels"].items()
        ]
        assert matching, f"Service {service['metadata']['name']} selects no pods"
        ports = {
            p["name"]
            for t in (templates[n] for n in matching)
            for c in t["spec"]["containers"]
            for p in c.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, (service["metadata"]["name"], port)
    for name, template in templates.items():
        spec = template["spec"]
        assert ("ServiceAccount", spec["serviceAccountName"]) in names
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                assert ("ConfigMap", source["configMapRef"]["name"]) in names
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            mounts = {m["name"] for m in container.get("volumeMounts", [])}
            volumes = {v["name"] for v in spec.get("volumes", [])}
            claims = set()
            for doc in docs:
                if doc["metadata"]["name"] == name and doc["kind"] == "StatefulSet":
                    claims = {
                        c["metadata"]["name"] for c in doc["spec"].get("volumeClaimTemplates", [])
                    }
            assert mounts <= volumes | claims, (name, mounts - volumes - claims)
            assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                assert probe in container, (name, probe)
        assert spec["securityContext"]["runAsNonRoot"] is True
    for hpa in by_kind(docs, "HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        assert (ref["kind"], ref["name"]) in names
    for scaled in by_kind(docs, "ScaledObject"):
        ref = scaled["spec"]["scaleTargetRef"]
        assert (ref["kind"], ref["name"]) in names
        target = one(docs, ref["kind"], ref["name"])
        assert "replicas" not in target["spec"], "KEDA owns the replica count"
    for pdb in by_kind(docs, "PodDisruptionBudget"):
        selector = pdb["spec"]["selector"]["matchLabels"]
        assert any(selector.items() <= t["metadata"]["labels"].items() for t in templates.values())


def test_lint_is_clean_for_default_and_gke_values() -> None:
    for values in (MINIMAL, gke_values()):
        report = helm.lint(str(CHART), values, strict=True, kube_version=f"v{KUBE_VERSION}")
        assert not report["errors"], report["errors"]
        assert not [m for m in report["messages"] if m["severity"] >= 2], report["messages"]


def test_default_values_render_valid_manifests() -> None:
    docs = render(MINIMAL)
    assert_valid(docs)
    assert_consistent(docs)
    kinds = {d["kind"] for d in docs}
    assert {"StatefulSet", "Deployment", "Service", "ConfigMap", "ServiceAccount"} <= kinds
    assert {"HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"} <= kinds
    assert not kinds & {"Ingress", "ScaledObject", "PodMonitoring", "ServiceMonitor"}
    worker = one(docs, "StatefulSet", "lifeup-worker")
    assert worker["spec"]["replicas"] == 2
    api = one(docs, "Deployment", "lifeup-api")
    assert "replicas" not in api["spec"], "the HPA owns the API's replica count"
    probe = one(docs, "Pod", "lifeup-test-api-health")
    assert probe["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (env,) = probe["spec"]["containers"][0]["env"]
    service = one(docs, "Service", "lifeup-api")
    assert env["value"] == f"http://lifeup-api:{service['spec']['ports'][0]['port']}/healthz"


def test_gke_values_render_valid_manifests_with_managed_kafka() -> None:
    values = gke_values()
    docs = render(values)
    assert_valid(docs)
    assert_consistent(docs)
    config = one(docs, "ConfigMap", "lifeup")["data"]
    assert config["LIFEUP_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["LIFEUP_KAFKA_SASL_MECHANISM"] in {"PLAIN", "OAUTHBEARER"}
    assert config["LIFEUP_KAFKA_BOOTSTRAP"].endswith(".cloud.goog:9092")
    account = one(docs, "ServiceAccount", "lifeup")
    assert (
        account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
        == (values["serviceAccount"]["gcpServiceAccount"])
    )
    ingress = one(docs, "Ingress", "lifeup")
    assert ingress["metadata"]["annotations"]["kubernetes.io/ingress.class"] == "gce"
    assert ingress["metadata"]["annotations"]["networking.gke.io/managed-certificates"] == "lifeup"
    scaled = one(docs, "ScaledObject", "lifeup-worker")
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["sasl"] == "plaintext" and trigger["metadata"]["tls"] == "enable"
    assert trigger["metadata"]["topic"] == config["LIFEUP_EVENTS_TOPIC"]
    assert scaled["spec"]["maxReplicaCount"] <= int(config["LIFEUP_TOPIC_PARTITIONS"])
    worker = one(docs, "StatefulSet", "lifeup-worker")
    assert worker["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "state"
    env = {e["name"]: e for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["LIFEUP_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "lifeup-kafka"
    jobs = {d["metadata"]["name"] for d in by_kind(docs, "PodMonitoring")}
    assert jobs == {"lifeup-worker", "lifeup-api"}, "job names the alert rules expect"
    assert "https://lifeup.example.com/" in notes(values)


EDGE_CASES: dict[str, dict[str, Any]] = {
    "worker only": {"api": {"enabled": False}},
    "api only": merge(MINIMAL, {"worker": {"enabled": False}, "networkPolicy": {"enabled": False}}),
    "no autoscaling, no budgets": merge(
        MINIMAL,
        {
            "api": {"hpa": {"enabled": False}, "pdb": {"enabled": False}},
            "worker": {"pdb": {"enabled": False}},
        },
    ),
    "keda on prometheus, operator monitors": merge(
        MINIMAL,
        {
            "worker": {
                "keda": {
                    "enabled": True,
                    "trigger": "prometheus",
                    "maxReplicas": 4,
                    "prometheus": {"serverAddress": "http://prometheus:9090"},
                }
            },
            "topics": {"partitions": 4},
            "monitoring": {
                "serviceMonitor": {"enabled": True, "labels": {"release": "kps"}},
                "rules": {"enabled": True, "flavor": "prometheus-operator"},
            },
        },
    ),
    "TLS with private CA, SCRAM, nginx ingress": merge(
        MINIMAL,
        {
            "kafka": {
                "securityProtocol": "SASL_SSL",
                "sasl": {"mechanism": "SCRAM-SHA-512", "existingSecret": "kafka-user"},
                "tls": {"caSecret": "kafka-ca"},
            },
            "worker": {"keda": {"enabled": True, "maxReplicas": 12}},
            "ingress": {
                "enabled": True,
                "className": "nginx",
                "host": "lifeup.example.org",
                "tls": [{"secretName": "lifeup-tls", "hosts": ["lifeup.example.org"]}],
            },
            "fullnameOverride": "fit-cheat-detector",
        },
    ),
    "extra env and config": merge(
        MINIMAL,
        {
            "extraEnv": [{"name": "LIFEUP_MAX_MESSAGE_BYTES", "value": "2000000"}],
            "config": {"LIFEUP_IDLE_FLUSH_SECONDS": 60},
            "networkPolicy": {
                "apiFrom": [{"namespaceSelector": {}}],
                "extraEgress": [{"ports": [{"port": 443, "protocol": "TCP"}]}],
            },
        },
    ),
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_edge_cases_render_valid_manifests(case: str) -> None:
    docs = render(EDGE_CASES[case])
    assert docs
    assert_valid(docs)
    assert_consistent(docs)


def test_edge_case_details() -> None:
    docs = render(EDGE_CASES["TLS with private CA, SCRAM, nginx ingress"])
    worker = one(docs, "StatefulSet", "fit-cheat-detector-worker")
    container = worker["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["LIFEUP_KAFKA_SSL_CAFILE"]["value"] == "/etc/lifeup/kafka-ca/ca.crt"
    assert {"name": "kafka-ca", "mountPath": "/etc/lifeup/kafka-ca", "readOnly": True} in (
        container["volumeMounts"]
    )
    trigger = one(docs, "ScaledObject", "fit-cheat-detector-worker")["spec"]["triggers"][0]
    assert trigger["metadata"]["sasl"] == "scram_sha512"
    auth = one(docs, "TriggerAuthentication", "fit-cheat-detector-kafka")
    assert {p["parameter"] for p in auth["spec"]["secretTargetRef"]} == {
        "username",
        "password",
        "ca",
    }
    ingress = one(docs, "Ingress", "fit-cheat-detector")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert "kubernetes.io/ingress.class" not in ingress["metadata"].get("annotations", {})

    only_worker = render(EDGE_CASES["worker only"])
    assert not by_kind(only_worker, "Deployment")
    assert {d["metadata"]["name"] for d in by_kind(only_worker, "NetworkPolicy")} == {
        "lifeup-worker"
    }


def test_api_keys_come_from_a_mounted_secret_file() -> None:
    docs = render(MINIMAL)
    api = one(docs, "Deployment", "lifeup-api")["spec"]["template"]["spec"]
    container = api["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    mount = next(m for m in container["volumeMounts"] if m["name"] == "api-keys")
    volume = next(v for v in api["volumes"] if v["name"] == "api-keys")
    assert volume["secret"]["secretName"] == "lifeup-api-keys"
    assert env["LIFEUP_API_KEYS_FILE"] == f"{mount['mountPath']}/api-keys"
    assert "LIFEUP_API_KEYS" not in env
    assert container["args"][:3] == ["api", "--host", "0.0.0.0"]


def test_every_lifeup_variable_is_a_setting() -> None:
    settings = pytest.importorskip("stream.settings")
    fields = {f"LIFEUP_{name.upper()}" for name in settings.Settings.model_fields}
    for values in (MINIMAL, gke_values(), *EDGE_CASES.values()):
        docs = render(values)
        used = set()
        for config in by_kind(docs, "ConfigMap"):
            used |= set(config["data"])
        for _, template in pod_specs(docs):
            for container in template["spec"]["containers"]:
                used |= {e["name"] for e in container.get("env", [])}
        assert used - fields == set(), f"not in stream/settings.py: {sorted(used - fields)}"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "api.apiKeys.existingSecret is required"),
        (merge(MINIMAL, {"kafka": {"securityProtocol": "SASL_SSL"}}), "kafka.sasl.mechanism"),
        (
            merge(
                MINIMAL, {"kafka": {"securityProtocol": "SASL_SSL", "sasl": {"mechanism": "PLAIN"}}}
            ),
            "kafka.sasl.existingSecret is required",
        ),
        (
            merge(MINIMAL, {"worker": {"keda": {"enabled": True, "maxReplicas": 24}}}),
            "must not exceed topics.partitions",
        ),
        (
            merge(MINIMAL, {"worker": {"keda": {"enabled": True, "trigger": "prometheus"}}}),
            "serverAddress is required",
        ),
        (
            merge(MINIMAL, {"ingress": {"enabled": True, "managedCertificate": {"enabled": True}}}),
            "needs ingress.host",
        ),
    ],
)
def test_render_refuses_combinations_that_cannot_work(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmRenderError, match=message):
        render(values)


@pytest.mark.parametrize(
    ("values", "pointer"),
    [
        ({"api": {"port": 70000}}, "/api/port"),
        ({"worker": {"replicas": "two"}}, "/worker/replicas"),
        ({"kafka": {"securityProtocol": "TLS"}}, "/kafka/securityProtocol"),
        ({"kafka": {"bootstrap": "kafka"}}, "/kafka/bootstrap"),
        ({"kafka": {"sasl": {"mechanism": "GSSAPI"}}}, "/kafka/sasl/mechanism"),
        ({"wokrer": {"replicas": 3}}, "wokrer"),
        ({"worker": {"keda": {"trigger": "cpu"}}}, "/worker/keda/trigger"),
        ({"config": {"IDLE_FLUSH": "60"}}, "IDLE_FLUSH.*does not match"),
        (
            {"monitoring": {"podMonitoring": {"interval": "30 seconds"}}},
            "/monitoring/podMonitoring",
        ),
        ({"serviceAccount": {"gcpServiceAccount": "lifeup"}}, "/serviceAccount/gcpServiceAccount"),
        ({"topics": {"events": "bad topic name"}}, "/topics/events"),
        ({"kafka": None}, "kafka"),
    ],
)
def test_values_schema_rejects_bad_values(values: dict[str, Any], pointer: str) -> None:
    with helm.Chart.load(str(CHART)) as chart, pytest.raises(helm.HelmValuesError, match=pointer):
        chart.validate_schema(values)


def test_values_schema_accepts_the_shipped_values_files() -> None:
    with helm.Chart.load(str(CHART)) as chart:
        chart.validate_schema(MINIMAL)
        chart.validate_schema(gke_values())
        for values in EDGE_CASES.values():
            chart.validate_schema(values)


def test_chart_rules_are_the_deploy_rules_and_pass_promtool(tmp_path: Path) -> None:
    shipped = REPO / "deploy" / "prometheus" / "rules" / "lifeup-alerts.yml"
    assert (CHART / "files" / "lifeup-alerts.yml").read_text() == shipped.read_text(), (
        "copy deploy/prometheus/rules/lifeup-alerts.yml to helm/lifeup/files/"
    )
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool missing: run scripts/install-system-tools")
    rules = one(render(gke_values()), "Rules", "lifeup")
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": rules["spec"]["groups"]}), encoding="utf-8")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gke_rule_groups_carry_what_managed_prometheus_requires() -> None:
    """GMP's ``Rules`` CRD (monitoring.googleapis.com/v1, prometheus-engine) requires ``name``,
    ``interval`` and ``rules`` in every group; kubernetes-validate has no schema for it and
    plain Prometheus defaults the interval, so only this catches a group without one."""
    rules = one(render(gke_values()), "Rules", "lifeup")
    for group in rules["spec"]["groups"]:
        assert {"name", "interval", "rules"} <= group.keys(), group.get("name")
        assert re.fullmatch(r"\d+[smh]", str(group["interval"])), group["interval"]


def test_network_policies_let_the_needed_traffic_through() -> None:
    docs = render(MINIMAL)
    worker = one(docs, "NetworkPolicy", "lifeup-worker")["spec"]
    api = one(docs, "NetworkPolicy", "lifeup-api")["spec"]
    web_from = next(r for r in worker["ingress"] if r["ports"][0]["port"] == "web")["from"]
    components = {
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in web_from
    }
    assert components == {"api", "worker"}, "API reads and worker-to-worker forwarding"
    for policy in (worker, api):
        ports = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
        assert {(53, "UDP"), (9092, "TCP"), (6066, "TCP")} <= ports
    metrics_from = next(r for r in worker["ingress"] if r["ports"][0]["port"] == "metrics")
    assert metrics_from["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "gmp-system"
    }


@pytest.mark.parametrize("kube_version", ["1.29.0", "1.34.0", "1.37.0"])
def test_manifests_stay_valid_across_kubernetes_versions(kube_version: str) -> None:
    """GKE's release channels span several minors; no API the chart uses may be missing."""
    assert_valid(render(gke_values()), kube_version)
    assert_valid(render(EDGE_CASES["TLS with private CA, SCRAM, nginx ingress"]), kube_version)
