"""Print how fast devcluster starts and stops, how fast a pod runs, and how much memory it uses.

Runs `python -m devcluster up` and `down` as a user does, in a new temporary
state directory: the first `up` also makes the certificates and an empty etcd,
the next ones restart on the existing state (a warm start). The binaries must
be built already (`python -m devcluster build`); a cold build is measured by
benchmarks/devcluster_build.py. After the last start it times a few one-shot
pods (`python -c pass`) from create to Succeeded. Then it reads the memory of
each component: the resident set size (RSS) and the proportional set size
(PSS), which splits shared pages between the processes that map them.

Usage: python benchmarks/devcluster_start.py [--restarts N] [--pods N] [--settle SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY_ROOT))

from devcluster.versions import ETCD_VERSION, KUBERNETES_VERSION  # noqa: E402


def devcluster(state_dir: Path, command: str) -> float:
    """Run `python -m devcluster COMMAND` and return its wall time in seconds, or exit if it fails."""
    env = {**os.environ, "DEVCLUSTER_DIR": str(state_dir)}
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "devcluster", command], cwd=REPOSITORY_ROOT, env=env, capture_output=True, text=True
    )
    wall = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit(f"devcluster {command} failed (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    return wall


def memory_kib(pid: int) -> tuple[int, int]:
    """Return the RSS and PSS of a process in KiB, from /proc/PID/smaps_rollup."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:"):
                values[parts[0]] = int(parts[1])
    return values["Rss:"], values["Pss:"]


def pod_round_trips(state_dir: Path, count: int) -> list[float]:
    """Create one-shot pods one after another and return each one's seconds from create to Succeeded."""
    from kubernetes import client, config

    core = client.CoreV1Api(config.new_client_from_config(config_file=str(state_dir / "kubeconfig")))
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="benchmark")))
    durations = []
    for number in range(count):
        name = f"one-shot-{number}"
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": "python", "command": ["python", "-c", "pass"]}],
            },
        }
        started = time.monotonic()
        core.create_namespaced_pod("benchmark", pod)
        while core.read_namespaced_pod(name, "benchmark").status.phase not in ("Succeeded", "Failed"):
            if time.monotonic() - started > 120:
                sys.exit(f"pod {name} did not end within 120 s")
            time.sleep(0.05)
        durations.append(time.monotonic() - started)
    return durations


def describe_machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        memory_gib = int(meminfo.readline().split()[1]) / 1024 / 1024
    return (
        f"{model}, {os.cpu_count()} cores, {memory_gib:.0f} GiB, Linux {platform.release()}, "
        f"Python {platform.python_version()}; Kubernetes {KUBERNETES_VERSION}, etcd {ETCD_VERSION}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=3, help="warm starts after the first one (default 3)")
    parser.add_argument("--pods", type=int, default=5, help="one-shot pods to time (default 5)")
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds to wait after the last start before reading memory"
    )
    arguments = parser.parse_args()

    print(f"machine: {describe_machine()}")
    with tempfile.TemporaryDirectory(prefix="devcluster-benchmark-") as directory:
        state_dir = Path(directory)
        warm: list[float] = []
        downs: list[float] = []
        try:
            first = devcluster(state_dir, "up")
            for _ in range(arguments.restarts):
                downs.append(devcluster(state_dir, "down"))
                warm.append(devcluster(state_dir, "up"))

            round_trips = pod_round_trips(state_dir, arguments.pods)
            time.sleep(arguments.settle)
            components = json.loads((state_dir / "state.json").read_text())["components"]
            memory = {entry["name"]: memory_kib(entry["pid"]) for entry in components}
        finally:
            downs.append(devcluster(state_dir, "down"))

    print(f"first up, new state directory: {first:.1f} s")
    if warm:
        print(f"warm up, {len(warm)} runs: median {statistics.median(warm):.1f} s, max {max(warm):.1f} s")
    print(f"down, {len(downs)} runs: median {statistics.median(downs):.1f} s, max {max(downs):.1f} s")
    if round_trips:
        print(
            f"one-shot pod, create to Succeeded, {len(round_trips)} pods: "
            f"median {statistics.median(round_trips):.2f} s, max {max(round_trips):.2f} s"
        )
    print(f"memory {arguments.settle:.0f} s after the last up:")
    print(f"  {'component':<25} {'RSS MiB':>8} {'PSS MiB':>8}")
    for name, (rss, pss) in memory.items():
        print(f"  {name:<25} {rss / 1024:8.0f} {pss / 1024:8.0f}")
    total_rss = sum(rss for rss, _ in memory.values())
    total_pss = sum(pss for _, pss in memory.values())
    print(f"  {'total':<25} {total_rss / 1024:8.0f} {total_pss / 1024:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
