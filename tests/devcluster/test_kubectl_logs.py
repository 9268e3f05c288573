"""`kubectl logs` through kube-apiserver to the node's container-log endpoint on loopback."""

from podtools import pod_manifest, python_container, run_pod

SCRIPT = "for i in range(5):\n    print('line', i, flush=True)\n"


def test_kubectl_logs_prints_container_output(core, namespace, kubectl):
    run_pod(core, namespace, pod_manifest("talker", [python_container("main", SCRIPT)], restartPolicy="Never"))

    output = kubectl("logs", "-n", namespace, "talker").stdout

    assert output.splitlines() == [f"line {i}" for i in range(5)]


def test_kubectl_logs_tail(core, namespace, kubectl):
    run_pod(core, namespace, pod_manifest("tailed", [python_container("main", SCRIPT)], restartPolicy="Never"))

    output = kubectl("logs", "-n", namespace, "tailed", "--tail=2").stdout

    assert output.splitlines() == ["line 3", "line 4"]


def test_kubectl_logs_follow_ends_with_pod(core, namespace, kubectl):
    slow = "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.5)\n"
    core.create_namespaced_pod(namespace, pod_manifest("slow", [python_container("main", slow)], restartPolicy="Never"))

    completed = kubectl("wait", "-n", namespace, "--for=jsonpath={.status.phase}=Running", "pod/slow",
                        "--timeout=60s", check=False)
    output = kubectl("logs", "-n", namespace, "slow", "--follow").stdout

    assert completed.returncode == 0
    assert output.splitlines() == ["tick 0", "tick 1", "tick 2"]


def test_kubectl_logs_unknown_container(core, namespace, kubectl):
    run_pod(core, namespace, pod_manifest("single", [python_container("main", SCRIPT)], restartPolicy="Never"))

    completed = kubectl("logs", "-n", namespace, "single", "-c", "other", check=False)

    assert completed.returncode != 0
    assert "other" in completed.stderr
