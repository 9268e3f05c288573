"""The git source of apply: a local repository made here, over file:// and over HTTP with a password."""

from __future__ import annotations

import base64
import functools
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from featurestore_operator import api
from featurestore_operator.jobs import git_source
from featurestore_operator.jobs.result import TaskFailure
from tests.jobs.support import TEMPLATES, make_source

USERNAME = "feature-team"
PASSWORD = "s3cret-Passw0rd"

EXTRA_VIEW = """
from datetime import timedelta
from feast import FeatureView, Field
from feast.types import Float32
from features import driver, driver_stats_source

driver_extra = FeatureView(
    name="driver_extra",
    entities=[driver],
    ttl=timedelta(days=1),
    schema=[Field(name="acc_rate", dtype=Float32)],
    source=driver_stats_source,
)
"""


def git(*arguments: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    completed = subprocess.run(
        ["git", *arguments], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


@pytest.fixture(scope="module")
def definitions_repo(tmp_path_factory) -> dict:
    """A git repository with definitions under features/: tag v1 has one view, main has two."""
    origin = tmp_path_factory.mktemp("origin")
    git("init", "--quiet", "--initial-branch", "main", cwd=origin)
    features = origin / "features"
    features.mkdir()
    shutil.copy(TEMPLATES / "minimal" / "features.py", features / "features.py")
    # The operator's rendering of feature_store.yaml wins over this one.
    (features / "feature_store.yaml").write_text("project: from_git\nregistry: elsewhere.db\n")
    (origin / "README.md").write_text("Feature definitions\n")
    git("add", ".", cwd=origin)
    git("commit", "--quiet", "-m", "Add the driver view", cwd=origin)
    git("tag", "v1", cwd=origin)
    first = git("rev-parse", "HEAD", cwd=origin)

    (features / "extra.py").write_text(EXTRA_VIEW)
    git("add", ".", cwd=origin)
    git("commit", "--quiet", "-m", "Add the extra view", cwd=origin)
    second = git("rev-parse", "HEAD", cwd=origin)
    return {"path": origin, "url": origin.as_uri(), "v1": first, "main": second}


def test_git_tag_then_branch_apply(workspace, apply_task, definitions_repo):
    repo = workspace / "repo"
    source = make_source(workspace / "source", None, "minimal")
    git_arguments = ["--git-url", definitions_repo["url"], "--git-path", "features"]

    tagged = apply_task(source, *git_arguments, "--git-ref", "v1")

    assert tagged.returncode == api.EXIT_OK, tagged.stdout
    assert tagged.result["sourceRevision"] == definitions_repo["v1"]
    assert tagged.result["featureViews"] == ["driver_stats"]
    assert (repo / "feature_store.yaml").read_text() == (source / "feature_store.yaml").read_text()
    assert not (repo / "README.md").exists()

    branch = apply_task(source, *git_arguments, "--git-ref", "main")

    assert branch.returncode == api.EXIT_OK, branch.stdout
    assert branch.result["sourceRevision"] == definitions_repo["main"]
    assert branch.result["featureViews"] == ["driver_extra", "driver_stats"]
    assert (repo / "extra.py").exists()


def test_checkout_by_commit_sha(tmp_path, definitions_repo):
    checkout = git_source.checkout(
        definitions_repo["url"], definitions_repo["v1"], "features", None, tmp_path
    )

    assert checkout.revision == definitions_repo["v1"]
    assert (checkout.definitions_dir / "features.py").exists()
    assert not (checkout.definitions_dir / "extra.py").exists()


def test_checkout_by_short_sha(tmp_path, definitions_repo):
    checkout = git_source.checkout(
        definitions_repo["url"], definitions_repo["v1"][:10], "", None, tmp_path
    )

    assert checkout.revision == definitions_repo["v1"]


def test_checkout_unknown_ref_fails(tmp_path, definitions_repo):
    with pytest.raises(TaskFailure) as raised:
        git_source.checkout(definitions_repo["url"], "no-such-branch", "", None, tmp_path)

    assert raised.value.reason == "SourceError"
    assert raised.value.user_error is True
    assert "no-such-branch" in raised.value.message


def test_checkout_missing_path_fails(tmp_path, definitions_repo):
    with pytest.raises(TaskFailure) as raised:
        git_source.checkout(definitions_repo["url"], "main", "definitions", None, tmp_path)

    assert raised.value.reason == "SourceError"
    assert raised.value.user_error is True
    assert "'definitions'" in raised.value.message


@pytest.mark.parametrize(
    ("url", "ref", "path"),
    [
        ("--upload-pack=touch /tmp/x", "main", ""),
        ("file:///repo", "--output=/tmp/x", ""),
        ("file:///repo", "main", "../outside"),
        ("file:///repo", "main", "/etc"),
    ],
)
def test_checkout_rejects_unsafe_arguments(tmp_path, url, ref, path):
    with pytest.raises(TaskFailure) as raised:
        git_source.checkout(url, ref, path, None, tmp_path)

    assert raised.value.user_error is True
    assert not (tmp_path / "clone").exists()


class _BasicAuthHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a bare repository over git's dumb HTTP protocol, behind HTTP basic auth."""

    expected = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()

    def do_GET(self):
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def http_url(tmp_path_factory, definitions_repo):
    """The definitions repository served on 127.0.0.1 with a username and password."""
    served = tmp_path_factory.mktemp("served")
    bare = served / "definitions.git"
    git("clone", "--quiet", "--bare", str(definitions_repo["path"]), str(bare), cwd=served)
    git("update-server-info", cwd=bare)

    handler = functools.partial(_BasicAuthHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/definitions.git"
    server.shutdown()
    server.server_close()


def write_credentials(directory: Path, password: str) -> Path:
    directory.mkdir()
    (directory / "username").write_text(USERNAME)
    (directory / "password").write_text(password)
    return directory


def test_checkout_with_password(tmp_path, http_url, definitions_repo):
    credentials = write_credentials(tmp_path / "credentials", PASSWORD)
    work_dir = tmp_path / "work"
    work_dir.mkdir()

    checkout = git_source.checkout(http_url, "v1", "features", credentials, work_dir)

    assert checkout.revision == definitions_repo["v1"]
    assert PASSWORD not in (checkout.clone_dir / ".git" / "config").read_text()


def test_checkout_wrong_password_fails(tmp_path, http_url):
    credentials = write_credentials(tmp_path / "credentials", "wrong-password")
    work_dir = tmp_path / "work"
    work_dir.mkdir()

    with pytest.raises(TaskFailure) as raised:
        git_source.checkout(http_url, "main", "features", credentials, work_dir)

    assert raised.value.reason == "SourceError"
    assert raised.value.user_error is True
    assert "wrong-password" not in raised.value.message


def test_checkout_without_credentials_fails(tmp_path, http_url):
    with pytest.raises(TaskFailure) as raised:
        git_source.checkout(http_url, "main", "features", None, tmp_path)

    assert raised.value.reason == "SourceError"
    assert raised.value.user_error is True


def test_redact_url_hides_password():
    assert git_source.redact_url("https://user:token@example.com/repo.git") == (
        "https://***@example.com/repo.git"
    )
    assert git_source.redact_url("https://example.com/repo.git") == "https://example.com/repo.git"
