"""Container environment and working directory, resolved as a kubelet resolves them."""

import sys
from pathlib import Path

from kubernetes import client
from podtools import (
    container_status,
    pod_manifest,
    python_container,
    read_pod,
    run_pod,
    termination_json,
    wait_for,
    wait_phase,
)

DUMP_ENVIRONMENT = """
    import json, os
    open("/dev/termination-log", "w").write(json.dumps(dict(os.environ)))
"""


def _create_sources(core, namespace):
    core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="settings"),
            data={"ONLINE_STORE": "sqlite", "REGISTRY": "file", "project": "breast_cancer"},
        ),
    )
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="credentials"),
            string_data={"AWS_SECRET_ACCESS_KEY": "s3cr3t", "token": "t0ken"},
        ),
    )


def test_environment_from_every_source(core, namespace):
    _create_sources(core, namespace)
    env = [
        {"name": "PLAIN", "value": "plain value"},
        {"name": "EXPANDED", "value": "$(PLAIN) and $(POD_NAME) and $$(PLAIN)"},
        {"name": "PROJECT", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "project"}}},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "credentials", "key": "token"}}},
        {"name": "OPTIONAL", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "x", "optional": True}}},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "POD_UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "TEAM", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['team']"}}},
        {"name": "MEMORY_LIMIT_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
    ]
    env_from = [
        {"configMapRef": {"name": "settings"}, "prefix": "FEAST_"},
        {"secretRef": {"name": "credentials"}},
    ]
    container = python_container(
        "main", DUMP_ENVIRONMENT, env=env, envFrom=env_from, resources={"limits": {"memory": "256Mi"}}
    )
    manifest = pod_manifest("environment", [container])
    manifest["metadata"]["labels"] = {"team": "ml-platform"}

    pod = run_pod(core, namespace, manifest)
    values = termination_json(pod, "main")

    assert values["PLAIN"] == "plain value"
    assert values["EXPANDED"] == "plain value and $(POD_NAME) and $(PLAIN)"
    assert values["PROJECT"] == "breast_cancer"
    assert values["TOKEN"] == "t0ken"
    assert "OPTIONAL" not in values
    assert values["POD_NAME"] == "environment"
    assert values["POD_NAMESPACE"] == namespace
    assert values["POD_UID"] == pod["metadata"]["uid"]
    assert values["NODE_NAME"] == "devcluster-node"
    assert values["TEAM"] == "ml-platform"
    assert values["MEMORY_LIMIT_MI"] == "256"
    assert values["FEAST_ONLINE_STORE"] == "sqlite"
    assert values["FEAST_REGISTRY"] == "file"
    assert values["AWS_SECRET_ACCESS_KEY"] == "s3cr3t"
    assert values["HOSTNAME"] == "environment"
    assert values["KUBERNETES_SERVICE_HOST"] == "127.0.0.1"


def test_env_overrides_env_from(core, namespace):
    _create_sources(core, namespace)
    container = python_container(
        "main",
        DUMP_ENVIRONMENT,
        envFrom=[{"configMapRef": {"name": "settings"}}],
        env=[{"name": "REGISTRY", "value": "sql"}],
    )
    pod = run_pod(core, namespace, pod_manifest("override", [container]))

    assert termination_json(pod, "main")["REGISTRY"] == "sql"


def test_project_python_first_on_path(core, namespace):
    pod = run_pod(core, namespace, pod_manifest("path", [python_container("main", DUMP_ENVIRONMENT)]))

    assert termination_json(pod, "main")["PATH"].split(":")[0] == str(Path(sys.executable).parent)


def test_missing_secret_key_waits(core, namespace):
    _create_sources(core, namespace)
    env = [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "credentials", "key": "absent"}}}]
    core.create_namespaced_pod(namespace, pod_manifest("missing-key", [python_container("main", "pass", env=env)]))

    def waiting():
        pod = read_pod(core, namespace, "missing-key")
        statuses = pod["status"].get("containerStatuses")
        return statuses and "waiting" in statuses[0]["state"] and pod

    pod = wait_for(waiting, 30, "the container to wait for the missing secret key")
    state = container_status(pod, "main")["state"]["waiting"]
    assert pod["status"]["phase"] == "Pending"
    assert state["reason"] == "CreateContainerConfigError"
    assert state["message"] == f"couldn't find key absent in secret {namespace}/credentials"


def test_missing_key_pod_starts_once_created(core, namespace):
    _create_sources(core, namespace)
    env = [{"name": "LATE", "valueFrom": {"configMapKeyRef": {"name": "late", "key": "value"}}}]
    core.create_namespaced_pod(namespace, pod_manifest("late", [python_container("main", DUMP_ENVIRONMENT, env=env)]))

    def waiting():
        statuses = read_pod(core, namespace, "late")["status"].get("containerStatuses")
        return statuses and "waiting" in statuses[0]["state"]

    wait_for(waiting, 30, "the container to wait for the missing ConfigMap")

    core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="late"), data={"value": "arrived"})
    )

    pod = wait_phase(core, namespace, "late", ("Succeeded",), timeout=30)
    assert termination_json(pod, "main")["LATE"] == "arrived"


def test_working_dir_created_and_used(core, namespace, tmp_path):
    working_dir = tmp_path / "work" / "repo"
    script = "import os; open('/dev/termination-log', 'w').write(os.getcwd())"
    container = python_container("main", script, workingDir=str(working_dir))

    pod = run_pod(core, namespace, pod_manifest("working-dir", [container]))

    assert pod["status"]["phase"] == "Succeeded"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"] == str(working_dir)


def test_working_dir_defaults_to_root(core, namespace):
    script = "import os; open('/dev/termination-log', 'w').write(os.getcwd())"
    pod = run_pod(core, namespace, pod_manifest("root-dir", [python_container("main", script)]))

    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"] == "/"
