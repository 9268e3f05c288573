"""FeatureStore against the real API server, the real operator process and real Feast in Job pods."""

import textwrap

import pytest
from kubernetes import client

from tests.integration.support import (
    create,
    definitions_configmap,
    featurestore,
    read,
    run_job,
    wait_for,
    wait_for_phase,
)

pytestmark = pytest.mark.cluster

PLURAL = "featurestores"
APPLY_SELECTOR = "featurestore.dev/task=apply"

DRIVER_VIEW = textwrap.dedent(
    """\
    from datetime import timedelta

    from feast import Entity, FeatureView, Field, FileSource, ValueType
    from feast.types import Float32, Int64

    driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
    source = FileSource(name="driver_source", path="data/driver.parquet", timestamp_field="event_timestamp")
    driver_stats = FeatureView(
        name="driver_stats",
        entities=[driver],
        ttl=timedelta(days=1),
        schema=[Field(name="driver_id", dtype=Int64), Field(name="conv_rate", dtype=Float32)],
        source=source,
    )
    """
)

SECOND_VIEW = textwrap.dedent(
    """\

    driver_trips = FeatureView(
        name="driver_trips",
        entities=[driver],
        ttl=timedelta(days=1),
        schema=[Field(name="driver_id", dtype=Int64), Field(name="trips", dtype=Float32)],
        source=source,
    )
    """
)


def list_views_in_pod(batch: client.BatchV1Api, core: client.CoreV1Api, namespace: str, claim: str, pod_log) -> str:
    """Run a pod that reads the registry on the claim with Feast, and return the views it lists."""
    script = (
        "from feast import FeatureStore\n"
        "store = FeatureStore(repo_path='/feature-repo')\n"
        "print(','.join(sorted(v.name for v in store.list_feature_views())))\n"
    )
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "list-views"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{
                        "name": "list",
                        "image": "featurestore-operator:0.1.0",
                        "command": ["python", "-c", script],
                        "volumeMounts": [{"name": "repo", "mountPath": "/feature-repo"}],
                    }],
                    "volumes": [{"name": "repo", "persistentVolumeClaim": {"claimName": claim}}],
                }
            },
        },
    }
    run_job(batch, core, namespace, job, timeout=120, pod_log=pod_log)
    pod = core.list_namespaced_pod(namespace, label_selector="batch.kubernetes.io/job-name=list-views").items[0]
    return pod_log(namespace, pod.metadata.name).strip().splitlines()[-1]


def test_template_store_becomes_ready(operator, custom, namespace, kubectl):
    create(custom, namespace, featurestore("cancer", {"project": "breast_cancer",
                                                      "repo": {"template": {"name": "breast_cancer"}}}))

    fs = wait_for_phase(custom, namespace, PLURAL, "cancer", {"Ready", "Failed"}, operator=operator)

    assert fs["status"]["phase"] == "Ready", fs["status"].get("message")
    assert fs["status"]["featureViews"] == [
        "df1_feature_view", "df2_feature_view", "df3_feature_view", "df4_feature_view", "target_feature_view"]
    assert fs["status"]["entities"] == ["patient"]
    assert fs["status"]["observedGeneration"] == fs["metadata"]["generation"]
    table = kubectl("get", "fst", "cancer", "-n", namespace).stdout
    assert "Ready" in table.splitlines()[1]
    assert " 5 " in table.splitlines()[1]


def test_configmap_edit_reapplies(operator, custom, namespace, api_client):
    core = client.CoreV1Api(api_client)
    batch = client.BatchV1Api(api_client)
    definitions_configmap(core, namespace, DRIVER_VIEW)
    create(custom, namespace, featurestore("drivers", {"project": "drivers",
                                                       "repo": {"configMap": {"name": "definitions"}}}))
    first = wait_for_phase(custom, namespace, PLURAL, "drivers", {"Ready", "Failed"}, operator=operator)
    assert first["status"]["featureViews"] == ["driver_stats"]

    definitions_configmap(core, namespace, DRIVER_VIEW + SECOND_VIEW)

    second = wait_for(
        lambda: (lambda fs: fs if fs["status"].get("featureViewCount") == 2 else None)(
            read(custom, namespace, PLURAL, "drivers")),
        120, "the second feature view to be registered", on_timeout=operator.log_tail)
    assert second["status"]["featureViews"] == ["driver_stats", "driver_trips"]
    assert second["status"]["lastApplyJob"] != first["status"]["lastApplyJob"]
    assert f"ConfigMap {namespace}/definitions changed: reconciling FeatureStore drivers" in operator.log_tail(400)
    assert len(batch.list_namespaced_job(namespace, label_selector=APPLY_SELECTOR).items) == 2


def test_broken_definition_keeps_registry(operator, custom, namespace, api_client, pod_log):
    core = client.CoreV1Api(api_client)
    batch = client.BatchV1Api(api_client)
    definitions_configmap(core, namespace, DRIVER_VIEW)
    create(custom, namespace, featurestore("broken", {"project": "broken",
                                                      "repo": {"configMap": {"name": "definitions"}}}))
    wait_for_phase(custom, namespace, PLURAL, "broken", {"Ready"}, operator=operator)

    broken = DRIVER_VIEW + "\n\ndriver_trips = FeatureView(name=\"driver_trips\", entities=[missing_entity])\n"
    broken_line = broken.splitlines().index('driver_trips = FeatureView(name="driver_trips", '
                                            'entities=[missing_entity])') + 1
    definitions_configmap(core, namespace, broken)

    fs = wait_for_phase(custom, namespace, PLURAL, "broken", {"Failed"}, operator=operator)
    assert f"features.py:{broken_line}" in fs["status"]["message"]
    assert "missing_entity" in fs["status"]["message"]
    assert fs["status"]["featureViews"] == ["driver_stats"]
    assert list_views_in_pod(batch, core, namespace, "broken-repo", pod_log) == "driver_stats"


def test_missing_configmap_fails_then_recovers(operator, custom, namespace, api_client):
    core = client.CoreV1Api(api_client)
    create(custom, namespace, featurestore("late", {"project": "late",
                                                    "repo": {"configMap": {"name": "not-yet"}}}))

    fs = wait_for_phase(custom, namespace, PLURAL, "late", {"Failed"}, operator=operator)
    assert "not-yet" in fs["status"]["message"]
    assert core.list_namespaced_persistent_volume_claim(namespace).items == []

    definitions_configmap(core, namespace, DRIVER_VIEW, name="not-yet")
    fs = wait_for_phase(custom, namespace, PLURAL, "late", {"Ready"}, operator=operator)
    assert fs["status"]["featureViews"] == ["driver_stats"]


def test_missing_secret_fails_without_job(operator, custom, namespace, api_client):
    batch = client.BatchV1Api(api_client)
    spec = {
        "project": "redisstore",
        "repo": {"template": {"name": "minimal"}},
        "onlineStore": {"type": "redis", "redis": {"address": "127.0.0.1:6379",
                                                    "passwordSecretRef": {"name": "redis-auth", "key": "password"}}},
    }
    create(custom, namespace, featurestore("redisstore", spec))

    fs = wait_for_phase(custom, namespace, PLURAL, "redisstore", {"Failed"}, operator=operator)
    assert "redis-auth" in fs["status"]["message"]
    assert batch.list_namespaced_job(namespace).items == []


@pytest.mark.parametrize("policy, kept", [("Retain", True), ("Delete", False)])
def test_reclaim_policy(operator, custom, namespace, api_client, policy, kept):
    core = client.CoreV1Api(api_client)
    create(custom, namespace, featurestore("store", {"project": "store", "repo": {"template": {"name": "minimal"}},
                                                     "storage": {"reclaimPolicy": policy}}))
    wait_for_phase(custom, namespace, PLURAL, "store", {"Ready"}, operator=operator)
    volume = core.read_namespaced_persistent_volume_claim("store-repo", namespace).spec.volume_name

    custom.delete_namespaced_custom_object("featurestore.dev", "v1alpha1", namespace, PLURAL, "store")

    def claim_gone():
        try:
            core.read_namespaced_persistent_volume_claim("store-repo", namespace)
        except client.ApiException as error:
            return error.status == 404
        return False

    if kept:
        wait_for(lambda: not core.list_namespaced_config_map(namespace, label_selector="featurestore.dev/featurestore=store").items,
                 60, "the repo ConfigMap to be garbage-collected")
        assert not claim_gone()
    else:
        wait_for(claim_gone, 60, "the repo PVC to be deleted")

        def volume_gone():
            try:
                core.read_persistent_volume(volume)
            except client.ApiException as error:
                return error.status == 404
            return False

        wait_for(volume_gone, 60, "the released volume to be deleted")


def test_operator_restart_during_apply(operator, custom, namespace, api_client):
    batch = client.BatchV1Api(api_client)
    create(custom, namespace, featurestore("restart", {"project": "restart",
                                                       "repo": {"template": {"name": "breast_cancer"}}}))

    def running_job():
        jobs = batch.list_namespaced_job(namespace, label_selector=APPLY_SELECTOR).items
        return jobs[0] if jobs and jobs[0].spec.suspend is False else None

    wait_for(running_job, 60, "the apply Job to start", interval=0.2)
    operator.stop(kill=True)
    try:
        wait_for(lambda: (lambda job: job.status.succeeded)(running_job()), 120, "the apply Job to finish")
    finally:
        operator.start()

    fs = wait_for_phase(custom, namespace, PLURAL, "restart", {"Ready", "Failed"}, operator=operator)
    assert fs["status"]["phase"] == "Ready"
    assert fs["status"]["featureViewCount"] == 5
    assert len(batch.list_namespaced_job(namespace, label_selector=APPLY_SELECTOR).items) == 1


def test_reapply_annotation_and_pruning(operator, custom, namespace, api_client):
    batch = client.BatchV1Api(api_client)
    create(custom, namespace, featurestore("pruned", {"project": "pruned", "repo": {"template": {"name": "minimal"}}}))
    wait_for_phase(custom, namespace, PLURAL, "pruned", {"Ready"}, operator=operator)
    applied = {read(custom, namespace, PLURAL, "pruned")["status"]["lastApplyJob"]}

    for attempt in range(1, 4):
        custom.patch_namespaced_custom_object("featurestore.dev", "v1alpha1", namespace, PLURAL, "pruned",
                                              {"metadata": {"annotations": {"featurestore.dev/reapply": str(attempt)}}})

        def new_apply_done():
            fs = read(custom, namespace, PLURAL, "pruned")
            status = fs.get("status") or {}
            done = status.get("lastApplyJob") not in applied and status.get("phase") == "Ready"
            return status.get("lastApplyJob") if done else None

        applied.add(wait_for(new_apply_done, 120, f"reapply {attempt} to finish", on_timeout=operator.log_tail))

    def remaining_jobs():
        names = {job.metadata.name for job in batch.list_namespaced_job(namespace, label_selector=APPLY_SELECTOR).items}
        return names if len(names) == 3 else None

    remaining = wait_for(remaining_jobs, 30, "the oldest apply Job to be pruned")
    assert len(applied) == 4
    assert remaining < applied


def test_store_deletes_without_operator(operator, custom, namespace):
    create(custom, namespace, featurestore("orphan", {"project": "orphan", "repo": {"template": {"name": "minimal"}}}))
    wait_for_phase(custom, namespace, PLURAL, "orphan", {"Ready"}, operator=operator)
    operator.stop()
    try:
        custom.delete_namespaced_custom_object("featurestore.dev", "v1alpha1", namespace, PLURAL, "orphan")

        def gone():
            try:
                read(custom, namespace, PLURAL, "orphan")
            except client.ApiException as error:
                return error.status == 404
            return False

        wait_for(gone, 30, "the FeatureStore to be deleted while the operator is stopped")
    finally:
        operator.start()
