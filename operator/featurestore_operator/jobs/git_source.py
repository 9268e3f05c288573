"""Check out feature definitions from a git repository.

Every apply fetches into a fresh temporary directory (`git init`, `git fetch`,
`git checkout`), because a clone inside the feature repo would be imported by
Feast, which loads every .py file under the repo.

Credentials come from files of a mounted Secret and never reach an argument,
a URL or a log line. A GIT_ASKPASS script returns `username` and `password`,
and a GIT_SSH wrapper passes `ssh-privatekey` (and an optional `known_hosts`)
to ssh. Both helpers are fixed scripts that read the file paths from
environment variables.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

from featurestore_operator.jobs.result import REASON_SOURCE_ERROR, TaskFailure, summarize

logger = logging.getLogger(__name__)

# Transports git may use; git refuses others, such as ext::, which runs commands.
ALLOWED_PROTOCOLS = "https:http:ssh:git:file"

# A fetch of a large repository over a slow link can take minutes; the Job's
# own deadline still bounds the whole task.
GIT_TIMEOUT_SECONDS = 900

# Secret keys, as mounted files in the credentials directory.
USERNAME_KEY = "username"
PASSWORD_KEY = "password"
SSH_KEY_KEY = "ssh-privatekey"
KNOWN_HOSTS_KEY = "known_hosts"

_ASKPASS_SCRIPT = """#!/bin/sh
case "$1" in
  Username*) exec cat "$FEATURESTORE_GIT_USERNAME_FILE" ;;
  *) exec cat "$FEATURESTORE_GIT_PASSWORD_FILE" ;;
esac
"""

_SSH_SCRIPT = """#!/bin/sh
exec ssh -i "$FEATURESTORE_SSH_KEY_FILE" -o IdentitiesOnly=yes -o BatchMode=yes \\
  -o "UserKnownHostsFile=$FEATURESTORE_SSH_KNOWN_HOSTS_FILE" \\
  -o "StrictHostKeyChecking=$FEATURESTORE_SSH_STRICT_HOST_KEY_CHECKING" "$@"
"""

# Parts of git's error output that mean a retry cannot succeed.
_USER_ERROR_MARKERS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "permission denied",
    "repository not found",
    "does not appear to be a git repository",
    "host key verification failed",
    "couldn't find remote ref",
    "not our ref",
)

_HEX_SHA = re.compile(r"[0-9a-fA-F]{7,64}")
_URL_USERINFO = re.compile(r"(://)[^/@\s]+@")


@dataclass
class GitCheckout:
    """A checked-out commit: the clone's directory, the definitions directory and the sha."""

    clone_dir: Path
    definitions_dir: Path
    revision: str


def redact_url(url: str) -> str:
    """Return url without the password or token of its user information."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def _redact_output(text: str) -> str:
    return _URL_USERINFO.sub(r"\1***@", text)


def _write_script(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    path.chmod(0o700)
    return path


def git_environment(credentials_dir: Path | None, work_dir: Path) -> dict[str, str]:
    """Build the environment of the git commands, wiring in credentials from credentials_dir.

    work_dir is a private temporary directory for the helper scripts and the
    private key copy.
    """
    env = dict(os.environ)
    env.update(
        {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ALLOW_PROTOCOL": ALLOWED_PROTOCOLS,
            # Disable credential helpers from system or user configs, so
            # that only the Secret supplies credentials.
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "credential.helper",
            "GIT_CONFIG_VALUE_0": "",
        }
    )
    if credentials_dir is None:
        return env

    username = credentials_dir / USERNAME_KEY
    password = credentials_dir / PASSWORD_KEY
    ssh_key = credentials_dir / SSH_KEY_KEY
    known_hosts = credentials_dir / KNOWN_HOSTS_KEY

    if password.is_file():
        env["GIT_ASKPASS"] = str(_write_script(work_dir / "askpass.sh", _ASKPASS_SCRIPT))
        env["FEATURESTORE_GIT_USERNAME_FILE"] = str(username)
        env["FEATURESTORE_GIT_PASSWORD_FILE"] = str(password)
        if not username.is_file():
            logger.warning(
                "The git credentials have a %r but no %r; git will ask for the password only",
                PASSWORD_KEY,
                USERNAME_KEY,
            )

    if ssh_key.is_file():
        # NOTE: no test covers this SSH branch, because the test machine
        # runs no SSH server. The HTTP password branch is tested.
        # ssh rejects a key file that others can read, and Secret volumes
        # mount files with mode 0644 by default, so use a private copy.
        key_copy = work_dir / "ssh-key"
        key_text = ssh_key.read_bytes()
        if not key_text.endswith(b"\n"):
            key_text += b"\n"
        key_copy.write_bytes(key_text)
        key_copy.chmod(0o600)
        env["GIT_SSH"] = str(_write_script(work_dir / "ssh.sh", _SSH_SCRIPT))
        env["GIT_SSH_VARIANT"] = "ssh"
        env["FEATURESTORE_SSH_KEY_FILE"] = str(key_copy)
        if known_hosts.is_file():
            env["FEATURESTORE_SSH_KNOWN_HOSTS_FILE"] = str(known_hosts)
            env["FEATURESTORE_SSH_STRICT_HOST_KEY_CHECKING"] = "yes"
        else:
            logger.warning(
                "The git credentials have no %r: the SSH host key is accepted without verification",
                KNOWN_HOSTS_KEY,
            )
            env["FEATURESTORE_SSH_KNOWN_HOSTS_FILE"] = str(work_dir / "known_hosts")
            env["FEATURESTORE_SSH_STRICT_HOST_KEY_CHECKING"] = "accept-new"

    if not password.is_file() and not ssh_key.is_file():
        raise TaskFailure(
            REASON_SOURCE_ERROR,
            f"The git credentials in {credentials_dir} have neither {USERNAME_KEY!r} and "
            f"{PASSWORD_KEY!r} nor {SSH_KEY_KEY!r}. Put one of them into the credentials Secret.",
            user_error=True,
        )
    return env


def _run_git(arguments: list[str], env: dict[str, str], url: str) -> str:
    """Run git with arguments and return its stdout; raise SourceError if it fails."""
    command = ["git", *arguments]
    # The subcommand follows the "-C <directory>" option.
    subcommand = arguments[2] if arguments[0] == "-C" else arguments[0]
    try:
        completed = subprocess.run(
            command,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError as error:
        raise TaskFailure(
            REASON_SOURCE_ERROR,
            "The git command is not installed in the Job's image; use an image that has git.",
            user_error=False,
        ) from error
    except subprocess.TimeoutExpired as error:
        raise TaskFailure(
            REASON_SOURCE_ERROR,
            f"git {subcommand} from {redact_url(url)} timed out after {GIT_TIMEOUT_SECONDS} s.",
            user_error=False,
        ) from error

    if completed.returncode != 0:
        output = _redact_output(completed.stderr.strip() or completed.stdout.strip())
        logger.info("git %s failed: %s", subcommand, output)
        raise TaskFailure(
            REASON_SOURCE_ERROR,
            f"git {subcommand} failed for {redact_url(url)}: {summarize(output)}. "
            "Check the git url, ref and credentials Secret of the FeatureStore.",
            user_error=any(marker in output.lower() for marker in _USER_ERROR_MARKERS),
        )
    return completed.stdout.strip()


def _validate_arguments(url: str, ref: str, path: str) -> PurePosixPath:
    # An argument that starts with "-" would be read by git as an option.
    for name, value in (("url", url), ("ref", ref)):
        if not value or value.startswith("-"):
            raise TaskFailure(
                REASON_SOURCE_ERROR,
                f"Invalid git {name} {value!r}: it must be non-empty and must not start with '-'.",
                user_error=True,
            )
    relative = PurePosixPath(path or ".")
    if relative.is_absolute() or ".." in relative.parts:
        raise TaskFailure(
            REASON_SOURCE_ERROR,
            f"Invalid git path {path!r}: use a directory relative to the repository root, "
            "without '..'.",
            user_error=True,
        )
    return relative


def checkout(
    url: str, ref: str, path: str, credentials_dir: Path | None, work_dir: Path
) -> GitCheckout:
    """Fetch ref (a branch, tag or commit) from url into work_dir and check it out.

    work_dir must be an empty private directory that the caller removes.
    Raises TaskFailure with reason SourceError.
    """
    relative = _validate_arguments(url, ref, path)
    env = git_environment(credentials_dir, work_dir)
    clone_dir = work_dir / "clone"
    logger.info("Fetching %s at %s", redact_url(url), ref)

    _run_git(["init", "--quiet", str(clone_dir)], env, url)
    git_dir = ["-C", str(clone_dir)]
    _run_git([*git_dir, "remote", "add", "origin", url], env, url)

    revision = _fetch_revision(git_dir, url, ref, env)

    _run_git([*git_dir, "checkout", "--quiet", "--force", "--detach", revision], env, url)

    definitions_dir = clone_dir / relative
    if not definitions_dir.is_dir() or not definitions_dir.resolve().is_relative_to(
        clone_dir.resolve()
    ):
        raise TaskFailure(
            REASON_SOURCE_ERROR,
            f"Path {path!r} is not a directory in {redact_url(url)} at {ref} ({revision[:12]}). "
            "Set the git path to the directory that holds the definitions.",
            user_error=True,
        )
    logger.info("Checked out %s at %s (%s)", redact_url(url), ref, revision)
    return GitCheckout(clone_dir=clone_dir, definitions_dir=definitions_dir, revision=revision)


def _fetch_revision(git_dir: list[str], url: str, ref: str, env: dict[str, str]) -> str:
    """Fetch ref from origin and return the sha of its commit.

    A shallow fetch of the ref itself covers branches, tags and, where the
    server allows it, commit shas. Servers without shallow support (git's
    dumb HTTP protocol) get a full fetch of the ref. A commit that is not a
    ref's tip may need every branch and tag fetched before it resolves.
    """
    try:
        _run_git([*git_dir, "fetch", "--quiet", "--depth", "1", "origin", ref], env, url)
    except TaskFailure as shallow_error:
        logger.info("Shallow git fetch of %s failed, fetching without --depth: %s", ref, shallow_error.message)
        try:
            _run_git([*git_dir, "fetch", "--quiet", "origin", ref], env, url)
        except TaskFailure as error:
            ref_missing = "couldn't find remote ref" in error.message.lower()
            if not (ref_missing or _HEX_SHA.fullmatch(ref)):
                raise
            if not _HEX_SHA.fullmatch(ref):
                raise _ref_not_found(url, ref) from error
            return _resolve_commit_from_all_refs(git_dir, url, ref, env)
    return _run_git([*git_dir, "rev-parse", "--verify", "FETCH_HEAD^{commit}"], env, url)


def _resolve_commit_from_all_refs(
    git_dir: list[str], url: str, ref: str, env: dict[str, str]
) -> str:
    _run_git(
        [*git_dir, "fetch", "--quiet", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*"],
        env,
        url,
    )
    try:
        return _run_git([*git_dir, "rev-parse", "--verify", f"{ref}^{{commit}}"], env, url)
    except TaskFailure as error:
        raise _ref_not_found(url, ref) from error


def _ref_not_found(url: str, ref: str) -> TaskFailure:
    return TaskFailure(
        REASON_SOURCE_ERROR,
        f"Ref {ref!r} not found in {redact_url(url)}: use an existing branch, tag or commit.",
        user_error=True,
    )

def remove_checkout(work_dir: Path) -> None:
    shutil.rmtree(work_dir, ignore_errors=True)
