"""Jobs, CronJobs, garbage collection and kubectl against the local control plane."""

import json
from pathlib import Path

import yaml
from kubernetes import client
from podtools import python_container, read_pod, terminated, wait_for

CLAIM = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "repo"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
}


def _job(name: str, container: dict, backoff_limit: int = 0, **pod_spec) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container], **pod_spec}},
        },
    }


def _apply(kubectl, namespace: str, *documents: dict) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(documents))


def _job_pods(core, namespace: str, job_name: str) -> list[dict]:
    pods = core.list_namespaced_pod(namespace, label_selector=f"job-name={job_name}").items
    return [core.api_client.sanitize_for_serialization(pod) for pod in pods]


def test_job_writes_volume_and_message(core, namespace, kubectl, tmp_path):
    mount_path = str(tmp_path / "repo")
    script = f"""
        import json
        open({mount_path + '/registry.db'!r}, "w").write("registered: 5 feature views")
        open("/dev/termination-log", "w").write(json.dumps({{"featureViews": 5}}))
    """
    container = python_container("apply", script, volumeMounts=[{"name": "repo", "mountPath": mount_path}])
    job = _job("apply", container, volumes=[{"name": "repo", "persistentVolumeClaim": {"claimName": "repo"}}])

    _apply(kubectl, namespace, CLAIM, job)
    kubectl("wait", "-n", namespace, "--for=condition=Complete", "job/apply", "--timeout=90s")

    pods = _job_pods(core, namespace, "apply")
    assert len(pods) == 1
    assert json.loads(terminated(pods[0], "apply")["message"]) == {"featureViews": 5}
    volume_name = core.read_namespaced_persistent_volume_claim("repo", namespace).spec.volume_name
    host_path = Path(core.read_persistent_volume(volume_name).spec.host_path.path)
    assert (host_path / "registry.db").read_text() == "registered: 5 feature views"


def test_failing_job_fails_after_backoff_limit(batch, core, namespace, kubectl):
    _apply(kubectl, namespace, _job("broken", python_container("main", "raise SystemExit(4)"), backoff_limit=1))

    kubectl("wait", "-n", namespace, "--for=condition=Failed", "job/broken", "--timeout=120s")

    job = batch.read_namespaced_job("broken", namespace)
    failed = [condition for condition in job.status.conditions if condition.type == "Failed"]
    assert failed[0].reason == "BackoffLimitExceeded"
    assert job.status.failed == 2
    pods = _job_pods(core, namespace, "broken")
    assert len(pods) == 2
    assert [terminated(pod, "main")["exitCode"] for pod in pods] == [4, 4]


def test_deleted_job_pods_collected(core, namespace, kubectl):
    _apply(kubectl, namespace, _job("short", python_container("main", "print('done')")))
    kubectl("wait", "-n", namespace, "--for=condition=Complete", "job/short", "--timeout=90s")
    pod_names = [pod["metadata"]["name"] for pod in _job_pods(core, namespace, "short")]
    assert len(pod_names) == 1

    # kubectl deletes with propagationPolicy=Background, so the garbage collector removes the pods.
    kubectl("delete", "-n", namespace, "job/short")

    wait_for(lambda: read_pod(core, namespace, pod_names[0]) is None, 60, f"pod {pod_names[0]} to be collected")


def test_cronjob_creates_jobs(batch, namespace, kubectl):
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "materialize"},
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {"restartPolicy": "Never", "containers": [python_container("main", "print('run')")]}
                    },
                }
            },
        },
    }
    _apply(kubectl, namespace, cronjob)

    # The schedule fires at the start of every minute, so the first Job can take up to 60 s.
    jobs = wait_for(lambda: batch.list_namespaced_job(namespace).items, 90, "the CronJob to create a Job", interval=2)
    owner = jobs[0].metadata.owner_references[0]
    assert owner.kind == "CronJob"
    assert owner.name == "materialize"
    kubectl("wait", "-n", namespace, "--for=condition=Complete", f"job/{jobs[0].metadata.name}", "--timeout=60s")

    def last_success():
        return batch.read_namespaced_cron_job("materialize", namespace).status.last_successful_time

    wait_for(last_success, 30, "the CronJob to record its last successful run")


def test_kubectl_get_nodes(kubectl):
    completed = kubectl("get", "nodes", "-o", "json")

    nodes = json.loads(completed.stdout)["items"]
    assert [node["metadata"]["name"] for node in nodes] == ["devcluster-node"]


def test_kubectl_wait_pod_ready(core, namespace, kubectl):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "server"},
        "spec": {"containers": [python_container("main", "import time; time.sleep(600)")],
                 "terminationGracePeriodSeconds": 1},
    }
    _apply(kubectl, namespace, pod)

    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/server", "--timeout=60s")
    listing = kubectl("get", "pods", "-n", namespace, "--no-headers")

    assert listing.stdout.split()[:3] == ["server", "1/1", "Running"]
    core.delete_namespaced_pod("server", namespace, body=client.V1DeleteOptions(grace_period_seconds=1))
