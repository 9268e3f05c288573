"""Materialization handlers: converge on create, update and resume."""

import logging

import kopf

from featurestore_operator import api, kube
from featurestore_operator.handlers.common import emit, plain
from featurestore_operator.reconcile import materialization


@kopf.on.resume(api.GROUP, api.VERSION, api.MATERIALIZATION_PLURAL)
@kopf.on.create(api.GROUP, api.VERSION, api.MATERIALIZATION_PLURAL)
@kopf.on.update(api.GROUP, api.VERSION, api.MATERIALIZATION_PLURAL)
def reconcile_materialization(body: kopf.Body, patch: kopf.Patch, logger: logging.Logger, **_) -> None:
    # Job events write this status too: start from the stored object, not from
    # the event's copy, which can be older than the last run's result.
    current = kube.read_materialization(body["metadata"]["namespace"], body["metadata"]["name"]) or plain(body)
    patch.status.update(materialization.reconcile(current, logger, emit))
