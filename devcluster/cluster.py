"""Bring the local control plane up and down: etcd, kube-apiserver, controllers, scheduler, node.

All state lives in one directory (default <repository>/.devcluster, or $DEVCLUSTER_DIR):
certificates, etcd data, logs, the kubeconfig, host-directory volumes and pod files.
Every server listens on 127.0.0.1 only.
"""

import json
import logging
import os
import sys
import time
from pathlib import Path

import yaml

from devcluster import build, pki
from devcluster.processes import Component, ComponentError, free_port, port_is_free, start, stop, wait_healthy

log = logging.getLogger(__name__)

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
NODE_NAME = "devcluster-node"

# The service range only feeds the API server's ClusterIP allocator: this
# cluster runs no kube-proxy, so no process ever connects to these addresses.
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16"

CONTROLLERS = [
    "job-controller",
    "cronjob-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "ttl-after-finished-controller",
    "persistentvolume-binder-controller",
    "persistentvolumeclaim-protection-controller",
    "persistentvolume-protection-controller",
    "root-ca-certificate-publisher-controller",
    "pod-garbage-collector-controller",
    "node-lifecycle-controller",
    "deployment-controller",
    "replicaset-controller",
]

START_ORDER = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "node"]


def state_dir() -> Path:
    return Path(os.environ.get("DEVCLUSTER_DIR") or REPOSITORY_ROOT / ".devcluster").resolve()


def kubeconfig_path(directory: Path | None = None) -> Path:
    return (directory or state_dir()) / "kubeconfig"


def _state_file(directory: Path) -> Path:
    return directory / "state.json"


def _ports_file(directory: Path) -> Path:
    return directory / "ports.json"


def _load_ports(directory: Path) -> dict[str, int] | None:
    """Return the ports of the last run, which `down` keeps, so the next `up` can reuse them."""
    try:
        return json.loads(_ports_file(directory).read_text())
    except (FileNotFoundError, ValueError):
        return None


def load_state(directory: Path) -> dict | None:
    try:
        return json.loads(_state_file(directory).read_text())
    except FileNotFoundError:
        return None


def _components(state: dict) -> list[Component]:
    return [
        Component(
            name=entry["name"], pid=entry["pid"], log_path=Path(entry["log"]), start_time=entry.get("start_time")
        )
        for entry in state["components"]
    ]


def _save_state(directory: Path, ports: dict[str, int], components: list[Component]) -> None:
    state = {
        "ports": ports,
        "components": [
            {"name": c.name, "pid": c.pid, "start_time": c.start_time, "log": str(c.log_path)} for c in components
        ],
    }
    _state_file(directory).write_text(json.dumps(state, indent=2))
    _ports_file(directory).write_text(json.dumps(ports))


def write_kubeconfig(directory: Path, paths: dict[str, Path], apiserver_port: int) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "devcluster",
                "cluster": {
                    "server": f"https://127.0.0.1:{apiserver_port}",
                    "certificate-authority": str(paths["ca_cert"]),
                },
            }
        ],
        "users": [
            {
                "name": "devcluster-admin",
                "user": {"client-certificate": str(paths["admin_cert"]), "client-key": str(paths["admin_key"])},
            }
        ],
        "contexts": [{"name": "devcluster", "context": {"cluster": "devcluster", "user": "devcluster-admin"}}],
        "current-context": "devcluster",
    }
    path = kubeconfig_path(directory)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


def _choose_ports(previous: dict[str, int] | None, apiserver_port: int | None) -> dict[str, int]:
    """Keep the previous run's ports where they are still free, so old kubeconfigs keep working."""
    names = ["etcd_client", "etcd_peer", "apiserver", "controller_manager", "scheduler", "kubelet"]
    ports: dict[str, int] = {}
    for name in names:
        if name == "apiserver" and apiserver_port:
            if not port_is_free(apiserver_port):
                raise ComponentError(
                    f"kube-apiserver port {apiserver_port} on 127.0.0.1 is already in use: "
                    "stop what listens there or choose another --apiserver-port"
                )
            ports[name] = apiserver_port
            continue
        wanted = (previous or {}).get(name)
        chosen = wanted if wanted and port_is_free(wanted) and wanted not in ports.values() else free_port()
        while chosen in ports.values():
            chosen = free_port()
        ports[name] = chosen
    return ports


def _etcd_command(binary: Path, directory: Path, ports: dict[str, int]) -> list[str]:
    client = f"http://127.0.0.1:{ports['etcd_client']}"
    peer = f"http://127.0.0.1:{ports['etcd_peer']}"
    return [
        str(binary),
        "--name=devcluster",
        f"--data-dir={directory / 'etcd'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=devcluster={peer}",
        # A development cluster trades crash durability for speed.
        "--unsafe-no-fsync",
        "--log-level=warn",
    ]


def _apiserver_command(binary: Path, paths: dict[str, Path], ports: dict[str, int]) -> list[str]:
    return [
        str(binary),
        f"--etcd-servers=http://127.0.0.1:{ports['etcd_client']}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={ports['apiserver']}",
        f"--tls-cert-file={paths['serving_cert']}",
        f"--tls-private-key-file={paths['serving_key']}",
        f"--client-ca-file={paths['ca_cert']}",
        f"--service-account-key-file={paths['sa_pub']}",
        f"--service-account-signing-key-file={paths['sa_key']}",
        "--service-account-issuer=https://kubernetes.default.svc",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        "--authorization-mode=RBAC",
        "--allow-privileged=true",
        # The endpoints of the kubernetes Service would be 127.0.0.1, which the
        # API rejects; nothing in this cluster routes through that Service.
        "--endpoint-reconciler-type=none",
        # Reach the node (kubectl logs, exec) at its InternalIP 127.0.0.1, never by
        # looking up its host name, which would send a DNS query off this machine.
        "--kubelet-preferred-address-types=InternalIP",
        f"--kubelet-client-certificate={paths['admin_cert']}",
        f"--kubelet-client-key={paths['admin_key']}",
        "--v=1",
    ]


def _component_kubeconfig_flags(kubeconfig: Path) -> list[str]:
    return [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        "--leader-elect=false",
    ]


def _controller_manager_command(binary: Path, paths: dict[str, Path], ports: dict[str, int], kubeconfig: Path):
    return [
        str(binary),
        *_component_kubeconfig_flags(kubeconfig),
        f"--secure-port={ports['controller_manager']}",
        f"--controllers={','.join(CONTROLLERS)}",
        f"--service-account-private-key-file={paths['sa_key']}",
        f"--root-ca-file={paths['ca_cert']}",
        "--use-service-account-credentials=true",
        "--v=1",
    ]


def _scheduler_command(binary: Path, ports: dict[str, int], kubeconfig: Path) -> list[str]:
    return [str(binary), *_component_kubeconfig_flags(kubeconfig), f"--secure-port={ports['scheduler']}", "--v=1"]


def _node_command(directory: Path, kubeconfig: Path, ports: dict[str, int]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "devcluster.node",
        f"--kubeconfig={kubeconfig}",
        f"--state-dir={directory}",
        f"--node-name={NODE_NAME}",
        f"--apiserver-port={ports['apiserver']}",
        f"--kubelet-port={ports['kubelet']}",
    ]


def is_running(directory: Path) -> bool:
    state = load_state(directory)
    return bool(state) and all(component.alive() for component in _components(state))


def up(apiserver_port: int | None = None, timeout: float = 120.0) -> Path:
    """Start every component (building binaries first if needed) and return the kubeconfig path."""
    directory = state_dir()
    previous = load_state(directory)
    if previous and is_running(directory):
        log.info("devcluster already running in %s", directory)
        return kubeconfig_path(directory)
    if previous:
        stopped = [component.name for component in _components(previous) if not component.alive()]
        log.info("stopping the rest of a previous run whose %s stopped", ", ".join(stopped))
        down()

    binaries = build.ensure_binaries()
    started_at = time.monotonic()
    log_dir = directory / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    paths = pki.ensure_pki(directory / "pki")
    ports = _choose_ports(_load_ports(directory) or (previous or {}).get("ports"), apiserver_port)
    kubeconfig = write_kubeconfig(directory, paths, ports["apiserver"])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY_ROOT), env.get("PYTHONPATH")]))

    components: list[Component] = []
    try:
        etcd = start("etcd", _etcd_command(binaries["etcd"], directory, ports), log_dir)
        components.append(etcd)
        _save_state(directory, ports, components)
        wait_healthy(etcd, f"http://127.0.0.1:{ports['etcd_client']}/health", timeout)

        apiserver = start("kube-apiserver", _apiserver_command(binaries["kube-apiserver"], paths, ports), log_dir)
        components.append(apiserver)
        _save_state(directory, ports, components)
        wait_healthy(
            apiserver,
            f"https://127.0.0.1:{ports['apiserver']}/readyz",
            timeout,
            ca_file=paths["ca_cert"],
            cert=paths["admin_cert"],
            key=paths["admin_key"],
        )

        manager_command = _controller_manager_command(binaries["kube-controller-manager"], paths, ports, kubeconfig)
        manager = start("kube-controller-manager", manager_command, log_dir)
        scheduler = start("kube-scheduler", _scheduler_command(binaries["kube-scheduler"], ports, kubeconfig), log_dir)
        node = start("node", _node_command(directory, kubeconfig, ports), log_dir, env=env)
        components += [manager, scheduler, node]
        _save_state(directory, ports, components)
        wait_healthy(manager, f"https://127.0.0.1:{ports['controller_manager']}/healthz", timeout)
        wait_healthy(scheduler, f"https://127.0.0.1:{ports['scheduler']}/healthz", timeout)
        _wait_node_ready(node, kubeconfig, timeout)
    except BaseException:
        for component in reversed(components):
            stop(component)
        _state_file(directory).unlink(missing_ok=True)
        raise

    log.info("devcluster up in %.1f s (state in %s)", time.monotonic() - started_at, directory)
    return kubeconfig


def _wait_node_ready(node: Component, kubeconfig: Path, timeout: float) -> None:
    """Wait until the node reports Ready and the default StorageClass exists."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    core = client.CoreV1Api(api_client)
    storage = client.StorageV1Api(api_client)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not node.alive():
            raise node.failure("exited during start")
        try:
            status = core.read_node_status(NODE_NAME).status
            ready = any(c.type == "Ready" and c.status == "True" for c in status.conditions or [])
            if ready and storage.list_storage_class().items:
                return
        except client.ApiException as error:
            if error.status != 404:
                raise
        time.sleep(0.3)
    raise node.failure(f"did not report Ready within {timeout:.0f} s")


def down() -> None:
    """Stop every component and any pod process left behind; keep the state directory."""
    directory = state_dir()
    state = load_state(directory)
    if state:
        for component in sorted(_components(state), key=lambda c: -START_ORDER.index(c.name)):
            stop(component)
    from devcluster.node.runtime import kill_leftover_pods

    kill_leftover_pods(directory / "pods")
    _state_file(directory).unlink(missing_ok=True)


def status() -> dict[str, str]:
    """Return each component's name mapped to running or stopped."""
    state = load_state(state_dir())
    if not state:
        return {}
    return {component.name: ("running" if component.alive() else "stopped") for component in _components(state)}
