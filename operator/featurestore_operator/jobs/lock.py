"""The writer lock of a feature repo, so that two writers never overlap.

Every task that writes the repo, its registry or its online store (apply,
materialize) holds an exclusive fcntl.flock on `<repo>/.featurestore/writer.lock`
for its whole run. The kernel releases the lock when the process exits, so a
killed Job cannot leave a stale lock behind.

NOTE: pods on different nodes exclude each other only if the volume's file
system shares locks between its clients. Linux NFS clients do, because they
emulate flock with byte-range locks (flock(2)). Other network file systems
may not.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

logger = logging.getLogger(__name__)

# The operator's own files inside a feature repo.
STATE_DIR_NAME = ".featurestore"
LOCK_FILE_NAME = "writer.lock"


def lock_path(repo: Path) -> Path:
    return repo / STATE_DIR_NAME / LOCK_FILE_NAME


def _read_holder(lock_file) -> str:
    """Describe the current holder from what it wrote into the lock file."""
    try:
        lock_file.seek(0)
        holder = json.loads(lock_file.read() or "{}")
    except (OSError, ValueError):
        return "another writer"
    return "{task} (pid {pid} on {host}, since {since})".format(
        task=holder.get("task", "unknown task"),
        pid=holder.get("pid", "?"),
        host=holder.get("host", "?"),
        since=holder.get("since", "?"),
    )


@contextmanager
def writer_lock(repo: Path, task: str) -> Iterator[None]:
    """Hold the repo's writer lock for the body, waiting as long as another task holds it."""
    path = lock_path(repo)
    path.parent.mkdir(parents=True, exist_ok=True)

    # "a+" opens without truncating, so a waiting task can still read the
    # holder's description.
    with open(path, "a+", encoding="utf-8") as lock_file:
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info(
                "Waiting for the writer lock %s, held by %s",
                path,
                _read_holder(lock_file),
            )
            started = time.monotonic()
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            logger.info(
                "Acquired the writer lock %s after %.1f s",
                path,
                time.monotonic() - started,
            )

        holder = {
            "task": task,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(json.dumps(holder))
        lock_file.flush()

        try:
            yield
        finally:
            lock_file.seek(0)
            lock_file.truncate()
            lock_file.flush()
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)
