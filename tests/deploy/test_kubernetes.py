"""deploy/kubernetes: the kustomize base and the two-replicas overlay, rendered offline.

Rendered by tests/support/kustomize.py (resources + patches), which must give what
``kubectl kustomize`` gives where kubectl is installed; core kinds are validated against
the Kubernetes JSON schemas the ``kubernetes-validate`` package ships (strict: unknown
fields are errors); the Prometheus Operator kinds, for which it has no schema, are checked
for the fields the operator reads and against the Service and the alert rules.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml
from kubernetes_validate import utils as kubernetes_schemas
from support.kustomize import (
    Manifest,
    UnsupportedKustomization,
    render,
    strategic_merge,
)
from support.nats_jwt import new_operator

from relay.config.errors import ConfigError
from relay.config.loader import parse_config
from relay.infrastructure.venues.registry import supported_data_types

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
BASE = KUBERNETES / "base"
OVERLAY = KUBERNETES / "overlays" / "two-replicas"
HOT_STANDBY = KUBERNETES / "overlays" / "hot-standby"
KUSTOMIZATIONS = [BASE, OVERLAY, HOT_STANDBY]
SCHEMA_VERSIONS = ("1.29.0", kubernetes_schemas.latest_version())
"""The oldest minor still commonly run, and the newest the package ships."""
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}
OPERATOR_DURATION = re.compile(
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
"""The Prometheus Operator CRDs' duration pattern (``for``, ``interval``, ``scrapeTimeout``)."""


def _key(obj: Manifest) -> tuple[str, str]:
    return (obj["kind"], obj["metadata"]["name"])


def _objects(directory: Path) -> dict[tuple[str, str], Manifest]:
    rendered = render(directory)
    by_key = {_key(obj): obj for obj in rendered}
    assert len(by_key) == len(rendered), "two objects of one kind and name"
    return by_key


def _pod(objects: dict[tuple[str, str], Manifest]) -> dict[str, Any]:
    spec: dict[str, Any] = objects[("Deployment", "relay")]["spec"]["template"]["spec"]
    return spec


def test_the_base_renders_every_object_of_the_deployment() -> None:
    assert sorted(_objects(BASE)) == [
        ("ConfigMap", "relay-config"),
        ("Deployment", "relay"),
        ("PodDisruptionBudget", "relay"),
        ("PrometheusRule", "relay"),
        ("Secret", "relay-nats"),
        ("Service", "relay"),
        ("ServiceMonitor", "relay"),
    ]


def test_the_overlay_runs_two_replicas_spread_over_nodes_one_replaced_at_a_time() -> None:
    base, overlay = _objects(BASE), _objects(OVERLAY)
    deployment = overlay[("Deployment", "relay")]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
    }
    (spread,) = _pod(overlay)["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": "relay"}
    # Everything else is the base's: the containers, volumes and other objects unchanged.
    assert _pod(overlay)["containers"] == _pod(base)["containers"]
    assert {k: v for k, v in overlay.items() if k[0] != "Deployment"} == {
        k: v for k, v in base.items() if k[0] != "Deployment"
    }


def test_the_hot_standby_overlay_runs_two_pods_on_different_nodes_as_one_leased_shard(
    tmp_path: Path,
) -> None:
    base, overlay = _objects(BASE), _objects(HOT_STANDBY)
    deployment = overlay[("Deployment", "relay")]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
    }
    (term,) = _pod(overlay)["affinity"]["podAntiAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert term == {
        "topologyKey": "kubernetes.io/hostname",
        "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "relay"}},
    }
    assert _pod(overlay)["containers"] == _pod(base)["containers"]
    text = overlay[("ConfigMap", "relay-config")]["data"]["relay.toml"]
    base_text = base[("ConfigMap", "relay-config")]["data"]["relay.toml"]
    assert text.startswith(base_text.rstrip("\n"))
    (container,) = _pod(overlay)["containers"]
    environ = {item["name"]: item["value"] for item in container["env"]}
    new_operator().creds(tmp_path / "user.creds")
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "ca.crt"))
    config = parse_config(
        text.replace("/etc/relay/nats/", f"{tmp_path}/"),
        source="relay-config",
        venues=supported_data_types(),
        environ=environ,
    )
    assert (config.cluster.mode.value, config.cluster.lease_replicas) == ("hot_standby", 3)
    assert config.nats.streams[0].replicas == 3
    assert {k: v for k, v in overlay.items() if k[0] not in {"Deployment", "ConfigMap"}} == {
        k: v for k, v in base.items() if k[0] not in {"Deployment", "ConfigMap"}
    }


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda path: path.name)
def test_the_test_renderer_gives_what_kubectl_kustomize_gives(directory: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip(
            "kubectl is not installed: the manifests are rendered by the test renderer only"
        )
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    reference = {_key(obj): obj for obj in yaml.safe_load_all(result.stdout) if obj}
    assert reference == _objects(directory)


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nnamePrefix: prod-\n")
    with pytest.raises(UnsupportedKustomization, match="namePrefix"):
        render(tmp_path)
    merged = strategic_merge(
        {"a": {"b": 1, "c": 2}, "items": [{"name": "x", "v": 1}], "plain": [1, 2]},
        {"a": {"c": None, "d": 3}, "items": [{"name": "x", "v": 2}, {"name": "y"}], "plain": [3]},
    )
    assert merged == {
        "a": {"b": 1, "d": 3},
        "items": [{"name": "x", "v": 2}, {"name": "y"}],
        "plain": [3],
    }


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda path: path.name)
@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_core_object_validates_against_the_kubernetes_schemas(
    directory: Path, version: str
) -> None:
    objects = _objects(directory)
    without_schema = set()
    for key, obj in objects.items():
        try:
            kubernetes_schemas.validate(obj, version, strict=True)
        except kubernetes_schemas.SchemaNotFoundError:
            without_schema.add(key[0])
    assert without_schema == OPERATOR_KINDS
    assert len(objects) - len(OPERATOR_KINDS) == 5


def test_the_schema_validation_rejects_a_misspelt_field() -> None:
    deployment = copy.deepcopy(_objects(BASE)[("Deployment", "relay")])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_schemas.ValidationError, match="readinesProbe"):
        kubernetes_schemas.validate(deployment, SCHEMA_VERSIONS[-1], strict=True)


def test_the_probes_ask_livez_and_readyz_on_the_http_port() -> None:
    (container,) = _pod(_objects(BASE))["containers"]
    probes = {
        name: container[name]["httpGet"]
        for name in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probes == {
        "startupProbe": {"path": "/livez", "port": "http"},
        "livenessProbe": {"path": "/livez", "port": "http"},
        "readinessProbe": {"path": "/readyz", "port": "http"},
    }
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


def test_the_pod_is_non_root_read_only_and_bounded() -> None:
    pod = _pod(_objects(BASE))
    (container,) = pod["containers"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    resources = container["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    # The one writable path is an emptyDir.
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    writable = [path for path, mount in mounts.items() if not mount.get("readOnly")]
    assert writable == ["/tmp"]
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    assert set(volumes) == {mount["name"] for mount in mounts.values()}


def test_the_config_map_and_secret_are_what_the_pod_mounts() -> None:
    objects = _objects(BASE)
    pod = _pod(objects)
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert ("ConfigMap", volumes["config"]["configMap"]["name"]) in objects
    assert ("Secret", volumes["nats-credentials"]["secret"]["secretName"]) in objects
    (container,) = pod["containers"]
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    config_file = Path(mounts["config"]) / "relay.toml"
    assert container["args"] == ["run", "--config", str(config_file)]
    assert "relay.toml" in objects[("ConfigMap", "relay-config")]["data"]


def test_the_config_map_relay_toml_is_a_valid_config_pointing_at_the_mounted_secret(
    tmp_path: Path,
) -> None:
    """The ConfigMap's relay.toml loads, with the Secret's files (a real creds file and
    CA certificate, made here) in place at its mount path; every problem is printed."""
    objects = _objects(BASE)
    text = objects[("ConfigMap", "relay-config")]["data"]["relay.toml"]
    (container,) = _pod(objects)["containers"]
    environ = {item["name"]: item["value"] for item in container["env"]}
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    secret_keys = set(objects[("Secret", "relay-nats")]["stringData"])
    assert secret_keys == {"user.creds", "ca.crt"}
    new_operator().creds(tmp_path / "user.creds")
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "ca.crt"))
    mounted = mounts["nats-credentials"]
    try:
        config = parse_config(
            text.replace(f"{mounted}/", f"{tmp_path}/"),
            source="relay-config",
            venues=supported_data_types(),
            environ=environ,
        )
    except ConfigError as error:
        pytest.fail(str(error))
    assert (config.http.host, config.http.port) == ("0.0.0.0", 8080)
    assert config.nats.urls == ("tls://nats.nats.svc.cluster.local:4222",)
    named = {getattr(config.nats, key) for key in ("creds_file", "tls_ca_file")}
    assert named == {f"{tmp_path}/{key}" for key in secret_keys}
    assert text.count(f"{mounted}/") == len(secret_keys)


def test_the_service_pdb_and_service_monitor_select_the_pods_and_scrape_metrics() -> None:
    objects = _objects(BASE)
    pod_labels = objects[("Deployment", "relay")]["spec"]["template"]["metadata"]["labels"]
    service = objects[("Service", "relay")]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]
    pdb = objects[("PodDisruptionBudget", "relay")]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    monitor = objects[("ServiceMonitor", "relay")]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert set(endpoint) == {"port", "path", "interval", "scrapeTimeout"}
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert OPERATOR_DURATION.match(endpoint["interval"])
    assert OPERATOR_DURATION.match(endpoint["scrapeTimeout"])
    # The alert RelayDown selects job="relay": the operator's job label is the Service name.
    assert service["metadata"]["name"] == "relay"


def test_the_prometheus_rule_has_the_operator_shape() -> None:
    rule = _objects(BASE)[("PrometheusRule", "relay")]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(rule["spec"]) == {"groups"}
    for group in rule["spec"]["groups"]:
        assert set(group) <= {"name", "interval", "rules"}
        for item in group["rules"]:
            assert set(item) <= {"alert", "record", "expr", "for", "labels", "annotations"}
            assert isinstance(item["expr"], str) and ("alert" in item) != ("record" in item)
            assert OPERATOR_DURATION.match(item.get("for", "0")), item
            assert all(isinstance(value, str) for value in item.get("labels", {}).values())
            assert all(isinstance(value, str) for value in item.get("annotations", {}).values())
