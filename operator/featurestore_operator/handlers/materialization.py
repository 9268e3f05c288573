"""Materialization handlers: converge on create, update and resume."""

import logging

import kopf

from featurestore_operator import api
from featurestore_operator.handlers.common import emit, plain
from featurestore_operator.reconcile import materialization


@kopf.on.resume(api.GROUP, api.VERSION, api.MATERIALIZATION_PLURAL)
@kopf.on.create(api.GROUP, api.VERSION, api.MATERIALIZATION_PLURAL)
@kopf.on.update(api.GROUP, api.VERSION, api.MATERIALIZATION_PLURAL)
def reconcile_materialization(body: kopf.Body, patch: kopf.Patch, logger: logging.Logger, **_) -> None:
    patch.status.update(materialization.reconcile(plain(body), logger, emit))
