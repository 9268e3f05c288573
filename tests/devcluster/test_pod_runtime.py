"""The node runs pods like a kubelet: phases, init containers, restarts, termination messages, deletion."""

from kubernetes import client, watch
from podtools import (
    container_status,
    devcluster_command,
    pod_manifest,
    process_exists,
    python_container,
    read_pod,
    run_pod,
    terminated,
    wait_for,
    wait_phase,
)

WRITE_MESSAGE = """
    open("/dev/termination-log", "w").write({message!r})
"""


def test_pod_phases_pending_running_succeeded(core, namespace):
    pod = pod_manifest("phases", [python_container("main", "import time; time.sleep(2)")])
    stream = watch.Watch()
    phases = []

    # Watching from the resourceVersion before the create delivers every status change, even early ones.
    before = core.list_namespaced_pod(namespace).metadata.resource_version
    core.create_namespaced_pod(namespace, pod)
    for event in stream.stream(core.list_namespaced_pod, namespace, field_selector="metadata.name=phases",
                               resource_version=before, timeout_seconds=60):
        phase = event["object"].status.phase
        if not phases or phases[-1] != phase:
            phases.append(phase)
        if phase in ("Succeeded", "Failed"):
            stream.stop()

    assert phases == ["Pending", "Running", "Succeeded"]


def test_exit_code_and_reason_reported(core, namespace):
    pod = run_pod(core, namespace, pod_manifest("fails", [python_container("main", "raise SystemExit(3)")]))

    state = terminated(pod, "main")
    assert pod["status"]["phase"] == "Failed"
    assert state["exitCode"] == 3
    assert state["reason"] == "Error"
    assert "message" not in state
    assert state["startedAt"] and state["finishedAt"]
    assert container_status(pod, "main")["containerID"].startswith("devcluster://")


def test_termination_message_from_file(core, namespace):
    container = python_container("main", WRITE_MESSAGE.format(message="42 rows written"))
    pod = run_pod(core, namespace, pod_manifest("message", [container]))

    state = terminated(pod, "main")
    assert pod["status"]["phase"] == "Succeeded"
    assert state["reason"] == "Completed"
    assert state["exitCode"] == 0
    assert state["message"] == "42 rows written"


def test_termination_message_custom_path(core, namespace, tmp_path):
    path = str(tmp_path / "result" / "message")
    script = f"open({path!r}, 'w').write('custom path')"
    container = python_container("main", script, terminationMessagePath=path)
    pod = run_pod(core, namespace, pod_manifest("custom-path", [container]))

    assert terminated(pod, "main")["message"] == "custom path"


def test_termination_message_fallback_to_logs(core, namespace):
    script = """
        import sys
        for number in range(100):
            print(f"line {number}")
        sys.stdout.flush()
        print("feast apply failed: no entity named patient", file=sys.stderr)
        sys.exit(2)
    """
    container = python_container("main", script, terminationMessagePolicy="FallbackToLogsOnError")
    pod = run_pod(core, namespace, pod_manifest("fallback", [container]))

    message = terminated(pod, "main")["message"]
    assert message.endswith("feast apply failed: no entity named patient")
    # A kubelet keeps the last 80 lines at most.
    assert "line 19\n" not in message
    assert "line 99\n" in message


def test_fallback_unused_after_success(core, namespace):
    container = python_container("main", "print('all good')", terminationMessagePolicy="FallbackToLogsOnError")
    pod = run_pod(core, namespace, pod_manifest("fallback-success", [container]))

    assert "message" not in terminated(pod, "main")


def test_termination_message_truncated_at_4096_bytes(core, namespace):
    container = python_container("main", WRITE_MESSAGE.format(message="x" * 5000))
    pod = run_pod(core, namespace, pod_manifest("long-message", [container]))

    assert terminated(pod, "main")["message"] == "x" * 4096


def test_init_containers_run_in_order(core, namespace):
    def append(word: str) -> str:
        return f"open('/shared/order', 'a').write({word + chr(10)!r})"

    volume_mount = [{"name": "shared", "mountPath": "/shared"}]
    pod = pod_manifest(
        "init-order",
        [python_container("main", "open('/dev/termination-log', 'w').write(open('/shared/order').read())",
                          volumeMounts=volume_mount)],
        initContainers=[
            python_container("first", "import time; time.sleep(1); " + append("first"), volumeMounts=volume_mount),
            python_container("second", append("second"), volumeMounts=volume_mount),
        ],
        volumes=[{"name": "shared", "emptyDir": {}}],
    )
    pod = run_pod(core, namespace, pod)

    assert pod["status"]["phase"] == "Succeeded"
    assert terminated(pod, "main")["message"] == "first\nsecond\n"
    assert terminated(pod, "first", init=True)["reason"] == "Completed"
    assert terminated(pod, "second", init=True)["reason"] == "Completed"
    assert terminated(pod, "first", init=True)["finishedAt"] <= terminated(pod, "second", init=True)["startedAt"]


def test_failed_init_container_fails_pod(core, namespace):
    pod = pod_manifest(
        "init-fails",
        [python_container("main", "print('must not run')")],
        initContainers=[python_container("setup", "raise SystemExit(5)")],
    )
    pod = run_pod(core, namespace, pod)

    assert pod["status"]["phase"] == "Failed"
    assert terminated(pod, "setup", init=True)["exitCode"] == 5
    assert container_status(pod, "main")["state"] == {"waiting": {"reason": "PodInitializing"}}


def test_on_failure_restarts_container(core, namespace):
    # The first start fails, the second succeeds: a counter file on an emptyDir survives the restart.
    script = """
        import os, sys
        path = "/counter/starts"
        starts = int(open(path).read()) + 1 if os.path.exists(path) else 1
        open(path, "w").write(str(starts))
        sys.exit(1 if starts == 1 else 0)
    """
    container = python_container("main", script, volumeMounts=[{"name": "counter", "mountPath": "/counter"}])
    manifest = pod_manifest(
        "on-failure", [container], restartPolicy="OnFailure", volumes=[{"name": "counter", "emptyDir": {}}]
    )
    pod = run_pod(core, namespace, manifest, timeout=90)

    status = container_status(pod, "main")
    assert pod["status"]["phase"] == "Succeeded"
    assert status["restartCount"] == 1
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["state"]["terminated"]["exitCode"] == 0


def test_never_does_not_restart(core, namespace):
    pod = run_pod(core, namespace, pod_manifest("never", [python_container("main", "raise SystemExit(1)")]))

    assert pod["status"]["phase"] == "Failed"
    assert container_status(pod, "main")["restartCount"] == 0


def test_missing_command_waits_with_config_error(core, namespace):
    core.create_namespaced_pod(namespace, pod_manifest("no-command", [{"name": "main", "image": "python"}]))

    def waiting_state():
        pod = read_pod(core, namespace, "no-command")
        statuses = pod["status"].get("containerStatuses") or []
        return statuses and statuses[0]["state"].get("waiting", {}).get("message") and (pod, statuses[0])

    pod, status = wait_for(waiting_state, 30, "a waiting reason for the container without a command")
    assert pod["status"]["phase"] == "Pending"
    assert status["state"]["waiting"]["reason"] == "CreateContainerConfigError"
    assert "set command" in status["state"]["waiting"]["message"]


def test_unknown_executable_exits_127(core, namespace):
    container = {"name": "main", "image": "x", "command": ["no-such-program-anywhere"],
                 "terminationMessagePolicy": "FallbackToLogsOnError"}
    pod = run_pod(core, namespace, pod_manifest("not-found", [container]))

    state = terminated(pod, "main")
    assert state["exitCode"] == 127
    assert "no-such-program-anywhere" in state["message"]


def test_logs_command_prints_container_log(core, namespace, state_dir):
    pod = pod_manifest(
        "logged",
        [python_container("main", "print('hello from main')")],
        initContainers=[python_container("setup", "print('hello from setup')")],
    )
    run_pod(core, namespace, pod)

    main_log = devcluster_command(state_dir, "logs", f"{namespace}/logged")
    setup_log = devcluster_command(state_dir, "logs", f"{namespace}/logged/setup")

    assert main_log.returncode == 0, main_log.stderr
    assert main_log.stdout == "hello from main\n"
    assert setup_log.returncode == 0, setup_log.stderr
    assert setup_log.stdout == "hello from setup\n"


def test_logs_command_unknown_pod(namespace, state_dir):
    completed = devcluster_command(state_dir, "logs", f"{namespace}/missing")

    assert completed.returncode == 1
    assert f"pod {namespace}/missing not found" in completed.stderr


def test_logs_command_unknown_container(core, namespace, state_dir):
    run_pod(core, namespace, pod_manifest("one", [python_container("main", "pass")]))

    completed = devcluster_command(state_dir, "logs", f"{namespace}/one/sidecar")

    assert completed.returncode == 1
    assert "container 'sidecar' not found" in completed.stderr
    assert "main" in completed.stderr


def _sleeping_pod(name: str, script: str, grace_seconds: int) -> dict:
    return pod_manifest(name, [python_container("main", script)], terminationGracePeriodSeconds=grace_seconds)


def _pid_from_log(state_dir, namespace: str, name: str) -> int:
    def printed_pid():
        completed = devcluster_command(state_dir, "logs", f"{namespace}/{name}")
        return completed.returncode == 0 and completed.stdout.strip() and int(completed.stdout.split()[0])

    return wait_for(printed_pid, 30, f"pod {namespace}/{name} to print its pid")


def test_deleted_pod_process_killed(core, namespace, state_dir):
    script = "import os, time; print(os.getpid(), flush=True); time.sleep(600)"
    core.create_namespaced_pod(namespace, _sleeping_pod("sleeper", script, grace_seconds=5))
    wait_phase(core, namespace, "sleeper", ("Running",))
    pid = _pid_from_log(state_dir, namespace, "sleeper")
    assert process_exists(pid)

    core.delete_namespaced_pod("sleeper", namespace)

    wait_for(lambda: read_pod(core, namespace, "sleeper") is None, 30, "the deleted pod to disappear")
    assert not process_exists(pid)


def test_force_deleted_pod_process_killed(core, namespace, state_dir, kubectl):
    script = "import os, time; print(os.getpid(), flush=True); time.sleep(600)"
    core.create_namespaced_pod(namespace, _sleeping_pod("forced", script, grace_seconds=30))
    wait_phase(core, namespace, "forced", ("Running",))
    pid = _pid_from_log(state_dir, namespace, "forced")

    # The API server removes the pod at once, so the node learns of it only from the DELETED event.
    kubectl("delete", "pod", "forced", "-n", namespace, "--force", "--grace-period=0")

    wait_for(lambda: not process_exists(pid), 15, f"the force-deleted pod's process {pid} to be killed")


def test_sigterm_ignored_killed_after_grace(core, namespace, state_dir):
    script = """
        import os, signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print(os.getpid(), flush=True)
        time.sleep(600)
    """
    core.create_namespaced_pod(namespace, _sleeping_pod("stubborn", script, grace_seconds=1))
    wait_phase(core, namespace, "stubborn", ("Running",))
    pid = _pid_from_log(state_dir, namespace, "stubborn")

    core.delete_namespaced_pod("stubborn", namespace)

    wait_for(lambda: read_pod(core, namespace, "stubborn") is None, 30, "the deleted pod to disappear")
    # The process ignored SIGTERM, so only the SIGKILL after the grace period can have ended it.
    assert not process_exists(pid)


def test_background_process_killed_with_container(core, namespace, state_dir):
    # The main process exits while a child it started keeps running; a container ends with its main process.
    script = """
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        print(child.pid, flush=True)
    """
    pod = run_pod(core, namespace, pod_manifest("leaves-child", [python_container("main", script)]))
    pid = _pid_from_log(state_dir, namespace, "leaves-child")

    assert pod["status"]["phase"] == "Succeeded"
    wait_for(lambda: not process_exists(pid), 10, f"the container's child process {pid} to be killed")


def test_deleted_pod_files_removed_logs_kept(core, namespace, state_dir):
    container = python_container("main", "print('kept')", volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}])
    manifest = pod_manifest("cleaned", [container], volumes=[{"name": "scratch", "emptyDir": {}}])
    pod = run_pod(core, namespace, manifest)
    pod_dir = state_dir / "pods" / pod["metadata"]["uid"]
    assert (pod_dir / "volumes" / "scratch").is_dir()

    core.delete_namespaced_pod("cleaned", namespace, body=client.V1DeleteOptions(grace_period_seconds=0))

    wait_for(lambda: not (pod_dir / "volumes").exists(), 30, "the deleted pod's volumes to be removed")
    assert devcluster_command(state_dir, "logs", f"{namespace}/cleaned").stdout == "kept\n"
