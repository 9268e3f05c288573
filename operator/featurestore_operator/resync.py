"""A periodic pass over every FeatureStore, for changes the API server does not signal.

The user's ConfigMap of definitions and the Secrets can change, appear or go
away without any change to the FeatureStore. A kopf timer would notice, but
kopf puts a finalizer on every object that has a timer, and then deleting a
FeatureStore, or its namespace, hangs whenever the operator is not running.
This thread needs no finalizer: it lists the stores and reconciles each one.
"""

import fnmatch
import logging
import threading

from kubernetes import client

from featurestore_operator import api, kube, status
from featurestore_operator.reconcile import featurestore, materialization
from featurestore_operator.settings import SETTINGS

log = logging.getLogger(__name__)


def _matches(name: str, pattern: str) -> bool:
    """Match a namespace against one kopf pattern: comma-separated globs, "!" excludes.

    As in kopf, a pattern that starts with an exclusion implies a leading "*".
    """
    globs = [glob.strip() for glob in pattern.split(",") if glob.strip()]
    matched = bool(globs) and globs[0].startswith("!")
    for glob in globs:
        if glob.startswith("!"):
            matched = matched and not fnmatch.fnmatchcase(name, glob[1:])
        elif fnmatch.fnmatchcase(name, glob):
            matched = True
    return matched


def namespace_watched(name: str, patterns: list[str]) -> bool:
    """Return whether the operator serves this namespace; no patterns means every namespace."""
    return not patterns or any(_matches(name, pattern) for pattern in patterns)


def post_event(obj: dict, event_type: str, reason: str, message: str) -> None:
    """Post an Event about a custom object through the API client (kopf's queue exists only in handlers)."""
    metadata = obj["metadata"]
    stamp = status.now()
    event = client.CoreV1Event(
        metadata=client.V1ObjectMeta(generate_name=f"{metadata['name']}.", namespace=metadata["namespace"]),
        involved_object=client.V1ObjectReference(
            api_version=obj["apiVersion"], kind=obj["kind"], name=metadata["name"],
            namespace=metadata["namespace"], uid=metadata["uid"],
        ),
        reason=reason, message=message[:1024], type=event_type, count=1,
        first_timestamp=stamp, last_timestamp=stamp,
        source=client.V1EventSource(component=api.MANAGED_BY),
    )
    try:
        kube.core().create_namespaced_event(metadata["namespace"], event)
    except client.ApiException as error:
        log.warning("event %s about %s/%s not posted: %s", reason, metadata["namespace"], metadata["name"], error.reason)


def _being_deleted(error: client.ApiException) -> bool:
    """Return whether the API server refused a write because the namespace is being deleted."""
    return error.status == 403 and "being terminated" in (error.body or "")


def _resync(plural: str, patterns: list[str], wanted, reconcile) -> int:
    listing = kube.custom().list_cluster_custom_object(api.GROUP, api.VERSION, plural)
    checked = 0
    for obj in listing.get("items", []):
        metadata = obj["metadata"]
        if metadata.get("deletionTimestamp") or not namespace_watched(metadata["namespace"], patterns):
            continue
        if not wanted(obj):
            continue
        try:
            kube.patch_status(plural, metadata["namespace"], metadata["name"], reconcile(obj, log, post_event))
        except client.ApiException as error:
            if not _being_deleted(error):
                log.exception("resync of %s %s/%s failed; the next pass retries", plural, metadata["namespace"],
                              metadata["name"])
        except Exception:  # noqa: BLE001 - one broken object must not stop the pass over the others
            log.exception("resync of %s %s/%s failed; the next pass retries", plural, metadata["namespace"],
                          metadata["name"])
        checked += 1
    return checked


def resync_once(patterns: list[str]) -> int:
    """Reconcile every FeatureStore, and every waiting Materialization, in the served namespaces.

    A waiting Materialization is normally woken by its store's first successful
    apply; the pass also covers a wake-up that failed. Returns how many objects
    were checked.
    """
    checked = _resync(api.FEATURESTORE_PLURAL, patterns, lambda fs: True, featurestore.reconcile)
    waiting = (None, api.PHASE_WAITING)
    checked += _resync(api.MATERIALIZATION_PLURAL, patterns,
                       lambda mat: (mat.get("status") or {}).get("phase") in waiting, materialization.reconcile)
    return checked


def run_forever(patterns: list[str], stop: threading.Event) -> None:
    while not stop.wait(SETTINGS.resync_seconds):
        try:
            resync_once(patterns)
        except Exception:  # noqa: BLE001 - the loop must outlive any single failure
            log.exception("resync pass failed; the next pass retries in %d s", SETTINGS.resync_seconds)


def start(patterns: list[str]) -> threading.Event:
    """Start the resync thread; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_forever, args=(patterns, stop), name="resync", daemon=True).start()
    log.info("resync of FeatureStores every %d s started", SETTINGS.resync_seconds)
    return stop
