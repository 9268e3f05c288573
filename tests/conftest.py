"""Fixtures shared by every test layer: the local control plane and a namespace per test.

The cluster fixture starts devcluster once per session in its own state
directory, or uses a running one when DEVCLUSTER_KUBECONFIG names its
kubeconfig (`python -m devcluster up` prints the path).
"""

import hashlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.session import CREATED_NAMESPACES, SESSION_PREFIX

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory) -> Path:
    existing = os.environ.get("DEVCLUSTER_KUBECONFIG")
    if existing:
        yield Path(existing)
        return

    state_dir = tmp_path_factory.mktemp("devcluster")
    env = {**os.environ, "DEVCLUSTER_DIR": str(state_dir)}
    command = [sys.executable, "-m", "devcluster"]
    started = subprocess.run([*command, "up"], cwd=REPOSITORY_ROOT, env=env, capture_output=True, text=True)
    if started.returncode != 0:
        pytest.fail(f"devcluster up failed:\n{started.stdout}\n{started.stderr}")
    try:
        yield state_dir / "kubeconfig"
    finally:
        subprocess.run([*command, "down"], cwd=REPOSITORY_ROOT, env=env, capture_output=True, text=True)


@pytest.fixture(scope="session")
def api_client(kubeconfig) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))


@pytest.fixture
def namespace(api_client, request) -> str:
    """Create a namespace named after the test; it is deleted at the end of the session.

    Deleting it at once would race with the operator: a FeatureStore has the
    operator's finalizer, so the namespace waits for the operator, which the
    session fixture stops last.
    """
    digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:6]
    name = f"{SESSION_PREFIX}-{digest}-{uuid.uuid4().hex[:4]}"
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    CREATED_NAMESPACES.append(name)
    return name


@pytest.fixture(scope="session")
def kubectl(kubeconfig):
    """Return a function that runs kubectl against the test cluster and returns the completed process."""
    binary = Path(sys.executable).parent / "kubectl"

    def run(*arguments: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        completed = subprocess.run(
            [str(binary), f"--kubeconfig={kubeconfig}", *arguments],
            capture_output=True,
            text=True,
            input=input,
            timeout=300,
        )
        if check and completed.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(arguments)} failed:\n{completed.stdout}\n{completed.stderr}")
        return completed

    return run


@pytest.fixture(scope="session")
def pod_log(kubeconfig):
    """Return a function that returns a pod container's log, read by `python -m devcluster logs`.

    devcluster keeps container logs in files under its state directory, the
    directory that contains the kubeconfig, instead of serving the kubelet log API.
    """

    def read(namespace: str, pod: str, container: str | None = None) -> str:
        target = f"{namespace}/{pod}" + (f"/{container}" if container else "")
        completed = subprocess.run(
            [sys.executable, "-m", "devcluster", "logs", target],
            cwd=REPOSITORY_ROOT,
            env={**os.environ, "DEVCLUSTER_DIR": str(Path(kubeconfig).parent)},
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise AssertionError(f"devcluster logs {target} failed: {completed.stderr}")
        return completed.stdout

    return read
