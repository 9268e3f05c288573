"""The writer lock: a second writer on the same repo waits until the first one ends."""

from __future__ import annotations

import os
import subprocess
import time

from featurestore_operator import api
from featurestore_operator.jobs.lock import writer_lock
from tests.jobs.support import TASK_TIMEOUT_SECONDS, make_source, task_command

WAITING_LINE = "Waiting for the writer lock"


def wait_for_text(path, text: str, process: subprocess.Popen, deadline_seconds: float) -> str:
    """Poll path until it contains text, the process exits or the deadline passes."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline and process.poll() is None:
        output = path.read_text()
        if text in output:
            return output
        time.sleep(0.2)
    return path.read_text()


def test_apply_waits_for_held_lock(workspace):
    repo = workspace / "repo"
    source = make_source(workspace / "source", "minimal", "minimal")
    log_path = workspace / "apply.log"
    command = task_command(
        "apply",
        "--repo",
        repo,
        "--source-dir",
        source,
        "--termination-log",
        workspace / "termination-log",
    )

    # This test process is the first writer; the apply subprocess is the second.
    with writer_lock(repo, "first-writer"):
        with log_path.open("w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workspace)
        output = wait_for_text(log_path, WAITING_LINE, process, TASK_TIMEOUT_SECONDS)

        assert WAITING_LINE in output
        assert f"first-writer (pid {os.getpid()}" in output
        # Still blocked while the lock is held: nothing has been synced yet.
        time.sleep(1)
        assert process.poll() is None
        assert not (repo / "features.py").exists()

    returncode = process.wait(timeout=TASK_TIMEOUT_SECONDS)
    output = log_path.read_text()

    assert returncode == api.EXIT_OK, output
    assert "Acquired the writer lock" in output
    assert (repo / "features.py").exists()
