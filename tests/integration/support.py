"""Helpers for integration tests: create custom objects, wait for a status, prepare data on a PVC."""

import json
import time
import uuid
from pathlib import Path

from kubernetes import client

from tests.session import SESSION_PREFIX

GROUP = "featurestore.dev"
VERSION = "v1alpha1"


def featurestore(name: str, spec: dict) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "FeatureStore", "metadata": {"name": name}, "spec": spec}


def materialization(name: str, spec: dict) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Materialization", "metadata": {"name": name}, "spec": spec}


def create(custom: client.CustomObjectsApi, namespace: str, body: dict) -> dict:
    plural = body["kind"].lower() + "s"
    return custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)


def read(custom: client.CustomObjectsApi, namespace: str, plural: str, name: str) -> dict:
    return custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5, on_timeout=None):
    """Poll predicate() until it returns a truthy value, and return it; fail with what after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    details = on_timeout() if on_timeout else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last value: {last!r}\n{details}")


def wait_for_phase(custom, namespace: str, plural: str, name: str, phases: set[str], timeout: float = 180,
                   operator=None) -> dict:
    def current():
        obj = read(custom, namespace, plural, name)
        return obj if (obj.get("status") or {}).get("phase") in phases else None

    def details():
        obj = read(custom, namespace, plural, name)
        text = f"status: {obj.get('status')}"
        if operator is not None:
            text += f"\noperator log:\n{operator.log_tail()}"
        return text

    return wait_for(current, timeout, f"{plural}/{name} to reach {sorted(phases)}", on_timeout=details)


def jobs_with_label(batch: client.BatchV1Api, namespace: str, selector: str) -> list:
    return batch.list_namespaced_job(namespace, label_selector=selector).items


PREPARE_DATA_SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "breast_cancer" / "scripts" / "prepare_data.py"

# Where the breast_cancer template's features.py reads its tables, inside the repo PVC.
BREAST_CANCER_DATA_DIR = "/feature-repo/data/breast_cancer"


def create_namespace(core: client.CoreV1Api, label: str) -> str:
    """Create a namespace "<session prefix>-<label>-<4 hex digits>", which the session's operator watches."""
    name = f"{SESSION_PREFIX}-{label}-{uuid.uuid4().hex[:4]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def delete_namespace(core: client.CoreV1Api, name: str, timeout: float = 60) -> None:
    """Delete a namespace after its FeatureStores, while the operator still runs to remove their finalizer.

    kopf puts a finalizer on each FeatureStore that it handles. A namespace
    deleted after the operator stopped would keep its FeatureStores, and so
    stay Terminating, for good.
    """
    custom = client.CustomObjectsApi(core.api_client)
    stores = custom.list_namespaced_custom_object(GROUP, VERSION, name, "featurestores")["items"]
    for store in stores:
        try:
            custom.delete_namespaced_custom_object(GROUP, VERSION, name, "featurestores", store["metadata"]["name"])
        except client.ApiException as error:
            if error.status != 404:
                raise

    def stores_gone():
        return not custom.list_namespaced_custom_object(GROUP, VERSION, name, "featurestores")["items"]

    wait_for(stores_gone, timeout, f"the FeatureStores of namespace {name} to be deleted")
    try:
        core.delete_namespace(name)
    except client.ApiException as error:
        if error.status != 404:
            raise


def create_claim(core: client.CoreV1Api, namespace: str, name: str, size: str = "1Gi") -> None:
    """Create a ReadWriteOnce PVC of the cluster's default storage class."""
    body = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    }
    core.create_namespaced_persistent_volume_claim(namespace, body)


def run_job(batch: client.BatchV1Api, core: client.CoreV1Api, namespace: str, job: dict, timeout: float = 180,
            pod_log=None) -> None:
    """Create a Job that the operator does not manage and wait until it succeeds; fail with its log otherwise."""
    name = job["metadata"]["name"]
    batch.create_namespaced_job(namespace, job)

    def finished():
        status = batch.read_namespaced_job(name, namespace).status
        if status.succeeded:
            return "succeeded"
        if status.failed:
            return "failed"
        return None

    def log_of_pods():
        if pod_log is None:
            return ""
        pods = core.list_namespaced_pod(namespace, label_selector=f"batch.kubernetes.io/job-name={name}").items
        return "\n".join(pod_log(namespace, pod.metadata.name) for pod in pods)

    outcome = wait_for(finished, timeout, f"Job {namespace}/{name} to finish", on_timeout=log_of_pods)
    if outcome != "succeeded":
        raise AssertionError(f"Job {namespace}/{name} failed:\n{log_of_pods()}")


def prepare_breast_cancer_data(api_client: client.ApiClient, namespace: str, claim: str, pod_log=None,
                               name: str | None = None) -> None:
    """Write the five breast-cancer tables into data/breast_cancer on a claim, with prepare_data.py in a Job.

    The script travels in a ConfigMap, and the Job mounts the claim at
    /feature-repo, where the apply and materialize Jobs mount the repo PVC.
    The last row's event_timestamp is the time the Job runs.
    """
    core = client.CoreV1Api(api_client)
    batch = client.BatchV1Api(api_client)
    name = name or f"prepare-{claim}"[:63].rstrip("-")
    script = {"prepare_data.py": PREPARE_DATA_SCRIPT.read_text()}
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name),
                                                                    data=script))
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{
                        "name": "prepare",
                        "image": "featurestore-operator",
                        "command": ["python", "/scripts/prepare_data.py", "--output", BREAST_CANCER_DATA_DIR],
                        "volumeMounts": [{"name": "repo", "mountPath": "/feature-repo"},
                                         {"name": "scripts", "mountPath": "/scripts", "readOnly": True}],
                    }],
                    "volumes": [{"name": "repo", "persistentVolumeClaim": {"claimName": claim}},
                                {"name": "scripts", "configMap": {"name": name}}],
                }
            },
        },
    }
    run_job(batch, core, namespace, job, pod_log=pod_log)


def rejection(call, *args, **kwargs) -> client.ApiException:
    """Run an API call that the API server must reject, and return its error; fail if it succeeds."""
    try:
        call(*args, **kwargs)
    except client.ApiException as error:
        return error
    raise AssertionError(f"{getattr(call, '__name__', call)} was accepted, but the API server should reject it")


def rejection_message(error: client.ApiException) -> str:
    """Return the message of an API error's Status body, or the raw body when it is not JSON."""
    try:
        return json.loads(error.body)["message"]
    except (TypeError, ValueError, KeyError):
        return str(error.body)


def is_missing(read, *args) -> bool:
    """Return True when the read call raises 404."""
    try:
        read(*args)
    except client.ApiException as error:
        if error.status == 404:
            return True
        raise
    return False


def condition(obj: dict, condition_type: str) -> dict:
    """Return the status condition of a type, or {} when the object has none."""
    for found in (obj.get("status") or {}).get("conditions") or []:
        if found.get("type") == condition_type:
            return found
    return {}


def definitions_configmap(core: client.CoreV1Api, namespace: str, content: str, name: str = "definitions") -> None:
    """Create or replace a ConfigMap with one definition file, features.py."""
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data={"features.py": content})
    try:
        core.create_namespaced_config_map(namespace, body)
    except client.ApiException as error:
        if error.status != 409:
            raise
        core.replace_namespaced_config_map(name, namespace, body)
