"""FeatureStore handlers: converge on create, update and resume.

Changes that the API server does not signal (a ConfigMap or Secret that
changes or appears) are picked up by the resync thread in resync.py.
"""

import logging

import kopf

from featurestore_operator import api
from featurestore_operator.handlers.common import emit, plain
from featurestore_operator.reconcile import featurestore, jobs


@kopf.on.resume(api.GROUP, api.VERSION, api.FEATURESTORE_PLURAL)
@kopf.on.create(api.GROUP, api.VERSION, api.FEATURESTORE_PLURAL)
@kopf.on.update(api.GROUP, api.VERSION, api.FEATURESTORE_PLURAL)
def reconcile_featurestore(body: kopf.Body, patch: kopf.Patch, logger: logging.Logger, **_) -> None:
    patch.status.update(featurestore.reconcile(plain(body), logger, emit))


def _is_deletion(event: kopf.RawEvent, **_) -> bool:
    return event["type"] == "DELETED"


@kopf.on.event(api.GROUP, api.VERSION, api.FEATURESTORE_PLURAL, when=_is_deletion)
def featurestore_deleted(body: kopf.Body, logger: logging.Logger, **_) -> None:
    # Materializations of a deleted store report that they wait for it.
    jobs.wake_materializations(body["metadata"]["namespace"], body["metadata"]["name"], logger, emit,
                               include_active=True)
