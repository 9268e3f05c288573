"""The writer queue: the apply and materialize Jobs of one FeatureStore never run at the same time."""

import datetime
from pathlib import Path

import pytest
from kubernetes import client

from tests.integration.support import (
    GROUP,
    VERSION,
    create,
    create_namespace,
    definitions_configmap,
    delete_namespace,
    featurestore,
    is_missing,
    materialization,
    prepare_breast_cancer_data,
    read,
    wait_for,
    wait_for_phase,
)

pytestmark = pytest.mark.cluster

STORE_PLURAL = "featurestores"
MAT_PLURAL = "materializations"
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "feature_repo_template"
CANCER_DEFINITIONS = (TEMPLATE_DIR / "breast_cancer" / "features.py").read_text()


def rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def overlapping_pairs(jobs: list) -> list[str]:
    """Return "a overlaps b" for each two Jobs whose [startTime, completionTime] intervals overlap.

    The API server stores both times to the second, so a Job that starts in
    the second in which the previous one completed does not count as overlap.
    """
    ordered = sorted(jobs, key=lambda job: job.status.start_time)
    overlaps = []
    for index, earlier in enumerate(ordered):
        for later in ordered[index + 1:]:
            if later.status.start_time < earlier.status.completion_time:
                overlaps.append(f"{later.metadata.name} [{later.status.start_time}, {later.status.completion_time}] "
                                f"overlaps {earlier.metadata.name} [{earlier.status.start_time}, "
                                f"{earlier.status.completion_time}]")
    return overlaps


@pytest.fixture(scope="module")
def store_namespace(operator, api_client):
    """Create the module's namespace, and delete its FeatureStores before the operator stops."""
    core = client.CoreV1Api(api_client)
    name = create_namespace(core, "writers")
    try:
        yield name
    finally:
        delete_namespace(core, name)


def test_writers_of_one_store_never_overlap(operator, custom, store_namespace, api_client, pod_log):
    core = client.CoreV1Api(api_client)
    batch = client.BatchV1Api(api_client)
    definitions_configmap(core, store_namespace, CANCER_DEFINITIONS)
    spec = {"project": "writers", "repo": {"configMap": {"name": "definitions"}}}
    create(custom, store_namespace, featurestore("writers", spec))
    first = wait_for_phase(custom, store_namespace, STORE_PLURAL, "writers", {"Ready", "Failed"}, operator=operator)
    assert first["status"]["phase"] == "Ready", first["status"].get("message")
    prepare_breast_cancer_data(api_client, store_namespace, "writers-repo", pod_log)

    # Four runs and a new apply, all queued within a second or two.
    now = datetime.datetime.now(datetime.timezone.utc)
    whole_period = {"mode": "range", "startTime": rfc3339(now - datetime.timedelta(days=600)), "endTime": rfc3339(now)}
    last_week = {"mode": "range", "startTime": rfc3339(now - datetime.timedelta(days=7)), "endTime": rfc3339(now)}
    runs = {
        "incremental-all": {},
        "incremental-two": {"featureViews": ["df1_feature_view", "target_feature_view"]},
        "range-all": whole_period,
        "range-week": last_week,
    }
    for name, spec in runs.items():
        create(custom, store_namespace, materialization(name, {"featureStore": "writers", **spec}))
    definitions_configmap(core, store_namespace, CANCER_DEFINITIONS + "\n# Edited while the materializations run.\n")

    for name in runs:
        mat = wait_for_phase(custom, store_namespace, MAT_PLURAL, name, {"Succeeded", "Failed"}, timeout=300,
                             operator=operator)
        assert mat["status"]["phase"] == "Succeeded", f"{name}: {mat['status'].get('message')}"

    def edit_applied():
        status = read(custom, store_namespace, STORE_PLURAL, "writers")["status"]
        return status.get("phase") == "Ready" and status.get("appliedHash") != first["status"]["appliedHash"]

    wait_for(edit_applied, 300, "the edited definitions to be applied", on_timeout=operator.log_tail)

    jobs = batch.list_namespaced_job(store_namespace, label_selector=f"{GROUP}/featurestore=writers").items
    tasks = sorted(job.metadata.labels[f"{GROUP}/task"] for job in jobs)
    assert tasks == ["apply", "apply", "materialize", "materialize", "materialize", "materialize"]
    assert [job.metadata.name for job in jobs if not job.status.succeeded] == []
    assert overlapping_pairs(jobs) == []


def test_deleted_store_leaves_no_lease(operator, custom, store_namespace, api_client):
    coordination = client.CoordinationV1Api(api_client)
    spec = {"project": "short_lived", "repo": {"template": {"name": "minimal"}}}
    create(custom, store_namespace, featurestore("short-lived", spec))
    wait_for_phase(custom, store_namespace, STORE_PLURAL, "short-lived", {"Ready"}, operator=operator)
    assert not is_missing(coordination.read_namespaced_lease, "short-lived-writer", store_namespace)

    custom.delete_namespaced_custom_object(GROUP, VERSION, store_namespace, STORE_PLURAL, "short-lived")

    wait_for(lambda: is_missing(coordination.read_namespaced_lease, "short-lived-writer", store_namespace), 60,
             "the writer Lease to be deleted with its store")


def test_writer_queue_survives_operator_restart(operator, custom, namespace, api_client, pod_log):
    batch = client.BatchV1Api(api_client)
    create(custom, namespace, featurestore("restart", {"project": "restart",
                                                       "repo": {"template": {"name": "breast_cancer"}}}))
    wait_for_phase(custom, namespace, STORE_PLURAL, "restart", {"Ready"}, operator=operator)
    prepare_breast_cancer_data(api_client, namespace, "restart-repo", pod_log=pod_log)
    for name in ("first", "second", "third"):
        create(custom, namespace, materialization(name, {"featureStore": "restart"}))

    def one_running():
        jobs = batch.list_namespaced_job(namespace, label_selector=f"{GROUP}/task=materialize").items
        running = [job for job in jobs if job.spec.suspend is False and not job.status.succeeded]
        return len(jobs) == 3 and running

    wait_for(one_running, 120, "three queued runs, one of them released", interval=0.2)
    operator.stop(kill=True)
    try:
        # While the operator is down, the released run finishes and nothing else starts.
        def settled():
            jobs = batch.list_namespaced_job(namespace, label_selector=f"{GROUP}/task=materialize").items
            return all(job.spec.suspend or job.status.succeeded or job.status.failed for job in jobs)

        wait_for(settled, 120, "the released run to finish")
        jobs = batch.list_namespaced_job(namespace, label_selector=f"{GROUP}/task=materialize").items
        assert sum(1 for job in jobs if job.spec.suspend) == 2
    finally:
        operator.start()

    for name in ("first", "second", "third"):
        mat = wait_for_phase(custom, namespace, MAT_PLURAL, name, {"Succeeded", "Failed"}, operator=operator)
        assert mat["status"]["phase"] == "Succeeded", mat["status"].get("message")
    jobs = batch.list_namespaced_job(namespace, label_selector=f"{GROUP}/task=materialize").items
    assert overlapping_pairs(jobs) == []
