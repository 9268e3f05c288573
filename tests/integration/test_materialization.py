"""Materialization against the real API server, the real operator process and real Feast in Job pods.

The module's stores share one namespace. Store "cancer" serves only the
first incremental run, because its row count depends on no earlier run.
Store "shared" serves every test that does not depend on earlier runs.
"""

import datetime
import time

import pytest
from kubernetes import client

from tests.integration.support import (
    GROUP,
    VERSION,
    condition,
    create,
    create_claim,
    create_namespace,
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

PLURAL = "materializations"
STORE_PLURAL = "featurestores"
CANCER_VIEWS = ["df1_feature_view", "df2_feature_view", "df3_feature_view", "df4_feature_view",
                "target_feature_view"]
PATIENTS = 569

# A schedule that fires once a year, for tests of the CronJob object that must not start runs.
YEARLY = "0 0 1 1 *"


def cancer_store(name: str, **storage) -> dict:
    spec = {"project": name.replace("-", "_"), "repo": {"template": {"name": "breast_cancer"}}}
    if storage:
        spec["storage"] = storage
    return featurestore(name, spec)


def rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def materialization_jobs(batch: client.BatchV1Api, namespace: str, mat_name: str) -> list:
    return batch.list_namespaced_job(namespace, label_selector=f"{GROUP}/materialization={mat_name}").items


def patch_spec(custom: client.CustomObjectsApi, namespace: str, name: str, spec: dict) -> None:
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, {"spec": spec})


def read_cronjob(batch: client.BatchV1Api, namespace: str, name: str):
    try:
        return batch.read_namespaced_cron_job(name, namespace)
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise


@pytest.fixture(scope="module")
def stores(operator, api_client, pod_log):
    """Create a namespace with the Ready breast_cancer stores "cancer" and "shared", their data prepared."""
    core = client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    namespace = create_namespace(core, "mat")
    try:
        for name in ("cancer", "shared"):
            create(custom, namespace, cancer_store(name))
        for name in ("cancer", "shared"):
            fs = wait_for_phase(custom, namespace, STORE_PLURAL, name, {"Ready", "Failed"}, operator=operator)
            assert fs["status"]["phase"] == "Ready", fs["status"].get("message")
            prepare_breast_cancer_data(api_client, namespace, f"{name}-repo", pod_log)
        yield namespace
    finally:
        delete_namespace(core, namespace)


def test_incremental_run_loads_last_three_days(operator, stores, custom, kubectl):
    create(custom, stores, materialization("cancer-once", {"featureStore": "cancer"}))

    mat = wait_for_phase(custom, stores, PLURAL, "cancer-once", {"Succeeded", "Failed"}, operator=operator)

    status = mat["status"]
    assert status["phase"] == "Succeeded", status.get("message")
    assert sorted(status["materializedUntil"]) == CANCER_VIEWS
    # The views' ttl is 3 days and the data has one patient a day, so a
    # first incremental run loads the last 3 patients of each of the 5 views.
    assert status["rowsWritten"] == 3 * len(CANCER_VIEWS)
    assert len(status["runs"]) == 1
    assert status["runs"][0]["result"] == "Succeeded"
    assert condition(mat, "Succeeded")["status"] == "True"
    row = kubectl("get", "mat", "cancer-once", "-n", stores).stdout.splitlines()[1]
    assert "Succeeded" in row.split()


def test_range_run_loads_whole_period(operator, stores, custom):
    now = datetime.datetime.now(datetime.timezone.utc)
    spec = {
        "featureStore": "shared",
        "mode": "range",
        "startTime": rfc3339(now - datetime.timedelta(days=PATIENTS + 30)),
        "endTime": rfc3339(now),
    }
    create(custom, stores, materialization("shared-range", spec))

    mat = wait_for_phase(custom, stores, PLURAL, "shared-range", {"Succeeded", "Failed"}, operator=operator)

    assert mat["status"]["phase"] == "Succeeded", mat["status"].get("message")
    assert mat["status"]["rowsWritten"] == PATIENTS * len(CANCER_VIEWS)


def test_waiting_run_starts_when_store_applied(operator, stores, custom, api_client, pod_log):
    core = client.CoreV1Api(api_client)
    create_claim(core, stores, "late-data")
    prepare_breast_cancer_data(api_client, stores, "late-data", pod_log)
    create(custom, stores, materialization("late-run", {"featureStore": "late"}))

    waiting = wait_for_phase(custom, stores, PLURAL, "late-run", {"Waiting"}, timeout=60, operator=operator)
    assert "'late'" in waiting["status"]["message"]
    assert condition(waiting, "StoreReady")["reason"] == "FeatureStoreNotFound"

    # The operator does not poll a waiting Materialization, so its status stays untouched until the store changes.
    time.sleep(3)
    unchanged = read(custom, stores, PLURAL, "late-run")
    assert unchanged["metadata"]["resourceVersion"] == waiting["metadata"]["resourceVersion"]

    create(custom, stores, cancer_store("late", existingClaim="late-data"))

    mat = wait_for_phase(custom, stores, PLURAL, "late-run", {"Succeeded", "Failed"}, operator=operator)
    assert mat["status"]["phase"] == "Succeeded", mat["status"].get("message")
    assert mat["status"]["rowsWritten"] == 3 * len(CANCER_VIEWS)


def test_schedule_every_minute_records_run(operator, stores, custom, api_client):
    batch = client.BatchV1Api(api_client)
    create(custom, stores, materialization("every-minute", {"featureStore": "shared", "schedule": "* * * * *"}))

    def succeeded_run():
        status = read(custom, stores, PLURAL, "every-minute").get("status") or {}
        return next((run for run in status.get("runs") or [] if run.get("result") == "Succeeded"), None)

    def details():
        return f"status: {read(custom, stores, PLURAL, 'every-minute').get('status')}\n{operator.log_tail()}"

    run = wait_for(succeeded_run, 150, "a scheduled run to succeed", interval=2, on_timeout=details)
    assert run["job"] in {job.metadata.name for job in materialization_jobs(batch, stores, "every-minute")}
    mat = read(custom, stores, PLURAL, "every-minute")
    assert mat["status"]["phase"] in {"Scheduled", "Running"}

    # Stop the schedule here rather than at module teardown, so that it adds no runs to the other tests.
    patch_spec(custom, stores, "every-minute", {"suspend": True})


def test_suspend_suspends_cronjob(operator, stores, custom, api_client):
    batch = client.BatchV1Api(api_client)
    create(custom, stores, materialization("yearly-suspend", {"featureStore": "shared", "schedule": YEARLY}))
    wait_for_phase(custom, stores, PLURAL, "yearly-suspend", {"Scheduled"}, timeout=60, operator=operator)
    assert read_cronjob(batch, stores, "yearly-suspend").spec.suspend is False

    patch_spec(custom, stores, "yearly-suspend", {"suspend": True})

    wait_for(lambda: read_cronjob(batch, stores, "yearly-suspend").spec.suspend, 60, "the CronJob to be suspended",
             on_timeout=operator.log_tail)

    def suspended():
        mat = read(custom, stores, PLURAL, "yearly-suspend")
        return mat if condition(mat, "Scheduled").get("reason") == "Suspended" else None

    mat = wait_for(suspended, 60, "the Scheduled condition to say Suspended", on_timeout=operator.log_tail)
    assert condition(mat, "Scheduled")["status"] == "False"
    assert "suspended" in mat["status"]["message"]


def test_schedule_edit_updates_cronjob(operator, stores, custom, api_client):
    batch = client.BatchV1Api(api_client)
    create(custom, stores, materialization("yearly-edit", {"featureStore": "shared", "schedule": YEARLY}))
    wait_for_phase(custom, stores, PLURAL, "yearly-edit", {"Scheduled"}, timeout=60, operator=operator)

    patch_spec(custom, stores, "yearly-edit", {"schedule": "30 2 * * 0"})

    wait_for(lambda: read_cronjob(batch, stores, "yearly-edit").spec.schedule == "30 2 * * 0", 60,
             "the CronJob's schedule to change", on_timeout=operator.log_tail)
    mat = read(custom, stores, PLURAL, "yearly-edit")
    assert "30 2 * * 0" in condition(mat, "Scheduled")["message"]


def test_removing_schedule_deletes_cronjob(operator, stores, custom, api_client):
    batch = client.BatchV1Api(api_client)
    create(custom, stores, materialization("yearly-removed", {"featureStore": "shared", "schedule": YEARLY}))
    wait_for_phase(custom, stores, PLURAL, "yearly-removed", {"Scheduled"}, timeout=60, operator=operator)

    patch_spec(custom, stores, "yearly-removed", {"schedule": None})

    wait_for(lambda: read_cronjob(batch, stores, "yearly-removed") is None, 60, "the CronJob to be deleted",
             on_timeout=operator.log_tail)


def test_unknown_view_fails_without_job(operator, stores, custom, api_client):
    batch = client.BatchV1Api(api_client)
    create(custom, stores, materialization("typo", {"featureStore": "shared",
                                                    "featureViews": ["df1_feature_view", "df9_feature_view"]}))

    mat = wait_for_phase(custom, stores, PLURAL, "typo", {"Failed", "Succeeded"}, timeout=60, operator=operator)

    message = mat["status"]["message"]
    assert mat["status"]["phase"] == "Failed"
    assert condition(mat, "Succeeded")["reason"] == "UnknownFeatureView"
    assert "df9_feature_view" in message
    assert "spec.featureViews" in message
    for view in CANCER_VIEWS:
        assert view in message
    assert materialization_jobs(batch, stores, "typo") == []


def test_deleting_materialization_removes_children(operator, stores, custom, api_client):
    batch = client.BatchV1Api(api_client)
    create(custom, stores, materialization("gc-once", {"featureStore": "shared"}))
    create(custom, stores, materialization("gc-yearly", {"featureStore": "shared", "schedule": YEARLY}))
    wait_for_phase(custom, stores, PLURAL, "gc-once", {"Succeeded", "Failed"}, operator=operator)
    wait_for_phase(custom, stores, PLURAL, "gc-yearly", {"Scheduled"}, timeout=60, operator=operator)
    assert len(materialization_jobs(batch, stores, "gc-once")) == 1
    assert read_cronjob(batch, stores, "gc-yearly") is not None

    for name in ("gc-once", "gc-yearly"):
        custom.delete_namespaced_custom_object(GROUP, VERSION, stores, PLURAL, name)

    wait_for(lambda: not materialization_jobs(batch, stores, "gc-once"), 60, "the Job to be garbage-collected")
    wait_for(lambda: read_cronjob(batch, stores, "gc-yearly") is None, 60, "the CronJob to be garbage-collected")


def test_store_deletion_waits_then_resumes(operator, stores, custom, api_client):
    core = client.CoreV1Api(api_client)
    create(custom, stores, cancer_store("doomed"))
    wait_for_phase(custom, stores, STORE_PLURAL, "doomed", {"Ready"}, operator=operator)
    create(custom, stores, materialization("orphan", {"featureStore": "doomed", "schedule": YEARLY}))
    wait_for_phase(custom, stores, PLURAL, "orphan", {"Scheduled"}, timeout=60, operator=operator)

    custom.delete_namespaced_custom_object(GROUP, VERSION, stores, STORE_PLURAL, "doomed")

    mat = wait_for_phase(custom, stores, PLURAL, "orphan", {"Waiting"}, timeout=60, operator=operator)
    assert condition(mat, "StoreReady")["reason"] == "FeatureStoreNotFound"
    assert "'doomed'" in mat["status"]["message"]

    # Let the garbage collector remove the old store's ConfigMap first, so
    # that it cannot delete the ConfigMap after the new store adopted it.
    wait_for(lambda: is_missing(core.read_namespaced_config_map, "doomed-repo", stores), 60,
             "the old repo ConfigMap to be garbage-collected")
    create(custom, stores, cancer_store("doomed"))

    mat = wait_for_phase(custom, stores, PLURAL, "orphan", {"Scheduled"}, operator=operator)
    assert condition(mat, "StoreReady")["status"] == "True"
