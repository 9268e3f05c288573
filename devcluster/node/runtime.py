"""Run one pod's containers as host processes and report their states like a kubelet."""

import datetime
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from kubernetes import client

from devcluster.node.env import ContainerConfigError, EnvResolver, base_environment, container_environment, expand
from devcluster.node.volumes import VolumeNotReady, VolumeResolver, container_mounts
from devcluster.processes import process_start_time

log = logging.getLogger(__name__)

NSEXEC = Path(__file__).resolve().parent / "nsexec.py"
TERMINATION_MESSAGE_LIMIT = 4096
FALLBACK_LOG_LINES = 80
FALLBACK_LOG_BYTES = 2048
RETRY_SECONDS = 2.0
MAX_RESTART_BACKOFF = 300.0


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def kill_leftover_pods(pods_dir: Path) -> None:
    """Kill the process group recorded in every <pods_dir>/*/*.pgid file and remove the file.

    A file contains "PGID START_TIME" (older nodes wrote the PGID alone). A
    leader that runs with another start time means the pid was reused. The
    kernel reuses no pid while a live process has it as group id, so the
    container's group is empty then and is left alone.
    """
    for pgid_file in pods_dir.glob("*/*.pgid"):
        try:
            fields = pgid_file.read_text().split()
            pgid = int(fields[0])
            recorded_start = int(fields[1]) if len(fields) > 1 else None
        except FileNotFoundError:
            # The node removed it: the container ended meanwhile.
            continue
        except (IndexError, ValueError):
            pgid_file.unlink(missing_ok=True)
            continue
        current_start = process_start_time(pgid)
        if recorded_start is None or current_start is None or current_start == recorded_start:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pgid_file.unlink(missing_ok=True)


class NodeContext:
    """State shared by every pod worker: the API client factory, paths and the node's capacity."""

    def __init__(self, api_client_factory, state_dir: Path, node_name: str, apiserver_port: int, allocatable: dict):
        self.api_client_factory = api_client_factory
        self.state_dir = state_dir
        self.node_name = node_name
        self.apiserver_port = apiserver_port
        self.allocatable = allocatable


class ContainerRun:
    """One start of one container: its process, log and termination-message files."""

    def __init__(self, worker: "PodWorker", container: dict, restart_count: int):
        self.worker = worker
        self.container = container
        self.name = container["name"]
        self.restart_count = restart_count
        self.directory = worker.pod_dir / "containers" / self.name
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log_path = worker.pod_dir / "logs" / f"{self.name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.termination_file = self.directory / "termination-log"
        self.process: subprocess.Popen | None = None
        self.started_at = ""
        self.finished_at = ""
        self.exit_code: int | None = None
        self.reason = ""

    def start(self, volume_paths: dict[str, Path]) -> None:
        pod = self.worker.pod
        base = base_environment(pod, self.worker.context.apiserver_port, str(self.worker.tmp_dir))
        resolver = EnvResolver(self.worker.core, pod["metadata"]["namespace"])
        env = container_environment(pod, self.container, resolver, base, self.worker.context.allocatable)
        command = list(self.container.get("command") or []) + list(self.container.get("args") or [])
        if not self.container.get("command"):
            raise ContainerConfigError(
                f"container {self.name} has no command: devcluster runs no images, so set command (and args)"
            )
        command = [expand(part, env) for part in command]
        mounts = container_mounts(self.container, volume_paths, env)
        self.termination_file.write_bytes(b"")
        mounts.append(
            {
                "source": str(self.termination_file),
                "target": self.container.get("terminationMessagePath") or "/dev/termination-log",
                "readOnly": False,
            }
        )
        spec = {
            "mounts": mounts,
            "workingDir": self.container.get("workingDir") or "/",
            "env": env,
            "command": command,
        }
        spec_path = self.directory / "spec.json"
        spec_path.write_text(json.dumps(spec))
        spec_path.chmod(0o600)

        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, str(NSEXEC), str(spec_path)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        pgid_record = f"{self.process.pid} {process_start_time(self.process.pid)}"
        (self.worker.pod_dir / f"{self.name}.pgid").write_text(pgid_record)
        self.started_at = now()
        log.info("started %s/%s container %s (pid %d)", self.worker.namespace, self.worker.name, self.name,
                 self.process.pid)

    def poll(self) -> int | None:
        if self.process is None or self.exit_code is not None:
            return self.exit_code
        code = self.process.poll()
        if code is not None:
            self._finish(code)
        return self.exit_code

    def _finish(self, code: int) -> None:
        # A process killed by a signal has a negative code here; a kubelet reports 128 + signal.
        self.exit_code = 128 - code if code < 0 else code
        self.finished_at = now()
        if not self.reason:
            self.reason = "Completed" if self.exit_code == 0 else "Error"
        # A container ends with its main process, as a PID namespace does when
        # its init exits: kill what the process left running in its group.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        (self.worker.pod_dir / f"{self.name}.pgid").unlink(missing_ok=True)

    def kill(self, grace_seconds: float, reason: str) -> None:
        if self.process is None or self.process.poll() is not None:
            if self.process is not None:
                self.poll()
            return
        self.reason = reason
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=max(grace_seconds, 0.1))
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass
        self.poll()

    def termination_message(self) -> str:
        message = self.termination_file.read_bytes()[:TERMINATION_MESSAGE_LIMIT].decode(errors="replace")
        policy = self.container.get("terminationMessagePolicy") or "File"
        if not message.strip() and policy == "FallbackToLogsOnError" and self.exit_code:
            lines = self.log_path.read_bytes().splitlines()[-FALLBACK_LOG_LINES:]
            message = b"\n".join(lines)[-FALLBACK_LOG_BYTES:].decode(errors="replace")
        return message

    def state(self) -> dict:
        if self.exit_code is not None:
            terminated = {
                "exitCode": self.exit_code,
                "reason": self.reason,
                "startedAt": self.started_at or None,
                "finishedAt": self.finished_at,
                "containerID": self.container_id(),
            }
            message = self.termination_message()
            if message:
                terminated["message"] = message
            return {"terminated": terminated}
        if self.process is not None:
            return {"running": {"startedAt": self.started_at}}
        return {"waiting": {"reason": "ContainerCreating"}}

    def container_id(self) -> str:
        return f"devcluster://{self.worker.uid}/{self.name}/{self.restart_count}"


class PodWorker(threading.Thread):
    """Run a pod from volumes to the last container's exit, and keep its status current."""

    def __init__(self, pod: dict, context: NodeContext):
        super().__init__(name=f"pod-{pod['metadata']['namespace']}-{pod['metadata']['name']}", daemon=True)
        self.pod = pod
        self.context = context
        self.namespace = pod["metadata"]["namespace"]
        self.name = pod["metadata"]["name"]
        self.uid = pod["metadata"]["uid"]
        self.pod_dir = context.state_dir / "pods" / self.uid
        self.tmp_dir = self.pod_dir / "tmp"
        self.core = client.CoreV1Api(context.api_client_factory())
        self.stopping = threading.Event()
        self.stop_reason = "Killing"
        self.grace_seconds = 30.0
        self.started_at = now()
        self.runs: dict[str, ContainerRun] = {}
        self.init_runs: dict[str, ContainerRun] = {}
        self.waiting: dict[str, dict] = {}
        self.restart_counts: dict[str, int] = {}
        self.last_states: dict[str, dict] = {}
        self.done = threading.Event()

    # --- public -------------------------------------------------------------

    def stop(self, grace_seconds: float, reason: str = "Killing") -> None:
        """Ask the worker to kill the pod's containers (SIGTERM, then SIGKILL after the grace period)."""
        self.grace_seconds = grace_seconds
        self.stop_reason = reason
        self.stopping.set()

    # --- the pod's life -----------------------------------------------------

    def run(self) -> None:
        try:
            self._run()
        except Exception as error:  # noqa: BLE001 - a crash must not leave the pod Pending forever
            log.exception("pod %s/%s: node error", self.namespace, self.name)
            self._report("Failed", reason="NodeError", message=f"devcluster node error: {error}")
        finally:
            for run in list(self.runs.values()) + list(self.init_runs.values()):
                run.kill(0, "Error")
            self.done.set()

    def _run(self) -> None:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self._write_record()
        self._report("Pending")
        volume_paths = self._wait_for_volumes()
        if volume_paths is None:
            return
        spec = self.pod["spec"]
        restart_policy = spec.get("restartPolicy", "Always")

        for container in spec.get("initContainers") or []:
            if not self._run_to_completion(container, restart_policy, volume_paths):
                return

        self._run_main_containers(spec["containers"], restart_policy, volume_paths)

    def _write_record(self) -> None:
        """Write pods/<uid>/pod.json, which lets `python -m devcluster logs NS/POD` find the pod's logs."""
        spec = self.pod["spec"]
        record = {
            "namespace": self.namespace,
            "name": self.name,
            "uid": self.uid,
            "containers": [c["name"] for c in spec["containers"]],
            "initContainers": [c["name"] for c in spec.get("initContainers") or []],
        }
        (self.pod_dir / "pod.json").write_text(json.dumps(record))

    def _deadline_passed(self) -> bool:
        deadline = self.pod["spec"].get("activeDeadlineSeconds")
        if deadline is None:
            return False
        started = datetime.datetime.strptime(self.started_at, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc
        )
        return (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds() > deadline

    def _wait_for_volumes(self) -> dict[str, Path] | None:
        resolver = VolumeResolver(self.core, self.pod, self.pod_dir)
        reported = ""
        while not self.stopping.is_set():
            try:
                return resolver.resolve()
            except VolumeNotReady as error:
                message = f"MountVolume.SetUp failed: {error}"
                if message != reported:
                    log.info("pod %s/%s waits: %s", self.namespace, self.name, message)
                    self._event("Warning", "FailedMount", message)
                    reported = message
            self.stopping.wait(RETRY_SECONDS)
        return None

    def _start(self, container: dict, volume_paths: dict[str, Path], runs: dict[str, ContainerRun]) -> bool:
        """Start a container, or record why it waits; return whether it started."""
        name = container["name"]
        run = ContainerRun(self, container, self.restart_counts.get(name, 0))
        try:
            run.start(volume_paths)
        except ContainerConfigError as error:
            waiting = {"reason": "CreateContainerConfigError", "message": str(error)}
            if self.waiting.get(name) != waiting:
                log.info("pod %s/%s container %s waits: %s", self.namespace, self.name, name, error)
                self._event("Warning", "Failed", f"Error: {error}")
            self.waiting[name] = waiting
            return False
        self.waiting.pop(name, None)
        runs[name] = run
        self._event("Normal", "Started", f"Started container {name}")
        return True

    def _run_to_completion(self, container: dict, restart_policy: str, volume_paths: dict[str, Path]) -> bool:
        """Run an init container until it succeeds; return False when the pod has ended."""
        name = container["name"]
        backoff = 10.0
        while True:
            if self.stopping.is_set():
                return False
            waiting_before = self.waiting.get(name)
            if not self._start(container, volume_paths, self.init_runs):
                if self.waiting.get(name) != waiting_before:
                    self._report("Pending")
                self.stopping.wait(RETRY_SECONDS)
                continue
            self._report("Pending")
            run = self.init_runs[name]
            while run.poll() is None:
                if self.stopping.is_set() or self._deadline_passed():
                    self._end_by_stop_or_deadline()
                    return False
                time.sleep(0.2)
            if run.exit_code == 0:
                self._report("Pending")
                return True
            if restart_policy == "Never":
                self._report("Failed", reason="", message=f"init container {name} failed")
                return False
            self.last_states[name] = run.state()
            self.restart_counts[name] = run.restart_count + 1
            self._report("Pending")
            if self.stopping.wait(backoff):
                return False
            backoff = min(backoff * 2, MAX_RESTART_BACKOFF)

    def _run_main_containers(self, containers: list[dict], restart_policy: str, volume_paths: dict[str, Path]):
        backoff: dict[str, float] = {c["name"]: 10.0 for c in containers}
        # When each container without a running process may (re)start next, in time.monotonic() seconds.
        restart_at: dict[str, float] = {c["name"]: 0.0 for c in containers}

        while True:
            if self.stopping.is_set() or self._deadline_passed():
                self._end_by_stop_or_deadline()
                return
            changed = False
            for container in containers:
                name = container["name"]
                run = self.runs.get(name)
                if run is None:
                    if time.monotonic() >= restart_at[name]:
                        waiting_before = self.waiting.get(name)
                        if self._start(container, volume_paths, self.runs):
                            changed = True
                        else:
                            changed |= self.waiting.get(name) != waiting_before
                            restart_at[name] = time.monotonic() + RETRY_SECONDS
                    continue
                before = run.exit_code
                code = run.poll()
                if code is None or before is not None:
                    continue
                changed = True
                restart = restart_policy == "Always" or (restart_policy == "OnFailure" and code != 0)
                if restart:
                    self.last_states[name] = run.state()
                    self.restart_counts[name] = run.restart_count + 1
                    del self.runs[name]
                    self.waiting[name] = {"reason": "CrashLoopBackOff", "message": f"back-off {backoff[name]:.0f}s"}
                    restart_at[name] = time.monotonic() + backoff[name]
                    backoff[name] = min(backoff[name] * 2, MAX_RESTART_BACKOFF)
            finished = [self.runs.get(c["name"]) for c in containers]
            if all(run is not None and run.exit_code is not None for run in finished):
                failed = any(run.exit_code != 0 for run in finished)
                self._report("Failed" if failed else "Succeeded")
                return
            if changed:
                self._report(self._phase_before_end(containers))
            time.sleep(0.2)

    def _end_by_stop_or_deadline(self) -> None:
        if self.stopping.is_set():
            for run in list(self.runs.values()) + list(self.init_runs.values()):
                run.kill(self.grace_seconds, "Error")
            self._report("Failed", reason=self.stop_reason if self.stop_reason != "Killing" else "",
                         message="")
            return
        for run in list(self.runs.values()) + list(self.init_runs.values()):
            run.kill(0, "Error")
        deadline = self.pod["spec"].get("activeDeadlineSeconds")
        self._report("Failed", reason="DeadlineExceeded",
                     message=f"Pod was active on the node longer than the specified deadline ({deadline} s)")

    # --- status -------------------------------------------------------------

    def _container_statuses(self, containers: list[dict], runs: dict[str, ContainerRun]) -> list[dict]:
        statuses = []
        for container in containers:
            name = container["name"]
            run = runs.get(name)
            if run is not None:
                state = run.state()
            else:
                state = {"waiting": self.waiting.get(name, {"reason": "PodInitializing"})}
            status = {
                "name": name,
                "image": container.get("image") or "",
                "imageID": "",
                "restartCount": self.restart_counts.get(name, 0),
                "ready": "running" in state,
                "started": "running" in state,
                "state": state,
            }
            if run is not None and run.process is not None:
                status["containerID"] = run.container_id()
            if name in self.last_states:
                status["lastState"] = self.last_states[name]
            statuses.append(status)
        return statuses

    def _phase_before_end(self, containers: list[dict]) -> str:
        """Return Pending while some container has never started, else Running, as a kubelet does."""
        for container in containers:
            name = container["name"]
            if name not in self.runs and name not in self.last_states:
                return "Pending"
        return "Running"

    def _report(self, phase: str, reason: str = "", message: str = "") -> None:
        spec = self.pod["spec"]
        init_done = all(
            self.init_runs.get(c["name"]) is not None and self.init_runs[c["name"]].exit_code == 0
            for c in spec.get("initContainers") or []
        )
        statuses = self._container_statuses(spec["containers"], self.runs)
        ready = phase == "Running" and all(s["ready"] for s in statuses)
        stamp = now()

        def condition(kind: str, value: bool) -> dict:
            return {"type": kind, "status": "True" if value else "False", "lastTransitionTime": stamp}

        status = {
            "phase": phase,
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": "127.0.0.1",
            "podIPs": [{"ip": "127.0.0.1"}],
            "startTime": self.started_at,
            "conditions": [
                condition("PodReadyToStartContainers", True),
                condition("Initialized", init_done),
                condition("ContainersReady", ready),
                condition("Ready", ready),
            ],
            "containerStatuses": statuses,
        }
        if spec.get("initContainers"):
            status["initContainerStatuses"] = self._container_statuses(spec["initContainers"], self.init_runs)
        if reason:
            status["reason"] = reason
        if message:
            status["message"] = message
        try:
            self.core.patch_namespaced_pod_status(self.name, self.namespace, {"status": status})
        except client.ApiException as error:
            if error.status != 404:
                log.warning("pod %s/%s: status update failed: %s", self.namespace, self.name, error.reason)

    def _event(self, event_type: str, reason: str, message: str) -> None:
        stamp = now()
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name=f"{self.name}.", namespace=self.namespace),
            involved_object=client.V1ObjectReference(
                kind="Pod", name=self.name, namespace=self.namespace, uid=self.uid, api_version="v1"
            ),
            reason=reason,
            message=message,
            type=event_type,
            source=client.V1EventSource(component="kubelet", host=self.context.node_name),
            first_timestamp=stamp,
            last_timestamp=stamp,
            count=1,
        )
        try:
            self.core.create_namespaced_event(self.namespace, event)
        except client.ApiException as error:
            log.debug("pod %s/%s: event not recorded: %s", self.namespace, self.name, error.reason)
