"""React to Job events: record results in the parent's status and release the next writer."""

import logging

from featurestore_operator import api, kube, writers
from featurestore_operator.reconcile import featurestore, materialization
from featurestore_operator.reconcile.featurestore import EventSink
from featurestore_operator.results import is_finished


FINISHED_PHASES = (api.PHASE_SUCCEEDED, api.PHASE_FAILED)


def wake_materializations(
    namespace: str, fs_name: str, logger: logging.Logger, emit: EventSink, include_active: bool = False
) -> None:
    """Reconcile the Materializations of a store that changed: the waiting ones, or all unfinished ones."""
    for mat in kube.list_materializations(namespace):
        if mat["spec"].get("featureStore") != fs_name:
            continue
        phase = (mat.get("status") or {}).get("phase")
        if phase in FINISHED_PHASES or (not include_active and phase not in (None, api.PHASE_WAITING)):
            continue
        update = materialization.reconcile(mat, logger, emit)
        kube.patch_status(api.MATERIALIZATION_PLURAL, namespace, mat["metadata"]["name"], update)


def on_job(event_type: str, job: dict, logger: logging.Logger, emit: EventSink) -> None:
    """Handle any event of a Job that the operator manages."""
    labels = job["metadata"].get("labels") or {}
    namespace = job["metadata"]["namespace"]
    fs_name = labels.get(api.LABEL_FEATURESTORE)
    if not fs_name:
        return
    task = labels.get(api.LABEL_TASK)

    if event_type != "DELETED":
        if task == api.TASK_APPLY:
            _record_apply(namespace, fs_name, job, logger, emit)
        elif task == api.TASK_MATERIALIZE:
            _record_run(namespace, labels.get(api.LABEL_MATERIALIZATION), job, emit)

    released = writers.release_next(namespace, fs_name)
    if released:
        logger.info("writer lock of FeatureStore %s passed to Job %s", fs_name, released)


def _record_apply(namespace: str, fs_name: str, job: dict, logger: logging.Logger, emit: EventSink) -> None:
    fs = kube.read_featurestore(namespace, fs_name)
    if fs is None or not featurestore.is_current_apply(fs, job):
        return
    update = featurestore.apply_outcome_status(fs, job, emit)
    kube.patch_status(api.FEATURESTORE_PLURAL, namespace, fs_name, update)
    if is_finished(job):
        featurestore.prune_apply_jobs(namespace, fs_name, logger)
    if update.get("phase") == api.PHASE_READY:
        fs["status"] = {**(fs.get("status") or {}), **update}
        wake_materializations(namespace, fs_name, logger, emit)


def _record_run(namespace: str, mat_name: str | None, job: dict, emit: EventSink) -> None:
    if not mat_name:
        return
    mat = kube.read_materialization(namespace, mat_name)
    if mat is None:
        return
    update = materialization.run_outcome_status(mat, job, emit)
    kube.patch_status(api.MATERIALIZATION_PLURAL, namespace, mat_name, update)
