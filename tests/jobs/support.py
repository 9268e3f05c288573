"""Helpers of the Job task tests: feature repo sources, the CLI runner, registry reads.

The tasks run as `python -m featurestore_operator.jobs` subprocesses, as in
a Job pod, against real Feast with a sqlite online store and file offline
store. """

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = REPOSITORY_ROOT / "feature_repo_template"
PREPARE_DATA_SCRIPT = REPOSITORY_ROOT / "examples" / "breast_cancer" / "scripts" / "prepare_data.py"

# A task that runs longer than this has hung; the timeout fails the test
# instead of blocking the suite.
TASK_TIMEOUT_SECONDS = 300

BREAST_CANCER_VIEWS = [
    "df1_feature_view",
    "df2_feature_view",
    "df3_feature_view",
    "df4_feature_view",
    "target_feature_view",
]


def render_feature_store_yaml(project: str) -> str:
    """Render a feature_store.yaml like the operator's default: everything on the repo volume."""
    return (
        f"project: {project}\n"
        "registry: data/registry.db\n"
        "provider: local\n"
        "online_store:\n"
        "  type: sqlite\n"
        "  path: data/online_store.db\n"
        "offline_store:\n"
        "  type: file\n"
        "entity_key_serialization_version: 3\n"
    )


def make_source(directory: Path, template: str | None, project: str) -> Path:
    """Fill directory as the repo ConfigMap volume: feature_store.yaml and a template's files."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "feature_store.yaml").write_text(render_feature_store_yaml(project))
    if template is not None:
        for path in (TEMPLATES / template).glob("*.py"):
            shutil.copy(path, directory / path.name)
    return directory


def load_prepare_data():
    """Import examples/breast_cancer/scripts/prepare_data.py, which is not in a package."""
    spec = importlib.util.spec_from_file_location("prepare_data", PREPARE_DATA_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class TaskRun:
    """One finished task: exit code, output and the termination message."""

    returncode: int
    stdout: str
    stderr: str
    termination_message: str

    @property
    def result(self) -> dict[str, Any]:
        return json.loads(self.termination_message)

    @property
    def stdout_result(self) -> dict[str, Any]:
        return json.loads(self.stdout.strip().splitlines()[-1])


def task_command(task: str, *arguments: str | Path) -> list[str]:
    return [sys.executable, "-m", "featurestore_operator.jobs", task, *map(str, arguments)]


def run_task(
    task: str,
    *arguments: str | Path,
    termination_log: Path,
    env: dict[str, str] | None = None,
) -> TaskRun:
    """Run a task as the Job would and return how it ended."""
    completed = subprocess.run(
        task_command(task, *arguments, "--termination-log", termination_log),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=termination_log.parent,
        timeout=TASK_TIMEOUT_SECONDS,
        check=False,
    )
    message = termination_log.read_text() if termination_log.exists() else ""
    termination_log.unlink(missing_ok=True)
    return TaskRun(completed.returncode, completed.stdout, completed.stderr, message)


def copy_breast_cancer_data(prepared_data: Path, repo: Path) -> None:
    shutil.copytree(prepared_data, repo / "data" / "breast_cancer", dirs_exist_ok=True)


def registered_feature_views(repo: Path) -> list[str]:
    """Read the feature view names from the repo's registry with Feast itself."""
    from feast import FeatureStore

    store = FeatureStore(repo_path=str(repo))
    return sorted(view.name for view in store.list_feature_views())
