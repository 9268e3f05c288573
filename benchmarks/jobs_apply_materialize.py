"""Print how long the apply and materialize Job tasks take on the breast-cancer repo.

Runs each task as the Job does, `python -m featurestore_operator.jobs`, in a
fresh temporary repo. The steps are an apply on an empty repo, an apply with
nothing changed, the first incremental materialization (the 3-day TTL
window), a second incremental one and a range over all 569 days. Prints the
wall time of each process and the task's own durationSeconds. The latter
excludes the interpreter's start-up but includes importing Feast.

Usage: python benchmarks/jobs_apply_materialize.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY_ROOT))

from tests.jobs.support import load_prepare_data, make_source, task_command  # noqa: E402

STEPS = [
    ("apply, empty repo", "apply", []),
    ("apply, unchanged", "apply", []),
    ("materialize incremental, first", "materialize", ["--mode", "incremental"]),
    ("materialize incremental, second", "materialize", ["--mode", "incremental"]),
    ("materialize range, 569 days", "materialize", ["--mode", "range", "--start-time", "2000-01-01T00:00:00Z"]),
]


def run_step(task: str, arguments: list[str], workspace: Path) -> tuple[float, dict]:
    repo = workspace / "repo"
    termination_log = workspace / "termination-log"
    if task == "apply":
        arguments = ["--source-dir", str(workspace / "source"), *arguments]
    command = task_command(task, "--repo", repo, *arguments, "--termination-log", termination_log)

    started = time.monotonic()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=workspace, check=False)
    wall = time.monotonic() - started

    if completed.returncode != 0:
        sys.exit(f"{task} failed with exit code {completed.returncode}:\n{completed.stdout[-4000:]}")
    return wall, json.loads(termination_log.read_text())


def run_once(data_dir: Path) -> list[tuple[str, float, dict]]:
    with tempfile.TemporaryDirectory(prefix="jobs-benchmark-") as directory:
        workspace = Path(directory)
        make_source(workspace / "source", "breast_cancer", "breast_cancer")
        shutil.copytree(data_dir, workspace / "repo" / "data" / "breast_cancer")
        rows = []
        for label, task, arguments in STEPS:
            wall, result = run_step(task, arguments, workspace)
            rows.append((label, wall, result))
        return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of the whole sequence (default: 1)")
    args = parser.parse_args()

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="jobs-benchmark-data-") as data_dir:
        load_prepare_data().prepare(Path(data_dir))
        print(f"{'step':36} {'run':>3} {'wall s':>8} {'task s':>8} {'rows':>6}")
        for run in range(1, args.repeat + 1):
            for label, wall, result in run_once(Path(data_dir)):
                rows = result.get("rowsWritten", "")
                print(f"{label:36} {run:>3} {wall:8.2f} {result['durationSeconds']:8.2f} {rows:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
