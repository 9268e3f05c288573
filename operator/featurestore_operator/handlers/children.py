"""Watches of the Jobs the operator creates: each event updates the parent and the writer queue."""

import logging

import kopf

from featurestore_operator import api
from featurestore_operator.handlers.common import emit, plain
from featurestore_operator.reconcile import jobs


@kopf.on.event("batch", "v1", "jobs", labels={api.LABEL_MANAGED_BY: api.MANAGED_BY})
def job_event(event: kopf.RawEvent, body: kopf.Body, logger: logging.Logger, **_) -> None:
    jobs.on_job(event.get("type") or "ADDED", plain(body), logger, emit)
