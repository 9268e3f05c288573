"""FeatureStore handlers: converge on create, update, resume, and on changes of a source ConfigMap.

A changed Secret, or a missing one that appears, is picked up by the resync
thread in resync.py: watching Secrets would need the right to read them all.
"""

import logging

import kopf

from featurestore_operator import api, kube
from featurestore_operator.handlers.common import emit, plain
from featurestore_operator.reconcile import featurestore, jobs


@kopf.on.resume(api.GROUP, api.VERSION, api.FEATURESTORE_PLURAL)
@kopf.on.create(api.GROUP, api.VERSION, api.FEATURESTORE_PLURAL)
@kopf.on.update(api.GROUP, api.VERSION, api.FEATURESTORE_PLURAL)
def reconcile_featurestore(body: kopf.Body, patch: kopf.Patch, logger: logging.Logger, **_) -> None:
    # Job events write this status too: start from the stored object, not from
    # the event's copy, which can be older than the last apply's result.
    current = kube.read_featurestore(body["metadata"]["namespace"], body["metadata"]["name"]) or plain(body)
    patch.status.update(featurestore.reconcile(current, logger, emit))


def _is_deletion(event: kopf.RawEvent, **_) -> bool:
    return event["type"] == "DELETED"


@kopf.on.event(api.GROUP, api.VERSION, api.FEATURESTORE_PLURAL, when=_is_deletion)
def featurestore_deleted(body: kopf.Body, logger: logging.Logger, **_) -> None:
    # Materializations of a deleted store report that they wait for it.
    jobs.wake_materializations(body["metadata"]["namespace"], body["metadata"]["name"], logger, emit,
                               include_active=True)


@kopf.index(api.GROUP, api.VERSION, api.FEATURESTORE_PLURAL)
def configmap_sources(namespace: str, name: str, spec: kopf.Spec, **_) -> dict | None:
    """Index the FeatureStores by the ConfigMap that contains their definitions."""
    source = (spec.get("repo") or {}).get("configMap") or {}
    if not source.get("name"):
        return None
    return {(namespace, source["name"]): name}


@kopf.on.event("", "v1", "configmaps")
def configmap_changed(event: kopf.RawEvent, namespace: str, name: str, configmap_sources: kopf.Index,
                      logger: logging.Logger, **_) -> None:
    # The first listing at start-up is skipped: the resume handlers cover it.
    if event.get("type") is None:
        return
    for fs_name in configmap_sources.get((namespace, name), []):
        fs = kube.read_featurestore(namespace, fs_name)
        if fs is None or fs["metadata"].get("deletionTimestamp"):
            continue
        logger.info("ConfigMap %s/%s changed: reconciling FeatureStore %s", namespace, name, fs_name)
        kube.patch_status(api.FEATURESTORE_PLURAL, namespace, fs_name, featurestore.reconcile(fs, logger, emit))
