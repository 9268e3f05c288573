"""Fixtures of the Job task tests: prepared data, workspaces and the apply runner.

The breast-cancer data is prepared once per session and copied into each
repo that needs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.jobs.support import TaskRun, load_prepare_data, run_task


@pytest.fixture(scope="session")
def prepared_data(tmp_path_factory) -> Path:
    """The five breast-cancer parquet files, the last row at the session's start."""
    data_dir = tmp_path_factory.mktemp("breast_cancer_data")
    load_prepare_data().prepare(data_dir)
    return data_dir


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A directory with an empty repo/ (the PVC) and a termination log path."""
    (tmp_path / "repo").mkdir()
    return tmp_path


@pytest.fixture
def apply_task(workspace):
    """Run apply on the workspace's repo with a source directory."""

    def run(source_dir: Path, *arguments: str | Path, env: dict[str, str] | None = None) -> TaskRun:
        return run_task(
            "apply",
            "--repo",
            workspace / "repo",
            "--source-dir",
            source_dir,
            *arguments,
            termination_log=workspace / "termination-log",
            env=env,
        )

    return run
