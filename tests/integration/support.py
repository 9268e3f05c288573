"""Helpers for integration tests: create custom objects, wait for a status, prepare data on a PVC."""

import time

from kubernetes import client

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
