"""The materialization Job (one run) and CronJob (a schedule) that load the online store."""

from collections.abc import Mapping

from featurestore_operator import api
from featurestore_operator.resources.labels import child_labels, child_metadata
from featurestore_operator.resources.names import cronjob_name
from featurestore_operator.resources.pod import job_spec
from featurestore_operator.resources.spec import (
    materialization_spec,
    object_name,
    runner_spec,
)

MATERIALIZE_CONTAINER = "materialize"


def materialize_args(mat: Mapping) -> list[str]:
    """Return the arguments after `python -m featurestore_operator.jobs` for a materialization."""
    spec = materialization_spec(mat)
    args = [
        api.TASK_MATERIALIZE,
        "--repo",
        api.REPO_MOUNT_PATH,
        "--termination-log",
        api.TERMINATION_MESSAGE_PATH,
        "--mode",
        spec["mode"],
    ]

    if spec.get("startTime"):
        args += ["--start-time", spec["startTime"]]
    if spec.get("endTime"):
        args += ["--end-time", spec["endTime"]]
    for feature_view in spec.get("featureViews") or []:
        args += ["--feature-view", feature_view]
    return args


def _check_store(mat: Mapping, fs: Mapping) -> None:
    store_name = materialization_spec(mat).get("featureStore")
    if store_name != object_name(fs):
        raise ValueError(
            f"Materialization {object_name(mat)!r} names FeatureStore {store_name!r}, "
            f"not {object_name(fs)!r}: pass the FeatureStore that spec.featureStore names"
        )


def _materialization_job_spec(mat: Mapping, fs: Mapping, labels: Mapping, image: str) -> dict:
    return job_spec(
        fs,
        runner_spec(fs, mat),
        labels,
        MATERIALIZE_CONTAINER,
        image,
        materialize_args(mat),
    )


def build_materialization_job(mat: Mapping, fs: Mapping, job_name: str, image: str) -> dict:
    """Build the suspended Job `job_name` for one run of Materialization `mat` on store `fs`.

    `image` is the operator's default runner image; a runner.image of the
    Materialization or else of the FeatureStore wins if set.
    """
    _check_store(mat, fs)
    labels = child_labels(object_name(fs), api.TASK_MATERIALIZE, object_name(mat))

    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": child_metadata(job_name, mat, labels),
        "spec": _materialization_job_spec(mat, fs, labels, image),
    }


def build_materialization_cronjob(mat: Mapping, fs: Mapping, image: str) -> dict:
    """Build the CronJob for Materialization `mat` with a schedule.

    Each Job it creates starts suspended, like a one-shot run, so that the
    operator un-suspends it only when no other writer of the store is running.
    """
    _check_store(mat, fs)
    spec = materialization_spec(mat)
    if not spec.get("schedule"):
        raise ValueError(
            f"Materialization {object_name(mat)!r} has no spec.schedule: build a one-shot "
            f"Job with build_materialization_job() instead"
        )
    labels = child_labels(object_name(fs), api.TASK_MATERIALIZE, object_name(mat))

    cron_spec = {
        "schedule": spec["schedule"],
        "suspend": spec["suspend"],
        "concurrencyPolicy": spec["concurrencyPolicy"],
        "successfulJobsHistoryLimit": spec["successfulJobsHistoryLimit"],
        "failedJobsHistoryLimit": spec["failedJobsHistoryLimit"],
        "jobTemplate": {
            "metadata": {"labels": dict(labels)},
            "spec": _materialization_job_spec(mat, fs, labels, image),
        },
    }
    for field in ("timeZone", "startingDeadlineSeconds"):
        if spec.get(field) is not None:
            cron_spec[field] = spec[field]

    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": child_metadata(cronjob_name(object_name(mat)), mat, labels),
        "spec": cron_spec,
    }
