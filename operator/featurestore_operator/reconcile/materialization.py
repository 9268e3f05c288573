"""Converge one Materialization: a one-shot Job or a CronJob, and its status from each run."""

import datetime
import json
import logging

from kubernetes import client

from featurestore_operator import api, kube, results, writers
from featurestore_operator import status as conditions
from featurestore_operator.reconcile.featurestore import EventSink
from featurestore_operator.reconcile.references import UnresolvedReference, check_secrets
from featurestore_operator.resources.materialization import build_materialization_cronjob, build_materialization_job
from featurestore_operator.resources.names import cronjob_name, materialization_job_name
from featurestore_operator.resources.spec import materialization_spec
from featurestore_operator.settings import SETTINGS


def run_id(mat: dict) -> str:
    """Return the id of the one-shot run for the current spec: an edited spec is a new run."""
    return f"run-{mat['metadata'].get('generation', 1)}"


def _waiting(mat: dict, reason: str, message: str) -> dict:
    status = mat.get("status") or {}
    generation = mat["metadata"].get("generation")
    found = conditions.set_condition(status.get("conditions"), api.CONDITION_STORE_READY, False, reason, message,
                                     generation)
    return {"phase": api.PHASE_WAITING, "message": message, "observedGeneration": generation, "conditions": found}


def _failed(mat: dict, reason: str, message: str) -> dict:
    status = mat.get("status") or {}
    generation = mat["metadata"].get("generation")
    found = conditions.set_condition(status.get("conditions"), api.CONDITION_SUCCEEDED, False, reason, message,
                                     generation)
    return {"phase": api.PHASE_FAILED, "message": message, "observedGeneration": generation, "conditions": found}


def _unknown_views(mat: dict, fs: dict) -> list[str]:
    """Return the requested views that the store's status does not list.

    A status whose list was shortened (more views than it names) cannot tell,
    so then none are called unknown and the Job itself checks every name.
    """
    status = fs.get("status") or {}
    known = status.get("featureViews") or []
    if status.get("featureViewCount", len(known)) > len(known):
        return []
    wanted = materialization_spec(mat).get("featureViews") or []
    return [view for view in wanted if view not in set(known)]


def _ensure_cronjob(desired: dict, logger: logging.Logger) -> None:
    namespace = desired["metadata"]["namespace"]
    name = desired["metadata"]["name"]
    if kube.create_if_missing(kube.batch().create_namespaced_cron_job, namespace, desired, logger):
        return
    current = kube.to_dict(kube.batch().read_namespaced_cron_job(name, namespace))
    wanted_spec = desired["spec"]
    if any(current["spec"].get(key) != value for key, value in wanted_spec.items() if key != "jobTemplate") or (
        current["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
        != wanted_spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    ):
        kube.batch().replace_namespaced_cron_job(name, namespace, {**desired, "metadata": {
            **desired["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]}})
        logger.info("updated CronJob %s/%s", namespace, name)


def _delete_cronjob(namespace: str, mat_name: str, logger: logging.Logger) -> None:
    """Delete the CronJob of a Materialization whose schedule was removed, if it has one.

    The Background propagation deletes the CronJob's Jobs too, a running one included.
    """
    name = cronjob_name(mat_name)
    deleted = kube.ignore_missing(kube.batch().delete_namespaced_cron_job, name, namespace,
                                  propagation_policy="Background")
    if deleted is not None:
        logger.info("deleted CronJob %s/%s because spec.schedule was removed", namespace, name)


# CronJob fields that the Materialization's spec sets under the same name.
_CRONJOB_FIELDS = ("schedule", "timeZone", "startingDeadlineSeconds", "concurrencyPolicy",
                   "successfulJobsHistoryLimit", "failedJobsHistoryLimit")


def _rejection_message(mat: dict, error: client.ApiException) -> str:
    """Return a status message for a Job or CronJob that the API server rejected as invalid (422)."""
    try:
        body = json.loads(error.body)
        detail = body["message"]
        rejected = [cause.get("field") or "" for cause in (body.get("details") or {}).get("causes") or []]
    except (TypeError, ValueError, KeyError):
        detail, rejected = str(error.reason), []

    # Fields of the pod template come from the runner settings of the
    # Materialization, merged over those of its FeatureStore.
    fields = set()
    for field in rejected:
        if not field.startswith("spec."):
            continue
        name = field.removeprefix("spec.")
        fields.add(f"spec.{name}" if name in _CRONJOB_FIELDS else "spec.runner")

    store = materialization_spec(mat)["featureStore"]
    fix = " or ".join(sorted(fields)) if fields else "the spec"
    if "spec.runner" in fields:
        fix += f" (here or in FeatureStore {store!r})"
    kind = "CronJob" if materialization_spec(mat).get("schedule") else "Job"
    return f"the API server rejected the {kind} built from this Materialization: {detail}. Fix {fix}"


def reconcile(mat: dict, logger: logging.Logger, emit: EventSink) -> dict:
    """Converge the Materialization's Job or CronJob and return the status fields to merge."""
    namespace = mat["metadata"]["namespace"]
    spec = materialization_spec(mat)
    store_name = spec["featureStore"]
    status = mat.get("status") or {}
    generation = mat["metadata"].get("generation")

    fs = kube.read_featurestore(namespace, store_name)
    if fs is None:
        message = (f"FeatureStore {store_name!r} not found in namespace {namespace}: create it or fix "
                   "spec.featureStore; this materialization starts once the store is applied")
        if status.get("message") != message:
            emit(mat, "Warning", conditions.REASON_STORE_NOT_FOUND, message)
        return _waiting(mat, conditions.REASON_STORE_NOT_FOUND, message)
    if not (fs.get("status") or {}).get("appliedHash"):
        phase = (fs.get("status") or {}).get("phase") or api.PHASE_PENDING
        message = (f"FeatureStore {store_name!r} is {phase} and has no successful apply yet: "
                   "this materialization starts once it has")
        return _waiting(mat, conditions.REASON_STORE_NOT_READY, message)

    unknown = _unknown_views(mat, fs)
    if unknown:
        available = ", ".join((fs.get("status") or {}).get("featureViews") or []) or "none"
        message = (f"feature view {', '.join(unknown)} not found in FeatureStore {store_name!r}: fix "
                   f"spec.featureViews; the store has {available}")
        if status.get("message") != message:
            emit(mat, "Warning", conditions.REASON_UNKNOWN_FEATURE_VIEW, message)
        return _failed(mat, conditions.REASON_UNKNOWN_FEATURE_VIEW, message)

    found = conditions.set_condition(status.get("conditions"), api.CONDITION_STORE_READY, True,
                                     conditions.REASON_STORE_READY, f"FeatureStore {store_name} is applied",
                                     generation)
    update = {"observedGeneration": generation, "conditions": found}

    try:
        if spec.get("schedule"):
            cronjob = build_materialization_cronjob(mat, fs, SETTINGS.runner_image)
            check_secrets(namespace, {"spec": cronjob["spec"]["jobTemplate"]["spec"]})
            _ensure_cronjob(cronjob, logger)
        else:
            _delete_cronjob(namespace, mat["metadata"]["name"], logger)
            job_name = materialization_job_name(mat["metadata"]["name"], run_id(mat))
            job = build_materialization_job(mat, fs, job_name, SETTINGS.runner_image)
            check_secrets(namespace, job)
            recorded = any(run.get("job") == job_name for run in status.get("runs") or [])
            if not recorded and kube.create_if_missing(kube.batch().create_namespaced_job, namespace, job, logger):
                emit(mat, "Normal", "RunQueued", f"materialization Job {job_name} created")
                update["lastJob"] = job_name
    except UnresolvedReference as problem:
        if status.get("message") != problem.message:
            emit(mat, "Warning", problem.reason, problem.message)
        return _failed(mat, problem.reason, problem.message)
    except ValueError as error:
        return _failed(mat, conditions.REASON_FAILED, f"invalid spec: {error}")
    except client.ApiException as error:
        # The CRD cannot check everything that the Job and CronJob APIs check,
        # such as the cron expression's values or the time zone. So a 422 here
        # means an invalid spec, and a retry would only repeat it.
        if error.status != 422:
            raise
        message = _rejection_message(mat, error)
        if status.get("message") != message:
            emit(mat, "Warning", conditions.REASON_INVALID_SPEC, message)
            logger.warning("%s", message)
        return _failed(mat, conditions.REASON_INVALID_SPEC, message)

    if spec.get("schedule"):
        suspended = spec.get("suspend")
        reason = conditions.REASON_SUSPENDED if suspended else conditions.REASON_SCHEDULED
        message = f"schedule {spec['schedule']!r} is suspended" if suspended else f"runs on schedule {spec['schedule']!r}"
        update["conditions"] = conditions.set_condition(found, api.CONDITION_SCHEDULED, not suspended, reason,
                                                        message, generation)
        if status.get("phase") not in (api.PHASE_RUNNING,):
            update["phase"] = api.PHASE_SCHEDULED
            update["message"] = message
    elif status.get("phase") in (None, api.PHASE_WAITING) or update.get("lastJob"):
        update["phase"] = api.PHASE_PENDING
        update["message"] = "the materialization Job is queued behind the store's other writers"

    writers.release_next(namespace, store_name)
    return update


def _duration(start: str | None, end: str | None) -> str | None:
    if not start or not end:
        return None
    parse = lambda text: datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    return f"{(parse(end) - parse(start)).total_seconds():.0f}s"


def run_outcome_status(mat: dict, job: dict, emit: EventSink) -> dict:
    """Return the status fields that a materialization Job's outcome implies for its Materialization."""
    status = mat.get("status") or {}
    generation = mat["metadata"].get("generation")
    job_name = job["metadata"]["name"]
    outcome = results.job_outcome(job)
    scheduled = bool(materialization_spec(mat).get("schedule"))
    result = outcome.result

    run = {"job": job_name, "result": outcome.state if outcome.state != results.QUEUED else api.PHASE_WAITING}
    if outcome.start_time:
        run["startTime"] = outcome.start_time
    if outcome.end_time:
        run["endTime"] = outcome.end_time
    if "rowsWritten" in result:
        run["rowsWritten"] = result["rowsWritten"]
    if outcome.state in (results.SUCCEEDED, results.FAILED):
        run["message"] = outcome.message if outcome.state == results.FAILED else (
            f"wrote {result.get('rowsWritten', 0)} rows to {len(result.get('featureViews') or [])} feature views")

    previous = next((r for r in status.get("runs") or [] if r.get("job") == job_name), None)
    runs = [r for r in status.get("runs") or [] if r.get("job") != job_name] + [run]
    runs.sort(key=lambda r: (r.get("startTime") or "9999", r["job"]))
    update: dict = {"runs": runs[-SETTINGS.run_history:], "lastJob": job_name}
    if outcome.start_time:
        update["lastRunTime"] = outcome.start_time

    found = status.get("conditions")
    if outcome.state == results.QUEUED:
        store = mat["spec"]["featureStore"]
        holder = writers.queue_position(mat["metadata"]["namespace"], store, job_name)
        message = f"Job {job_name} waits for writer Job {holder}" if holder else f"Job {job_name} is queued"
        if not scheduled:
            update.update(phase=api.PHASE_PENDING, message=message)
        return update
    if outcome.state == results.RUNNING:
        if (previous or {}).get("result") != results.RUNNING:
            emit(mat, "Normal", "RunStarted", f"materialization Job {job_name} is running")
        update.update(phase=api.PHASE_RUNNING, message=f"Job {job_name} is running")
        return update

    if outcome.state == results.SUCCEEDED:
        if (previous or {}).get("result") != results.SUCCEEDED:
            emit(mat, "Normal", conditions.REASON_SUCCEEDED, f"Job {job_name}: {run['message']}")
        until = dict(status.get("materializedUntil") or {})
        for view in result.get("featureViews") or []:
            if view.get("end"):
                until[view["name"]] = view["end"]
        found = conditions.set_condition(found, api.CONDITION_SUCCEEDED, True, conditions.REASON_SUCCEEDED,
                                         f"Job {job_name}: {run['message']}", generation)
        update.update(
            lastSuccessTime=outcome.end_time,
            materializedUntil=until,
            rowsWritten=result.get("rowsWritten", 0),
            duration=f"{result['durationSeconds']:.1f}s" if "durationSeconds" in result
            else _duration(outcome.start_time, outcome.end_time),
            conditions=found,
            phase=api.PHASE_SCHEDULED if scheduled else api.PHASE_SUCCEEDED,
            message=f"Job {job_name}: {run['message']}",
        )
        return update

    message = f"Job {job_name} failed ({result.get('reason') or 'JobFailed'}): {outcome.message}"
    if (previous or {}).get("result") != results.FAILED:
        emit(mat, "Warning", conditions.REASON_FAILED, message)
    found = conditions.set_condition(found, api.CONDITION_SUCCEEDED, False, result.get("reason") or "JobFailed",
                                     message, generation)
    update.update(conditions=found, phase=api.PHASE_SCHEDULED if scheduled else api.PHASE_FAILED, message=message)
    return update
