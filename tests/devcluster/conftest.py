"""Fixtures for the devcluster's own tests, on top of the session cluster in tests/conftest.py."""

from pathlib import Path

import pytest
from kubernetes import client


@pytest.fixture(scope="session")
def state_dir(kubeconfig) -> Path:
    """Return the state directory of the session cluster: devcluster writes its kubeconfig there."""
    return Path(kubeconfig).resolve().parent


@pytest.fixture(scope="session")
def core(api_client) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def batch(api_client) -> client.BatchV1Api:
    return client.BatchV1Api(api_client)
