"""Helpers for the devcluster tests: pod manifests with Python containers, waits and reads."""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from kubernetes import client

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
TERMINAL_PHASES = ("Succeeded", "Failed")


def python_container(name: str, script: str, **fields) -> dict:
    """Return a container that runs a Python script with the project's interpreter (devcluster runs no images)."""
    return {"name": name, "image": "python", "command": ["python", "-c", textwrap.dedent(script)], **fields}


def pod_manifest(name: str, containers: list[dict], **spec) -> dict:
    spec.setdefault("restartPolicy", "Never")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": containers, **spec},
    }


def wait_for(condition, timeout: float, description: str, interval: float = 0.3):
    """Call condition until it returns a true value, and return that value. Fail with the description on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {description}")
        time.sleep(interval)


def read_pod(core: client.CoreV1Api, namespace: str, name: str) -> dict | None:
    """Return the pod as a plain dict (camelCase keys, like kubectl -o json), or None if it does not exist."""
    try:
        pod = core.read_namespaced_pod(name, namespace)
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise
    return core.api_client.sanitize_for_serialization(pod)


def wait_phase(core: client.CoreV1Api, namespace: str, name: str, phases: tuple[str, ...], timeout: float = 60) -> dict:
    def reached():
        pod = read_pod(core, namespace, name)
        return pod if pod and pod.get("status", {}).get("phase") in phases else None

    return wait_for(reached, timeout, f"pod {namespace}/{name} to reach phase {' or '.join(phases)}")


def run_pod(core: client.CoreV1Api, namespace: str, manifest: dict, timeout: float = 60) -> dict:
    """Create the pod, wait until it has ended, and return it as a dict."""
    core.create_namespaced_pod(namespace, manifest)
    return wait_phase(core, namespace, manifest["metadata"]["name"], TERMINAL_PHASES, timeout)


def container_status(pod: dict, name: str, init: bool = False) -> dict:
    statuses = pod["status"].get("initContainerStatuses" if init else "containerStatuses") or []
    for status in statuses:
        if status["name"] == name:
            return status
    raise AssertionError(f"pod {pod['metadata']['name']} has no status for container {name}: {statuses}")


def terminated(pod: dict, name: str, init: bool = False) -> dict:
    state = container_status(pod, name, init)["state"]
    assert "terminated" in state, f"container {name} is not terminated: {state}"
    return state["terminated"]


def termination_json(pod: dict, name: str) -> dict:
    """Return the JSON document a container wrote to its termination message."""
    return json.loads(terminated(pod, name)["message"])


def devcluster_command(state_dir: Path, *arguments: str, env: dict[str, str] | None = None, timeout: float = 180):
    """Run `python -m devcluster ARGUMENTS` for the cluster in state_dir and return the completed process."""
    environment = {**os.environ, **(env or {}), "DEVCLUSTER_DIR": str(state_dir)}
    return subprocess.run(
        [sys.executable, "-m", "devcluster", *arguments],
        cwd=REPOSITORY_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def process_exists(pid: int) -> bool:
    """Return whether a process with this pid runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def processes_mentioning(text: str) -> list[str]:
    """Return "pid: command line" of every other process whose command line or environment contains text."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command_line = (entry / "cmdline").read_bytes()
            environment = (entry / "environ").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if text.encode() in command_line or text.encode() in environment:
            if process_exists(int(entry.name)):
                readable = command_line.replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{entry.name}: {readable}")
    return found
