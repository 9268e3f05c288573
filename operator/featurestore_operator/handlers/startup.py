"""Operator-wide kopf settings, chosen on purpose instead of kopf's defaults."""

import datetime
import logging

import kopf

from featurestore_operator import api, resync
from featurestore_operator.settings import SETTINGS


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: logging.Logger, **_) -> None:
    # The operator's own finalizer and annotation names, so that they never
    # collide with another kopf operator's on the same objects.
    settings.persistence.finalizer = f"{api.GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=api.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=api.GROUP, key="last-handled-configuration"
    )

    # A watch that the network drops without closing would hang forever: the
    # server ends each watch after this timeout and kopf starts a new one.
    settings.watching.server_timeout = SETTINGS.watch_timeout_seconds
    settings.watching.client_timeout = SETTINGS.watch_timeout_seconds + 30
    settings.watching.connect_timeout = 30

    # Post info-level messages as Events too, so that `kubectl describe` shows each step.
    settings.posting.level = logging.INFO
    logger.info("featurestore-operator starting: runner image %s, resync every %d s",
                SETTINGS.runner_image, SETTINGS.resync_seconds)
    memo.resync_stop = resync.start(list(memo.get("namespaces") or []))


@kopf.on.cleanup()
def stop_resync(memo: kopf.Memo, **_) -> None:
    if memo.get("resync_stop") is not None:
        memo.resync_stop.set()


@kopf.on.probe(id="now")
def liveness(**_) -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()
