"""Fixtures for the unit tests: custom objects as the API server returns them, and Feast's loader."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from featurestore_operator import api

FEAST_CONFIG_CHECK = Path(__file__).with_name("feast_config_check.py")


@pytest.fixture
def feature_store():
    """Return a factory of FeatureStore objects: feature_store(name=..., **spec fields)."""

    def make(name: str = "bc", namespace: str = "ml", **spec) -> dict:
        spec.setdefault("project", "breast_cancer")
        spec.setdefault("repo", {"template": {"name": "breast_cancer"}})
        return {
            "apiVersion": api.API_VERSION,
            "kind": api.FEATURESTORE_KIND,
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "generation": 1},
            "spec": spec,
        }

    return make


@pytest.fixture
def materialization():
    """Return a factory of Materialization objects: materialization(name=..., **spec fields)."""

    def make(name: str = "bc-daily", namespace: str = "ml", store: str = "bc", **spec) -> dict:
        spec.setdefault("featureStore", store)
        return {
            "apiVersion": api.API_VERSION,
            "kind": api.MATERIALIZATION_KIND,
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "generation": 1},
            "spec": spec,
        }

    return make


@pytest.fixture(scope="session")
def load_with_feast():
    """Return load(yaml_text, env) -> dict: the file loaded by Feast's load_repo_config.

    One helper process serves the whole session, because importing Feast takes
    seconds. See feast_config_check.py for the result's shape.
    """
    process = subprocess.Popen(
        [sys.executable, str(FEAST_CONFIG_CHECK)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    ready = json.loads(process.stdout.readline() or "{}")
    if not ready.get("ready"):
        process.kill()
        pytest.fail(f"{FEAST_CONFIG_CHECK.name} did not start (exit code {process.wait()})")

    def load(text: str, env: dict[str, str] | None = None) -> dict:
        process.stdin.write(json.dumps({"yaml": text, "env": env or {}}) + "\n")
        process.stdin.flush()
        return json.loads(process.stdout.readline())

    yield load

    process.stdin.close()
    process.wait(timeout=30)
