"""The local node: registers a Node, keeps it Ready, runs the pods bound to it, provisions volumes."""

import datetime
import logging
import os
import shutil
import signal
import threading
import time
from pathlib import Path

from kubernetes import client, config, watch

from devcluster.node.logserver import LogServer
from devcluster.node.provisioner import Provisioner, ensure_storage_class
from devcluster.node.runtime import NodeContext, PodWorker, kill_leftover_pods, now
from devcluster.versions import KUBERNETES_VERSION

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10
LEASE_SECONDS = 40
WATCH_SECONDS = 60
TERMINAL_PHASES = ("Succeeded", "Failed")


def _memory_bytes() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def node_capacity(state_dir: Path) -> dict[str, str]:
    disk = os.statvfs(state_dir)
    return {
        "cpu": str(os.cpu_count() or 1),
        "memory": str(_memory_bytes()),
        "pods": "110",
        "ephemeral-storage": str(disk.f_blocks * disk.f_frsize),
    }


def to_dict(api_client: client.ApiClient, obj) -> dict:
    return api_client.sanitize_for_serialization(obj)


class NodeAgent:
    def __init__(self, kubeconfig: Path, state_dir: Path, node_name: str, apiserver_port: int,
                 kubelet_port: int = 0):
        self.kubeconfig = kubeconfig
        self.state_dir = state_dir
        self.node_name = node_name
        self.stop_event = threading.Event()
        self.capacity = node_capacity(state_dir)
        self.context = NodeContext(self.new_client, state_dir, node_name, apiserver_port, self.capacity)
        self.kubelet_port = kubelet_port
        self.workers: dict[str, PodWorker] = {}
        # Uids of pods whose deletion a thread is finishing, so later events start no second one.
        self.deleting: set[str] = set()
        self.lock = threading.Lock()
        self.ready_since = now()
        self.api_client = self.new_client()
        self.core = client.CoreV1Api(self.api_client)

    def new_client(self) -> client.ApiClient:
        return config.new_client_from_config(config_file=str(self.kubeconfig))

    # --- registration and heartbeats -----------------------------------------

    def register(self) -> None:
        node = client.V1Node(
            metadata=client.V1ObjectMeta(
                name=self.node_name,
                labels={
                    "kubernetes.io/hostname": self.node_name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                },
            ),
        )
        try:
            self.core.create_node(node)
            log.info("registered node %s", self.node_name)
        except client.ApiException as error:
            if error.status != 409:
                raise
        self.report_node_status()
        ensure_storage_class(client.StorageV1Api(self.api_client))

    def report_node_status(self) -> None:
        stamp = now()

        def condition(kind: str, status: str, reason: str, message: str) -> dict:
            return {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": stamp,
                "lastTransitionTime": self.ready_since,
            }

        status = {
            "capacity": self.capacity,
            "allocatable": self.capacity,
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": self.node_name},
            ],
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "devcluster node"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "devcluster node"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "devcluster node"),
                condition("Ready", "True", "KubeletReady", "devcluster node runs pods as host processes"),
            ],
            "nodeInfo": {
                "kubeletVersion": KUBERNETES_VERSION,
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "containerRuntimeVersion": "devcluster://host-process",
                "osImage": "host",
                "kernelVersion": os.uname().release,
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
            },
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.kubelet_port}},
        }
        self.core.patch_node_status(self.node_name, {"status": status})

    def renew_lease(self, coordination: client.CoordinationV1Api) -> None:
        stamp = datetime.datetime.now(datetime.timezone.utc)
        lease = client.V1Lease(
            metadata=client.V1ObjectMeta(name=self.node_name, namespace="kube-node-lease"),
            spec=client.V1LeaseSpec(
                holder_identity=self.node_name, lease_duration_seconds=LEASE_SECONDS, renew_time=stamp
            ),
        )
        try:
            coordination.patch_namespaced_lease(self.node_name, "kube-node-lease", lease)
        except client.ApiException as error:
            if error.status != 404:
                raise
            coordination.create_namespaced_lease("kube-node-lease", lease)

    def heartbeat_loop(self) -> None:
        coordination = client.CoordinationV1Api(self.new_client())
        while not self.stop_event.is_set():
            try:
                self.renew_lease(coordination)
                self.report_node_status()
            except Exception as error:  # noqa: BLE001 - keep beating through API hiccups
                log.warning("heartbeat failed, retrying: %s", error)
            self.stop_event.wait(HEARTBEAT_SECONDS)

    # --- watches --------------------------------------------------------------

    def watch_forever(self, what: str, list_function_name: str, handle, on_listed=None, **kwargs) -> None:
        """List, then watch, and start over on expiry or error, until the node stops.

        on_listed, if given, receives the uids of each full listing, so objects
        deleted while no watch ran are noticed too.
        """
        api_client = self.new_client()
        api = client.CoreV1Api(api_client)
        list_function = getattr(api, list_function_name)
        while not self.stop_event.is_set():
            try:
                listing = list_function(**kwargs)
                for item in listing.items:
                    handle("ADDED", to_dict(api_client, item))
                if on_listed is not None:
                    on_listed({item.metadata.uid for item in listing.items})
                stream = watch.Watch()
                for event in stream.stream(
                    list_function, resource_version=listing.metadata.resource_version, timeout_seconds=WATCH_SECONDS,
                    **kwargs,
                ):
                    if self.stop_event.is_set():
                        stream.stop()
                        break
                    if event["type"] == "ERROR":
                        break
                    handle(event["type"], to_dict(api_client, event["object"]))
            except Exception as error:  # noqa: BLE001 - a watch must survive restarts of the API server
                if not self.stop_event.is_set():
                    log.warning("%s watch failed, restarting: %s", what, error)
                    self.stop_event.wait(1)

    def on_pod(self, event_type: str, pod: dict) -> None:
        metadata = pod["metadata"]
        uid = metadata["uid"]
        with self.lock:
            worker = self.workers.get(uid)
            if event_type == "DELETED":
                if worker is not None:
                    worker.stop(0)
                    self.workers.pop(uid, None)
                if uid not in self.deleting:
                    threading.Thread(target=self._remove_pod_files, args=(uid, worker), daemon=True).start()
                return
            if metadata.get("deletionTimestamp"):
                if uid in self.deleting:
                    return
                self.deleting.add(uid)
                grace = metadata.get("deletionGracePeriodSeconds") or 0
                threading.Thread(target=self._finish_deletion, args=(pod, worker, grace), daemon=True).start()
                return
            if worker is not None:
                return
            phase = (pod.get("status") or {}).get("phase")
            if phase in TERMINAL_PHASES:
                return
            if phase == "Running":
                self._fail_orphan(pod)
                return
            worker = PodWorker(pod, self.context)
            self.workers[uid] = worker
            worker.start()

    def on_pods_listed(self, uids: set[str]) -> None:
        """Stop the workers of pods that no longer exist: their DELETED event came while no watch ran."""
        with self.lock:
            gone = {uid: worker for uid, worker in self.workers.items() if uid not in uids}
            for uid in gone:
                self.workers.pop(uid)
        for uid, worker in gone.items():
            if not worker.done.is_set():
                log.info("pod %s/%s no longer exists: stopping its containers", worker.namespace, worker.name)
            worker.stop(0)
            threading.Thread(target=self._remove_pod_files, args=(uid, worker), daemon=True).start()

    def _fail_orphan(self, pod: dict) -> None:
        """Mark a pod that a previous node process was running as Failed: its processes are gone."""
        message = "the devcluster node restarted while this pod ran; its containers were stopped"
        body = {"status": {"phase": "Failed", "reason": "NodeRestarted", "message": message}}
        self.core.patch_namespaced_pod_status(pod["metadata"]["name"], pod["metadata"]["namespace"], body)
        log.info("pod %s/%s failed: %s", pod["metadata"]["namespace"], pod["metadata"]["name"], message)

    def _finish_deletion(self, pod: dict, worker: PodWorker | None, grace: float) -> None:
        """Stop the pod's containers within the grace period, then remove the pod object."""
        metadata = pod["metadata"]
        if worker is not None and not worker.done.is_set():
            worker.stop(grace)
            worker.done.wait(grace + 10)
        try:
            self.core.delete_namespaced_pod(
                metadata["name"],
                metadata["namespace"],
                grace_period_seconds=0,
                body=client.V1DeleteOptions(grace_period_seconds=0, preconditions=client.V1Preconditions(uid=metadata["uid"])),
            )
        except client.ApiException as error:
            if error.status not in (404, 409):
                log.warning("pod %s/%s: delete failed: %s", metadata["namespace"], metadata["name"], error.reason)
        self._remove_pod_files(metadata["uid"], None)
        with self.lock:
            self.workers.pop(metadata["uid"], None)
            self.deleting.discard(metadata["uid"])

    def _remove_pod_files(self, uid: str, worker: PodWorker | None) -> None:
        """Remove a deleted pod's volumes, container specs and temporary files; keep its logs and pod.json."""
        if worker is not None:
            worker.done.wait(30)
        pod_dir = self.state_dir / "pods" / uid
        for name in ("volumes", "containers", "tmp"):
            shutil.rmtree(pod_dir / name, ignore_errors=True)

    # --- run ------------------------------------------------------------------

    def _pod_running(self, uid: str) -> bool:
        worker = self.workers.get(uid)
        return worker is not None and not worker.done.is_set()

    def start_log_server(self) -> None:
        """Serve `kubectl logs` on the kubelet port, with the cluster's certificates."""
        pki = self.state_dir / "pki"
        LogServer(self.state_dir / "pods", self.kubelet_port, pki / "ca.crt", pki / "apiserver.crt",
                  pki / "apiserver.key", self._pod_running).start()

    def run(self) -> None:
        kill_leftover_pods(self.state_dir / "pods")
        if self.kubelet_port:
            self.start_log_server()
        self.register()
        provisioner = Provisioner(self.core, self.state_dir / "volumes")
        threads = [
            threading.Thread(target=self.heartbeat_loop, name="heartbeat", daemon=True),
            threading.Thread(
                target=self.watch_forever,
                args=("pod", "list_pod_for_all_namespaces", self.on_pod, self.on_pods_listed),
                kwargs={"field_selector": f"spec.nodeName={self.node_name}"},
                name="pods",
                daemon=True,
            ),
            threading.Thread(
                target=self.watch_forever,
                args=("claim", "list_persistent_volume_claim_for_all_namespaces",
                      lambda kind, claim: kind != "DELETED" and provisioner.on_claim(claim)),
                name="claims",
                daemon=True,
            ),
            threading.Thread(
                target=self.watch_forever,
                args=("volume", "list_persistent_volume", lambda kind, volume: kind != "DELETED" and provisioner.on_volume(volume)),
                name="volumes",
                daemon=True,
            ),
        ]
        for thread in threads:
            thread.start()
        log.info("node %s ready", self.node_name)
        self.stop_event.wait()

        log.info("node %s stopping: killing %d pods", self.node_name, len(self.workers))
        with self.lock:
            workers = list(self.workers.values())
        for worker in workers:
            worker.stop(2, "Killing")
        for worker in workers:
            worker.done.wait(10)
        kill_leftover_pods(self.state_dir / "pods")

    def install_signal_handlers(self) -> None:
        def handle(signum, _frame):
            log.info("received signal %d", signum)
            self.stop_event.set()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
