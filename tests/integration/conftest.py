"""Integration fixtures: the CRDs installed and the operator running against the test cluster."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client

from tests.session import CREATED_NAMESPACES, SESSION_PREFIX, delete_namespaces

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
PREPARE_DATA_SCRIPT = REPOSITORY_ROOT / "examples" / "breast_cancer" / "scripts" / "prepare_data.py"


class OperatorProcess:
    """The operator as a child process, so that a test can stop and restart it."""

    def __init__(self, kubeconfig: Path, log_path: Path, namespaces: list[str] | None = None):
        self.kubeconfig = kubeconfig
        self.log_path = log_path
        # The session's namespaces only, so that test sessions sharing a cluster
        # never run two operators on one object.
        self.namespaces = namespaces if namespaces is not None else [f"{SESSION_PREFIX}-*"]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            # Short resync in tests, so a Secret created late is noticed within seconds.
            # ConfigMap edits need no resync: the operator watches ConfigMaps.
            "FEATURESTORE_RESYNC_SECONDS": "5",
        }
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "featurestore_operator", "run",
                 *(f"--namespace={pattern}" for pattern in self.namespaces)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def stop(self, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def crds(kubectl):
    kubectl("apply", "--server-side", "--force-conflicts", "-k", str(REPOSITORY_ROOT / "crds"))
    kubectl("wait", "--for=condition=Established", "crd/featurestores.featurestore.dev",
            "crd/materializations.featurestore.dev", "--timeout=60s")


@pytest.fixture(scope="session")
def operator(kubeconfig, api_client, crds, tmp_path_factory):
    process = OperatorProcess(kubeconfig, tmp_path_factory.mktemp("operator") / "operator.log")
    process.start()
    try:
        yield process
    finally:
        # The test namespaces go first, while the operator can still remove its finalizers.
        if process.process is not None and process.process.poll() is None:
            delete_namespaces(api_client, CREATED_NAMESPACES)
        process.stop()


@pytest.fixture
def custom(api_client) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)
