"""Invalid FeatureStores and Materializations, each rejected by the API server or reported with its fix.

Every case also checks that it left no Job, CronJob or PVC behind. The cases
share one namespace with the Ready store "base" (the minimal template), and
each uses its own object names, so that those checks see only its objects.
"""

import base64
import textwrap

import pytest
from kubernetes import client

from tests.integration.support import (
    GROUP,
    VERSION,
    condition,
    create,
    create_namespace,
    delete_namespace,
    featurestore,
    is_missing,
    materialization,
    read,
    rejection,
    rejection_message,
    wait_for_phase,
)

pytestmark = pytest.mark.cluster

STORE_PLURAL = "featurestores"
MAT_PLURAL = "materializations"

VALID_STORE = {"project": "valid", "repo": {"template": {"name": "minimal"}}}

# Definitions for the ConfigMap cases. No case gets as far as applying them.
DEFINITIONS = "from feast import Entity\n\ndriver = Entity(name='driver', join_keys=['driver_id'])\n"


def store_spec(**fields) -> dict:
    return {**VALID_STORE, **fields}


def store_jobs(batch: client.BatchV1Api, namespace: str, name: str) -> list:
    return batch.list_namespaced_job(namespace, label_selector=f"{GROUP}/featurestore={name}").items


def materialization_jobs(batch: client.BatchV1Api, namespace: str, name: str) -> list:
    return batch.list_namespaced_job(namespace, label_selector=f"{GROUP}/materialization={name}").items


@pytest.fixture(scope="module")
def bad_input(operator, api_client):
    """Create the module's namespace with the Ready store "base" and the objects that some cases refer to."""
    core = client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    namespace = create_namespace(core, "bad")
    try:
        core.create_namespaced_config_map(namespace, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="definitions"), data={"features.py": DEFINITIONS}))
        core.create_namespaced_secret(namespace, client.V1Secret(
            metadata=client.V1ObjectMeta(name="redis-other-key"),
            data={"username": base64.b64encode(b"feast").decode()}))
        create(custom, namespace, featurestore("base", VALID_STORE))
        fs = wait_for_phase(custom, namespace, STORE_PLURAL, "base", {"Ready", "Failed"}, operator=operator)
        assert fs["status"]["phase"] == "Ready", fs["status"].get("message")
        yield namespace
    finally:
        delete_namespace(core, namespace)


# (spec, text that names the field, text of the rule or fix)
REJECTED_STORES = [
    pytest.param(store_spec(project="fraud-detection"), "spec.project", "digits and '_'", id="project-with-dash"),
    pytest.param(store_spec(project="_private"), "spec.project", "start with a letter or digit",
                 id="project-leading-underscore"),
    pytest.param(store_spec(project="p" * 64), "spec.project", "63", id="project-too-long"),
    pytest.param({"repo": {"template": {"name": "minimal"}}}, "spec.project", "Required value", id="project-missing"),
    pytest.param(store_spec(repo={"template": {"name": "minimal"}, "configMap": {"name": "definitions"}}),
                 "spec.repo", "exactly one of configMap, git or template", id="two-repo-sources"),
    pytest.param(store_spec(repo={}), "spec.repo", "exactly one of configMap, git or template", id="no-repo-source"),
    pytest.param({"project": "valid"}, "spec.repo", "Required value", id="repo-missing"),
    pytest.param(store_spec(storage={"size": "-1Gi"}), "spec.storage.size", "greater than zero", id="negative-size"),
    pytest.param(store_spec(storage={"size": "0"}), "spec.storage.size", "greater than zero", id="zero-size"),
    pytest.param(store_spec(storage={"size": "lots"}), "spec.storage.size", "such as 1Gi", id="size-not-quantity"),
    pytest.param(store_spec(storage={"accessModes": ["ReadWriteSometimes"]}), "spec.storage.accessModes[0]",
                 "ReadWriteOnce", id="unknown-access-mode"),
    pytest.param(store_spec(storage={"existingClaim": "data", "storageClassName": "standard"}), "spec.storage",
                 "remove it or storage.existingClaim", id="class-with-existing-claim"),
    pytest.param(store_spec(storage={"existingClaim": "data", "reclaimPolicy": "Delete"}), "spec.storage",
                 "use Retain", id="delete-policy-with-existing-claim"),
    pytest.param(store_spec(onlineStore={"type": "cassandra"}), "spec.onlineStore.type", "sqlite",
                 id="unknown-online-store-type"),
    pytest.param(store_spec(offlineStore={"type": "bigquery"}), "spec.offlineStore.type", "file",
                 id="unknown-offline-store-type"),
    pytest.param(store_spec(onlineStore={"type": "redis"}), "spec.onlineStore", "requires onlineStore.redis",
                 id="redis-without-settings"),
    pytest.param(store_spec(registry={"type": "sql"}), "spec.registry", "requires registry.sql.urlSecretRef",
                 id="sql-registry-without-url"),
    pytest.param(store_spec(registry={"path": "/var/registry.db"}), "spec.registry.path", "relative",
                 id="absolute-registry-path"),
    pytest.param(store_spec(repo={"template": {"name": "fraud"}}), "spec.repo.template.name", "breast_cancer",
                 id="unknown-template"),
    pytest.param(store_spec(repo={"git": {"url": "https://feast:hunter2@127.0.0.1/features.git"}}),
                 "spec.repo.git.url", "credentialsSecretRef", id="git-url-with-credentials"),
    pytest.param(store_spec(repo={"git": {"url": "https://127.0.0.1/features.git", "path": "../outside"}}),
                 "spec.repo.git.path", "must not contain '..'", id="git-path-escapes-repo"),
    pytest.param(store_spec(repo={"git": {"url": "not a url"}}), "spec.repo.git.url", "should match",
                 id="git-url-not-url"),
    pytest.param(store_spec(runner={"backoffLimit": -1}), "spec.runner.backoffLimit", "greater than or equal to 0",
                 id="negative-backoff-limit"),
]


@pytest.mark.parametrize("spec, field, rule", REJECTED_STORES)
def test_featurestore_create_rejected(bad_input, custom, spec, field, rule):
    error = rejection(create, custom, bad_input, featurestore("rejected", spec))

    message = rejection_message(error)
    assert error.status == 422
    assert f"{field}:" in message
    assert rule in message
    assert is_missing(read, custom, bad_input, STORE_PLURAL, "rejected")


def test_featurestore_rejection_shown_by_kubectl(bad_input, kubectl):
    manifest = textwrap.dedent(
        """\
        apiVersion: featurestore.dev/v1alpha1
        kind: FeatureStore
        metadata:
          name: rejected-by-kubectl
        spec:
          project: fraud-detection
          repo:
            template:
              name: minimal
        """
    )

    completed = kubectl("apply", "-n", bad_input, "-f", "-", input=manifest, check=False)

    assert completed.returncode != 0
    assert "spec.project" in completed.stderr
    assert "digits and '_'" in completed.stderr


# (initial spec, spec patch, text that names the field, text of the rule). The
# initial stores read a ConfigMap that does not exist, so that the operator
# stops before it creates a PVC or a Job for them.
UNRESOLVED = {"project": "immutable", "repo": {"configMap": {"name": "not-created"}}}
REJECTED_UPDATES = [
    pytest.param({**UNRESOLVED, "storage": {"storageClassName": "standard"}},
                 {"storage": {"storageClassName": "fast"}}, "spec.storage.storageClassName", "immutable",
                 id="storage-class-changed"),
    pytest.param({**UNRESOLVED, "storage": {"existingClaim": "claim-a"}},
                 {"storage": {"existingClaim": "claim-b"}}, "spec.storage.existingClaim", "immutable",
                 id="existing-claim-changed"),
    pytest.param({**UNRESOLVED, "storage": {"existingClaim": "claim-a"}},
                 {"storage": {"existingClaim": None}}, "spec.storage", "cannot be added or removed",
                 id="existing-claim-removed"),
    pytest.param({**UNRESOLVED, "storage": {"size": "2Gi"}},
                 {"storage": {"size": "1Gi"}}, "spec.storage.size", "can only grow", id="size-shrunk"),
    pytest.param(UNRESOLVED,
                 {"storage": {"accessModes": ["ReadWriteMany"]}}, "spec.storage.accessModes", "immutable",
                 id="access-modes-changed"),
]


@pytest.mark.parametrize("initial, change, field, rule", REJECTED_UPDATES)
def test_featurestore_update_rejected(bad_input, custom, request, initial, change, field, rule):
    name = f"update-{request.node.callspec.id}"
    created = create(custom, bad_input, featurestore(name, initial))

    error = rejection(custom.patch_namespaced_custom_object, GROUP, VERSION, bad_input, STORE_PLURAL, name,
                      {"spec": change})

    message = rejection_message(error)
    assert error.status == 422
    assert f"{field}:" in message
    assert rule in message
    unchanged = read(custom, bad_input, STORE_PLURAL, name)
    assert unchanged["metadata"]["generation"] == created["metadata"]["generation"]


def _secret_ref(name: str) -> dict:
    return {"name": name, "key": "password"}


# (name, spec, condition reason, texts the message must contain)
FAILED_STORES = [
    pytest.param("no-configmap", store_spec(repo={"configMap": {"name": "absent-definitions"}}),
                 "ConfigMapNotFound", ["'absent-definitions'", "spec.repo.configMap.name", "create it"],
                 id="missing-configmap"),
    pytest.param("no-key", store_spec(repo={"configMap": {"name": "definitions", "keys": ["stats.py"]}}),
                 "ConfigMapNotFound", ["'stats.py'", "spec.repo.configMap.keys", "features.py"],
                 id="missing-configmap-key"),
    pytest.param("no-secret", store_spec(onlineStore={"type": "redis", "redis": {
                     "address": "127.0.0.1:6379", "passwordSecretRef": _secret_ref("redis-auth")}}),
                 "SecretNotFound", ["'redis-auth'", "create it"], id="missing-secret"),
    pytest.param("no-secret-key", store_spec(onlineStore={"type": "redis", "redis": {
                     "address": "127.0.0.1:6379", "passwordSecretRef": _secret_ref("redis-other-key")}}),
                 "SecretNotFound", ["'redis-other-key'", "no key password", "username"], id="missing-secret-key"),
    pytest.param("no-git-secret", store_spec(repo={"git": {"url": "https://127.0.0.1/features.git",
                                                           "credentialsSecretRef": {"name": "git-auth"}}}),
                 "SecretNotFound", ["'git-auth'"], id="missing-git-credentials"),
    pytest.param("no-claim", store_spec(storage={"existingClaim": "absent-claim"}),
                 "ClaimNotFound", ["'absent-claim'", "spec.storage.existingClaim", "remove existingClaim"],
                 id="missing-existing-claim"),
]


@pytest.mark.parametrize("name, spec, reason, texts", FAILED_STORES)
def test_featurestore_failed_without_children(operator, bad_input, custom, api_client, name, spec, reason, texts):
    core = client.CoreV1Api(api_client)
    batch = client.BatchV1Api(api_client)
    create(custom, bad_input, featurestore(name, spec))

    fs = wait_for_phase(custom, bad_input, STORE_PLURAL, name, {"Failed", "Ready", "Applying"}, timeout=60,
                        operator=operator)

    assert fs["status"]["phase"] == "Failed"
    assert condition(fs, "Ready")["reason"] == reason
    for text in texts:
        assert text in fs["status"]["message"]
    assert store_jobs(batch, bad_input, name) == []
    assert is_missing(core.read_namespaced_persistent_volume_claim, f"{name}-repo", bad_input)


VALID_TIMES = {"startTime": "2024-05-01T00:00:00Z", "endTime": "2024-05-02T00:00:00Z"}

# (spec, text that names the field, text of the rule or fix)
REJECTED_MATERIALIZATIONS = [
    pytest.param({"featureStore": "base", "schedule": "every minute"}, "spec.schedule", "should match",
                 id="cron-words"),
    pytest.param({"featureStore": "base", "schedule": "* * * *"}, "spec.schedule", "should match",
                 id="cron-four-fields"),
    pytest.param({"featureStore": "base", "mode": "range", "startTime": VALID_TIMES["endTime"],
                  "endTime": VALID_TIMES["startTime"]}, "spec", "startTime must be before endTime",
                 id="reversed-times"),
    pytest.param({"featureStore": "base", "mode": "range", "startTime": VALID_TIMES["startTime"]}, "spec",
                 "mode range requires startTime and endTime", id="range-without-end"),
    pytest.param({"featureStore": "base", "mode": "range", **VALID_TIMES, "schedule": "@daily"}, "spec",
                 "mode range cannot be combined with schedule", id="range-with-schedule"),
    pytest.param({"featureStore": "base", "startTime": VALID_TIMES["startTime"]}, "spec",
                 "startTime is not used with mode incremental", id="incremental-with-start"),
    pytest.param({"featureStore": "base", "endTime": VALID_TIMES["endTime"], "schedule": "@hourly"}, "spec",
                 "endTime cannot be combined with schedule", id="end-with-schedule"),
    pytest.param({"featureStore": "base", "timeZone": "Europe/Berlin"}, "spec",
                 "only used with schedule", id="time-zone-without-schedule"),
    pytest.param({"featureStore": "base", "mode": "full"}, "spec.mode", "incremental", id="unknown-mode"),
    pytest.param({"featureStore": "base", "endTime": "yesterday"}, "spec.endTime", "should match",
                 id="end-not-timestamp"),
    pytest.param({"featureStore": "base", "endTime": "2024-05-01T00:00:00"}, "spec.endTime", "should match",
                 id="end-without-zone"),
    pytest.param({"mode": "incremental"}, "spec.featureStore", "Required value", id="store-missing"),
    pytest.param({"featureStore": "Base_Store"}, "spec.featureStore", "should match", id="store-not-dns-name"),
    pytest.param({"featureStore": "base", "featureViews": ["a view"]}, "spec.featureViews[0]", "should match",
                 id="view-name-with-space"),
    pytest.param({"featureStore": "base", "schedule": "@daily", "successfulJobsHistoryLimit": -1},
                 "spec.successfulJobsHistoryLimit", "greater than or equal to 0", id="negative-history-limit"),
]


@pytest.mark.parametrize("spec, field, rule", REJECTED_MATERIALIZATIONS)
def test_materialization_create_rejected(bad_input, custom, spec, field, rule):
    error = rejection(create, custom, bad_input, materialization("rejected", spec))

    message = rejection_message(error)
    assert error.status == 422
    assert f"{field}:" in message
    assert rule in message
    assert is_missing(read, custom, bad_input, MAT_PLURAL, "rejected")


def test_materialization_store_change_rejected(bad_input, custom):
    created = create(custom, bad_input, materialization("moving", {"featureStore": "base", "schedule": "0 0 1 1 *",
                                                                   "suspend": True}))

    error = rejection(custom.patch_namespaced_custom_object, GROUP, VERSION, bad_input, MAT_PLURAL, "moving",
                      {"spec": {"featureStore": "other"}})

    assert error.status == 422
    assert "featureStore is immutable" in rejection_message(error)
    unchanged = read(custom, bad_input, MAT_PLURAL, "moving")
    assert unchanged["metadata"]["generation"] == created["metadata"]["generation"]


# (name, spec, phase, condition type, condition reason, texts the message must contain)
FAILED_MATERIALIZATIONS = [
    pytest.param("to-absent", {"featureStore": "absent"}, "Waiting", "StoreReady", "FeatureStoreNotFound",
                 ["'absent'", "spec.featureStore", "create it"], id="unknown-store"),
    pytest.param("to-unapplied", {"featureStore": "no-configmap-store"}, "Waiting", "StoreReady",
                 "FeatureStoreNotReady", ["'no-configmap-store'", "no successful apply"], id="store-never-applied"),
    pytest.param("typo", {"featureStore": "base", "featureViews": ["driver_stat"]}, "Failed", "Succeeded",
                 "UnknownFeatureView", ["driver_stat ", "spec.featureViews", "driver_stats"], id="unknown-view"),
    pytest.param("bad-minute", {"featureStore": "base", "schedule": "61 * * * *"}, "Failed", "Succeeded",
                 "InvalidSpec", ["spec.schedule", "61 * * * *"], id="cron-minute-out-of-range"),
    pytest.param("bad-zone", {"featureStore": "base", "schedule": "@daily", "timeZone": "Mars/Olympus_Mons"},
                 "Failed", "Succeeded", "InvalidSpec", ["spec.timeZone", "Mars/Olympus_Mons"], id="unknown-time-zone"),
    pytest.param("runner-no-secret", {"featureStore": "base", "runner": {"env": [
                     {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "absent-token", "key": "token"}}}]}},
                 "Failed", "Succeeded", "SecretNotFound", ["'absent-token'", "create it"], id="runner-missing-secret"),
    pytest.param("no-secret-cron", {"featureStore": "base", "schedule": "@daily", "runner": {"envFrom": [
                     {"secretRef": {"name": "absent-env"}}]}},
                 "Failed", "Succeeded", "SecretNotFound", ["'absent-env'"], id="scheduled-runner-missing-secret"),
    pytest.param("bad-env", {"featureStore": "base", "runner": {"env": [{"name": "BAD=NAME", "value": "x"}]}},
                 "Failed", "Succeeded", "InvalidSpec", ["BAD=NAME", "spec.runner"], id="runner-env-invalid-name"),
]


@pytest.mark.parametrize("name, spec, phase, condition_type, reason, texts", FAILED_MATERIALIZATIONS)
def test_materialization_reported_without_children(operator, bad_input, custom, api_client, name, spec, phase,
                                                   condition_type, reason, texts):
    batch = client.BatchV1Api(api_client)
    if spec["featureStore"] == "no-configmap-store":
        create(custom, bad_input, featurestore("no-configmap-store",
                                               store_spec(repo={"configMap": {"name": "absent-definitions"}})))
        wait_for_phase(custom, bad_input, STORE_PLURAL, "no-configmap-store", {"Failed"}, timeout=60,
                       operator=operator)
    create(custom, bad_input, materialization(name, spec))

    mat = wait_for_phase(custom, bad_input, MAT_PLURAL, name, {"Waiting", "Failed", "Pending", "Scheduled"},
                         timeout=60, operator=operator)

    assert mat["status"]["phase"] == phase
    assert condition(mat, condition_type)["reason"] == reason
    for text in texts:
        assert text in mat["status"]["message"]
    assert materialization_jobs(batch, bad_input, name) == []
    assert is_missing(batch.read_namespaced_cron_job, name, bad_input)
