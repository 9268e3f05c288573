"""Converge one FeatureStore: repo PVC, repo ConfigMap, apply Job; and record the apply's result."""

import hashlib
import logging
from collections.abc import Callable

from featurestore_operator import api, kube, results, writers
from featurestore_operator import status as conditions
from featurestore_operator.reconcile.references import (
    UnresolvedReference,
    check_existing_claim,
    check_secrets,
    definition_files,
)
from featurestore_operator.resources.configmap import build_repo_configmap
from featurestore_operator.resources.hashing import compute_apply_hash
from featurestore_operator.resources.jobs import build_apply_job
from featurestore_operator.resources.labels import child_labels, label_selector
from featurestore_operator.resources.storage import build_repo_pvc
from featurestore_operator.settings import SETTINGS

# Emits a Kubernetes Event: (object, type "Normal" or "Warning", reason, message).
EventSink = Callable[[dict, str, str, str], None]

# Changing this annotation (to any new value) runs the apply again with unchanged definitions.
ANNOTATION_REAPPLY = f"{api.GROUP}/reapply"


def desired_hash(fs: dict, files: dict[str, str]) -> str:
    digest = compute_apply_hash(fs, files, SETTINGS.runner_image)
    reapply = (fs["metadata"].get("annotations") or {}).get(ANNOTATION_REAPPLY)
    if reapply:
        digest = hashlib.sha256(f"{digest}\n{reapply}".encode()).hexdigest()
    return digest


def _failed_status(fs: dict, reason: str, message: str) -> dict:
    """Return a Failed status that keeps what the last successful apply registered."""
    status = fs.get("status") or {}
    generation = fs["metadata"].get("generation")
    found = conditions.set_condition(status.get("conditions"), api.CONDITION_SOURCE_RESOLVED, False, reason, message,
                                     generation)
    found = conditions.set_condition(found, api.CONDITION_READY, False, reason, message, generation)
    return {"phase": api.PHASE_FAILED, "message": message, "observedGeneration": generation, "conditions": found}


def _ensure_pvc(fs: dict, logger: logging.Logger) -> tuple[str, bool, str]:
    """Create the repo PVC or bring its owner in line with reclaimPolicy; return (name, bound, message)."""
    namespace = fs["metadata"]["namespace"]
    desired = build_repo_pvc(fs)
    if desired is None:
        check_existing_claim(fs)
        name = fs["spec"]["storage"]["existingClaim"]
    else:
        name = desired["metadata"]["name"]
        kube.create_if_missing(kube.core().create_namespaced_persistent_volume_claim, namespace, desired, logger)

    claim = kube.ignore_missing(kube.core().read_namespaced_persistent_volume_claim, name, namespace)
    if claim is None:
        return name, False, f"PersistentVolumeClaim {name} is being created"

    if desired is not None:
        wanted_owners = desired["metadata"].get("ownerReferences") or []
        current_owners = kube.to_dict(claim)["metadata"].get("ownerReferences") or []
        if [o["uid"] for o in wanted_owners] != [o["uid"] for o in current_owners]:
            # reclaimPolicy changed: ownership decides whether the claim dies with the FeatureStore.
            kube.core().patch_namespaced_persistent_volume_claim(
                name, namespace, {"metadata": {"ownerReferences": wanted_owners or None}}
            )
            logger.info("set owner of PersistentVolumeClaim %s/%s for reclaimPolicy", namespace, name)

    bound, message = _claim_state(claim)
    return name, bound, message


def _claim_state(claim) -> tuple[bool, str]:
    """Return whether a PersistentVolumeClaim is Bound, and a message that names its volume."""
    name = claim.metadata.name
    if claim.status.phase == "Bound":
        return True, f"PersistentVolumeClaim {name} is Bound to {claim.spec.volume_name}"
    return False, f"PersistentVolumeClaim {name} is {claim.status.phase}"


def _ensure_configmap(desired: dict, logger: logging.Logger) -> None:
    namespace = desired["metadata"]["namespace"]
    name = desired["metadata"]["name"]
    if kube.create_if_missing(kube.core().create_namespaced_config_map, namespace, desired, logger):
        return
    current = kube.core().read_namespaced_config_map(name, namespace)
    if (current.data or {}) != desired["data"]:
        kube.core().patch_namespaced_config_map(name, namespace, {"data": {**{k: None for k in current.data or {}},
                                                                           **desired["data"]}})
        logger.info("updated ConfigMap %s/%s", namespace, name)


def _drop_superseded_jobs(namespace: str, fs_name: str, keep: str, logger: logging.Logger) -> None:
    """Delete queued apply Jobs of older definitions: only the newest definitions are worth applying."""
    selector = label_selector(child_labels(fs_name, api.TASK_APPLY))
    for job in kube.batch().list_namespaced_job(namespace, label_selector=selector).items:
        if job.metadata.name != keep and job.spec.suspend and not results.is_finished(kube.to_dict(job)):
            kube.ignore_missing(kube.batch().delete_namespaced_job, job.metadata.name, namespace,
                                propagation_policy="Background")
            logger.info("deleted superseded apply Job %s/%s", namespace, job.metadata.name)


def reconcile(fs: dict, logger: logging.Logger, emit: EventSink) -> dict:
    """Converge the FeatureStore's children and return the status fields to merge."""
    namespace = fs["metadata"]["namespace"]
    name = fs["metadata"]["name"]
    generation = fs["metadata"].get("generation")
    status = fs.get("status") or {}

    try:
        files = definition_files(fs)
        configmap = build_repo_configmap(fs, files)
        apply_hash = desired_hash(fs, files)
        job = build_apply_job(fs, apply_hash, SETTINGS.runner_image)
        check_secrets(namespace, job)
        claim_name, bound, claim_message = _ensure_pvc(fs, logger)
    except UnresolvedReference as problem:
        if status.get("message") != problem.message:
            emit(fs, "Warning", problem.reason, problem.message)
            logger.warning("%s", problem.message)
        return _failed_status(fs, problem.reason, problem.message)
    except ValueError as error:
        message = f"invalid spec: {error}"
        if status.get("message") != message:
            emit(fs, "Warning", conditions.REASON_INVALID_SPEC, message)
            logger.warning("%s", message)
        return _failed_status(fs, conditions.REASON_INVALID_SPEC, message)

    found = conditions.set_condition(status.get("conditions"), api.CONDITION_SOURCE_RESOLVED, True,
                                     conditions.REASON_SOURCE_RESOLVED, "definitions, Secrets and claim found",
                                     generation)
    found = conditions.set_condition(found, api.CONDITION_STORAGE_READY, bound,
                                     conditions.REASON_CLAIM_BOUND if bound else conditions.REASON_CLAIM_PENDING,
                                     claim_message, generation)
    update = {
        "observedGeneration": generation,
        "pvcName": claim_name,
        "configMapName": configmap["metadata"]["name"],
        "conditions": found,
    }

    _ensure_configmap(configmap, logger)
    job_name = job["metadata"]["name"]
    existing = kube.ignore_missing(kube.batch().read_namespaced_job, job_name, namespace)

    if existing is None:
        if status.get("appliedHash") == apply_hash or (
            status.get("lastApplyJob") == job_name and status.get("phase") == api.PHASE_FAILED
        ):
            # Applied already, or failed on these exact definitions and its Job was pruned:
            # running it again would give the same result.
            return update
        kube.create_if_missing(kube.batch().create_namespaced_job, namespace, job, logger)
        _drop_superseded_jobs(namespace, name, job_name, logger)
        emit(fs, "Normal", conditions.REASON_APPLY_QUEUED, f"apply Job {job_name} created")
        update["lastApplyJob"] = job_name
        update["phase"] = api.PHASE_APPLYING
        update["message"] = f"apply Job {job_name} is queued"
        update["conditions"] = conditions.set_condition(found, api.CONDITION_APPLIED, None,
                                                        conditions.REASON_APPLY_QUEUED, update["message"], generation)
        # Record the Job before it can start: the Job's events are matched to
        # the FeatureStore by status.lastApplyJob.
        kube.patch_status(api.FEATURESTORE_PLURAL, namespace, name, update)
        writers.release_next(namespace, name)
        return update

    update["lastApplyJob"] = job_name
    fs = {**fs, "status": {**status, **update}}
    update.update(apply_outcome_status(fs, kube.to_dict(existing), emit))
    writers.release_next(namespace, name)
    return update


def apply_outcome_status(fs: dict, job: dict, emit: EventSink) -> dict:
    """Return the status fields that an apply Job's current outcome implies for its FeatureStore."""
    status = fs.get("status") or {}
    generation = fs["metadata"].get("generation")
    job_name = job["metadata"]["name"]
    outcome = results.job_outcome(job)
    previous = conditions.condition_of(status, api.CONDITION_APPLIED) or {}
    found = status.get("conditions")

    if outcome.state == results.QUEUED:
        holder = writers.queue_position(fs["metadata"]["namespace"], fs["metadata"]["name"], job_name)
        message = f"apply Job {job_name} waits for writer Job {holder}" if holder else f"apply Job {job_name} is queued"
        found = conditions.set_condition(found, api.CONDITION_APPLIED, None, conditions.REASON_APPLY_QUEUED, message,
                                         generation)
        return {"phase": api.PHASE_APPLYING, "message": message, "conditions": found}

    if outcome.state == results.RUNNING:
        message = f"apply Job {job_name} is running"
        if previous.get("reason") != conditions.REASON_APPLY_RUNNING or status.get("message") != message:
            emit(fs, "Normal", "ApplyStarted", message)
        found = conditions.set_condition(found, api.CONDITION_APPLIED, None, conditions.REASON_APPLY_RUNNING, message,
                                         generation)
        return {"phase": api.PHASE_APPLYING, "message": message, "conditions": found}

    result = outcome.result
    apply_hash = (job["metadata"].get("annotations") or {}).get(api.ANNOTATION_APPLY_HASH)
    if outcome.state == results.SUCCEEDED:
        found = _storage_condition(fs, found)
        views = result.get("featureViews") or []
        entities = result.get("entities") or []
        # A long result is cut to fit the 4 KiB termination message; totals keeps the real counts.
        totals = result.get("totals") or {}
        view_count = totals.get("featureViews", len(views))
        entity_count = totals.get("entities", len(entities))
        message = (f"registered {_count(view_count, 'feature view', 'feature views')} and "
                   f"{_count(entity_count, 'entity', 'entities')} (Job {job_name})")
        if result.get("truncated"):
            message += "; the lists in the status are shortened, see the Job's log for all names"
        if status.get("appliedHash") != apply_hash:
            emit(fs, "Normal", conditions.REASON_APPLY_SUCCEEDED, message)
        found = conditions.set_condition(found, api.CONDITION_APPLIED, True, conditions.REASON_APPLY_SUCCEEDED,
                                         message, generation)
        found = conditions.set_condition(found, api.CONDITION_READY, True, conditions.REASON_APPLY_SUCCEEDED,
                                         message, generation)
        return {
            "phase": api.PHASE_READY,
            "message": message,
            "appliedHash": apply_hash,
            "lastAppliedTime": outcome.end_time,
            "featureViews": views,
            "featureViewCount": view_count,
            "entities": entities,
            "dataSources": result.get("dataSources") or [],
            "featureServices": result.get("featureServices") or [],
            "feastVersion": result.get("feastVersion"),
            "sourceRevision": result.get("sourceRevision"),
            "conditions": found,
        }

    message = _failure_message(job_name, outcome, bool(status.get("appliedHash")))
    if previous.get("reason") != conditions.REASON_APPLY_FAILED or status.get("message") != message:
        emit(fs, "Warning", conditions.REASON_APPLY_FAILED, message)
    found = conditions.set_condition(found, api.CONDITION_APPLIED, False, conditions.REASON_APPLY_FAILED, message,
                                     generation)
    found = conditions.set_condition(found, api.CONDITION_READY, False, conditions.REASON_APPLY_FAILED, message,
                                     generation)
    return {"phase": api.PHASE_FAILED, "message": message, "conditions": found}


def _storage_condition(fs: dict, found: list | None) -> list[dict]:
    """Return the conditions with StorageReady read again from the claim, which the Job has now used."""
    name = (fs.get("status") or {}).get("pvcName")
    claim = kube.ignore_missing(kube.core().read_namespaced_persistent_volume_claim, name,
                                fs["metadata"]["namespace"]) if name else None
    if claim is None:
        return list(found or [])
    bound, message = _claim_state(claim)
    return conditions.set_condition(found, api.CONDITION_STORAGE_READY, bound,
                                    conditions.REASON_CLAIM_BOUND if bound else conditions.REASON_CLAIM_PENDING,
                                    message, fs["metadata"].get("generation"))


def _failure_message(job_name: str, outcome: results.JobOutcome, applied_before: bool) -> str:
    result = outcome.result
    detail = outcome.message.strip().rstrip(".")
    where = ""
    if result.get("file"):
        where = f"{result['file']}:{result['line']}" if result.get("line") else result["file"]
    # The task's message often starts with the location already.
    if where and not detail.startswith(where):
        detail = f"{where}: {detail}"
    reason = result.get("reason") or "JobFailed"
    message = f"apply Job {job_name} failed ({reason}): {detail}."
    if applied_before:
        message += " The previously applied registry is unchanged."
    return message


def _count(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def prune_apply_jobs(namespace: str, fs_name: str, logger: logging.Logger) -> None:
    """Delete finished apply Jobs beyond the newest SETTINGS.apply_jobs_kept."""
    selector = label_selector(child_labels(fs_name, api.TASK_APPLY))
    jobs = [kube.to_dict(job) for job in kube.batch().list_namespaced_job(namespace, label_selector=selector).items]
    finished = sorted((job for job in jobs if results.is_finished(job)),
                      key=lambda job: job["metadata"]["creationTimestamp"], reverse=True)
    for job in finished[SETTINGS.apply_jobs_kept:]:
        kube.ignore_missing(kube.batch().delete_namespaced_job, job["metadata"]["name"], namespace,
                            propagation_policy="Background")
        logger.info("pruned apply Job %s/%s", namespace, job["metadata"]["name"])


def is_current_apply(fs: dict, job: dict) -> bool:
    return (fs.get("status") or {}).get("lastApplyJob") == job["metadata"]["name"]

