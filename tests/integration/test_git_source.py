"""FeatureStore with a git source: the apply Job clones a local repository at a ref."""

import subprocess

import pytest

from tests.integration.support import create, featurestore, wait_for_phase
from tests.integration.test_featurestore import DRIVER_VIEW, SECOND_VIEW

pytestmark = pytest.mark.cluster


def git(repository, *arguments: str) -> str:
    completed = subprocess.run(
        ["git", "-C", str(repository), "-c", "user.name=test", "-c", "user.email=test@example.com", *arguments],
        capture_output=True, text=True, check=True,
    )
    return completed.stdout.strip()


@pytest.fixture
def repository(tmp_path):
    """A local repository with the definitions in features/: tag v1 has one view, main has two."""
    path = tmp_path / "definitions"
    (path / "features").mkdir(parents=True)
    git(path, "init", "--initial-branch=main")
    (path / "features" / "drivers.py").write_text(DRIVER_VIEW)
    git(path, "add", ".")
    git(path, "commit", "-m", "one view")
    git(path, "tag", "v1")
    (path / "features" / "drivers.py").write_text(DRIVER_VIEW + SECOND_VIEW)
    git(path, "commit", "-am", "two views")
    return path


def test_git_tag_is_applied(operator, custom, namespace, repository):
    spec = {"project": "fromgit",
            "repo": {"git": {"url": f"file://{repository}", "ref": "v1", "path": "features"}}}
    create(custom, namespace, featurestore("fromgit", spec))

    fs = wait_for_phase(custom, namespace, "featurestores", "fromgit", {"Ready", "Failed"}, operator=operator)

    assert fs["status"]["phase"] == "Ready", fs["status"].get("message")
    assert fs["status"]["featureViews"] == ["driver_stats"]


def test_git_branch_is_applied(operator, custom, namespace, repository):
    spec = {"project": "fromgit", "repo": {"git": {"url": f"file://{repository}", "path": "features"}}}
    create(custom, namespace, featurestore("frombranch", spec))

    fs = wait_for_phase(custom, namespace, "featurestores", "frombranch", {"Ready", "Failed"}, operator=operator)

    assert fs["status"]["featureViews"] == ["driver_stats", "driver_trips"]
    assert fs["status"]["sourceRevision"] == git(repository, "rev-parse", "main")


def test_git_unknown_ref_fails(operator, custom, namespace, repository):
    spec = {"project": "fromgit", "repo": {"git": {"url": f"file://{repository}", "ref": "no-such-ref"}}}
    create(custom, namespace, featurestore("badref", spec))

    fs = wait_for_phase(custom, namespace, "featurestores", "badref", {"Ready", "Failed"}, operator=operator)

    assert fs["status"]["phase"] == "Failed"
    assert "no-such-ref" in fs["status"]["message"]
