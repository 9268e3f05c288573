"""The Kubernetes API as the operator uses it: clients, and calls where 404 and 409 mean "done"."""

import functools
import logging

from kubernetes import client, config

from featurestore_operator import api

log = logging.getLogger(__name__)


@functools.cache
def api_client() -> client.ApiClient:
    """Return the shared API client: in-cluster credentials in a pod, else the kubeconfig."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.ApiClient()


def core() -> client.CoreV1Api:
    return client.CoreV1Api(api_client())


def batch() -> client.BatchV1Api:
    return client.BatchV1Api(api_client())


def coordination() -> client.CoordinationV1Api:
    return client.CoordinationV1Api(api_client())


def custom() -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client())


def to_dict(obj) -> dict:
    """Return a client model as the plain camelCase dict that the API server sends."""
    return api_client().sanitize_for_serialization(obj)


def ignore_missing(call, *args, **kwargs):
    """Run an API call and return None instead of raising when the object is not found."""
    try:
        return call(*args, **kwargs)
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise


def create_if_missing(create, namespace: str, body: dict, logger: logging.Logger | None = None) -> bool:
    """Create an object; return False when it exists already (409), True when created."""
    try:
        create(namespace, body)
    except client.ApiException as error:
        if error.status == 409:
            return False
        raise
    (logger or log).info("created %s %s/%s", body["kind"], namespace, body["metadata"]["name"])
    return True


def read_featurestore(namespace: str, name: str) -> dict | None:
    return ignore_missing(
        custom().get_namespaced_custom_object, api.GROUP, api.VERSION, namespace, api.FEATURESTORE_PLURAL, name
    )


def list_materializations(namespace: str) -> list[dict]:
    listing = custom().list_namespaced_custom_object(api.GROUP, api.VERSION, namespace, api.MATERIALIZATION_PLURAL)
    return listing.get("items", [])


def read_materialization(namespace: str, name: str) -> dict | None:
    return ignore_missing(
        custom().get_namespaced_custom_object, api.GROUP, api.VERSION, namespace, api.MATERIALIZATION_PLURAL, name
    )


def patch_status(plural: str, namespace: str, name: str, status: dict) -> None:
    """Merge `status` into a custom object's status; a missing object is ignored."""
    ignore_missing(
        custom().patch_namespaced_custom_object_status,
        api.GROUP,
        api.VERSION,
        namespace,
        plural,
        name,
        {"status": status},
    )
