"""Print how long a cold build of the devcluster binaries takes.

Runs `python -m devcluster build` with DEVCLUSTER_CACHE and GOCACHE pointed at
new temporary folders, so Go compiles every package again. The Go module cache
(GOMODCACHE) is left as it is: the modules must be downloaded already, and
their download time is not part of the figure. With --only, the other part's
binaries are linked into the temporary cache from the real one, so only the
chosen part is built. A full cold build keeps both cores busy for minutes.

Usage: python benchmarks/devcluster_build.py [--only etcd|kubernetes]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY_ROOT))

from devcluster import build  # noqa: E402
from devcluster.versions import ETCD_VERSION, KUBERNETES_COMMANDS, KUBERNETES_VERSION  # noqa: E402


def link_prebuilt(cache: Path, names: list[str]) -> None:
    """Link the named binaries from the real cache into the temporary one, so they are not built."""
    real = build.binary_paths()
    for name in names:
        if not real[name].exists():
            sys.exit(f"{name} is not built at {real[name]}: run `python -m devcluster build` first, or drop --only")
        folder = f"etcd-{ETCD_VERSION}" if name == "etcd" else f"kubernetes-{KUBERNETES_VERSION}"
        target = cache / "bin" / folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(real[name])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["etcd", "kubernetes"], help="build one part only (default: both)")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="devcluster-build-benchmark-") as directory:
        cache = Path(directory) / "cache"
        if arguments.only == "etcd":
            link_prebuilt(cache, list(KUBERNETES_COMMANDS))
        elif arguments.only == "kubernetes":
            link_prebuilt(cache, ["etcd"])
        env = {**os.environ, "DEVCLUSTER_CACHE": str(cache), "GOCACHE": str(Path(directory) / "gocache")}

        started = time.monotonic()
        completed = subprocess.run(
            [sys.executable, "-m", "devcluster", "build"], cwd=REPOSITORY_ROOT, env=env, capture_output=True, text=True
        )
        wall = time.monotonic() - started

    if completed.returncode != 0:
        sys.exit(f"devcluster build failed (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    print(f"cores: {os.cpu_count()}; Kubernetes {KUBERNETES_VERSION}, etcd {ETCD_VERSION}")
    for line in completed.stdout.splitlines():
        # build.py logs one "built PACKAGES in N s" line per go build.
        if " built " in line:
            print(line.split(" ", 2)[2])
    minutes, seconds = divmod(round(wall), 60)
    print(f"total wall time of `python -m devcluster build`: {minutes} min {seconds} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
