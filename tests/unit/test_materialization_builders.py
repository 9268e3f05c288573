"""The materialization Job and CronJob builders."""

import pytest

from featurestore_operator import api
from featurestore_operator.jobs.__main__ import build_parser
from featurestore_operator.resources.materialization import (
    build_materialization_cronjob,
    build_materialization_job,
)
from featurestore_operator.resources.pod import JOBS_COMMAND

IMAGE = "registry.local/featurestore-runner:0.1.0"
JOB_NAME = "bc-daily-manual-1"


def container_of(job_spec: dict) -> dict:
    containers = job_spec["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def materialize_args(job_spec: dict) -> list[str]:
    command = container_of(job_spec)["command"]
    assert command[: len(JOBS_COMMAND)] == JOBS_COMMAND
    return command[len(JOBS_COMMAND):]


def test_job_metadata(feature_store, materialization):
    job = build_materialization_job(materialization(name="bc-daily"), feature_store(name="bc"), JOB_NAME, IMAGE)
    metadata = job["metadata"]

    assert job["kind"] == "Job"
    assert metadata["name"] == JOB_NAME
    assert metadata["namespace"] == "ml"
    assert metadata["labels"][api.LABEL_TASK] == api.TASK_MATERIALIZE
    assert metadata["labels"][api.LABEL_MATERIALIZATION] == "bc-daily"
    assert metadata["labels"][api.LABEL_FEATURESTORE] == "bc"
    assert metadata["ownerReferences"][0]["kind"] == api.MATERIALIZATION_KIND
    assert metadata["ownerReferences"][0]["uid"] == "uid-bc-daily"


def test_job_starts_suspended(feature_store, materialization):
    job = build_materialization_job(materialization(), feature_store(), JOB_NAME, IMAGE)

    assert job["spec"]["suspend"] is True


def test_job_fails_fast_on_user_error(feature_store, materialization):
    spec = build_materialization_job(materialization(), feature_store(), JOB_NAME, IMAGE)["spec"]
    rule = spec["podFailurePolicy"]["rules"][0]

    assert rule["action"] == "FailJob"
    assert rule["onExitCodes"]["containerName"] == "materialize"
    assert rule["onExitCodes"]["values"] == [api.EXIT_USER_ERROR]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert container_of(spec)["name"] == "materialize"


def test_incremental_command_default(feature_store, materialization):
    spec = build_materialization_job(materialization(), feature_store(), JOB_NAME, IMAGE)["spec"]

    assert materialize_args(spec) == [
        "materialize",
        "--repo",
        api.REPO_MOUNT_PATH,
        "--termination-log",
        api.TERMINATION_MESSAGE_PATH,
        "--mode",
        "incremental",
    ]


def test_range_command_with_views(feature_store, materialization):
    mat = materialization(
        mode="range",
        startTime="2024-05-01T00:00:00Z",
        endTime="2024-06-01T00:00:00Z",
        featureViews=["df1_feature_view", "target_feature_view"],
    )
    args = materialize_args(build_materialization_job(mat, feature_store(), JOB_NAME, IMAGE)["spec"])

    assert args[5:] == [
        "--mode",
        "range",
        "--start-time",
        "2024-05-01T00:00:00Z",
        "--end-time",
        "2024-06-01T00:00:00Z",
        "--feature-view",
        "df1_feature_view",
        "--feature-view",
        "target_feature_view",
    ]


def test_command_parses_with_jobs_cli(feature_store, materialization):
    mat = materialization(endTime="2024-06-01T00:00:00Z", featureViews=["a", "b"])
    args = materialize_args(build_materialization_job(mat, feature_store(), JOB_NAME, IMAGE)["spec"])
    parsed = build_parser().parse_args(args)

    assert parsed.task == api.TASK_MATERIALIZE
    assert parsed.mode == "incremental"
    assert parsed.end_time == "2024-06-01T00:00:00Z"
    assert parsed.feature_views == ["a", "b"]
    assert str(parsed.repo) == api.REPO_MOUNT_PATH


def test_job_volumes_without_git(feature_store, materialization):
    fs = feature_store(
        name="bc",
        repo={"git": {"url": "https://git.local/f.git", "credentialsSecretRef": {"name": "git"}}},
    )
    spec = build_materialization_job(materialization(), fs, JOB_NAME, IMAGE)["spec"]
    volumes = {volume["name"]: volume for volume in spec["template"]["spec"]["volumes"]}

    assert sorted(volumes) == ["repo", "source"]
    assert volumes["repo"]["persistentVolumeClaim"] == {"claimName": "bc-repo"}
    assert volumes["source"]["configMap"] == {"name": "bc-repo"}


def test_job_uses_store_runner(feature_store, materialization):
    fs = feature_store(runner={"image": "store:1", "backoffLimit": 4, "serviceAccountName": "feast"})
    spec = build_materialization_job(materialization(), fs, JOB_NAME, IMAGE)["spec"]

    assert container_of(spec)["image"] == "store:1"
    assert spec["backoffLimit"] == 4
    assert spec["template"]["spec"]["serviceAccountName"] == "feast"


def test_materialization_runner_overrides_store(feature_store, materialization):
    fs = feature_store(
        runner={
            "image": "store:1",
            "backoffLimit": 4,
            "resources": {"limits": {"memory": "1Gi"}},
            "env": [{"name": "A", "value": "store"}, {"name": "B", "value": "store"}],
            "nodeSelector": {"pool": "batch", "zone": "a"},
        }
    )
    mat = materialization(
        runner={
            "image": "mat:2",
            "backoffLimit": 0,
            "resources": {"limits": {"memory": "8Gi"}},
            "env": [{"name": "B", "value": "mat"}],
            "nodeSelector": {"zone": "b"},
        }
    )
    spec = build_materialization_job(mat, fs, JOB_NAME, IMAGE)["spec"]
    container = container_of(spec)

    assert container["image"] == "mat:2"
    assert spec["backoffLimit"] == 0
    assert container["resources"] == {"limits": {"memory": "8Gi"}}
    assert container["env"] == [{"name": "A", "value": "store"}, {"name": "B", "value": "mat"}]
    assert spec["template"]["spec"]["nodeSelector"] == {"pool": "batch", "zone": "b"}


def test_job_gets_store_secret_env(feature_store, materialization):
    fs = feature_store(
        onlineStore={
            "type": "postgres",
            "postgres": {
                "host": "pg",
                "database": "feast",
                "user": "feast",
                "passwordSecretRef": {"name": "pg", "key": "password"},
            },
        }
    )
    env = container_of(build_materialization_job(materialization(), fs, JOB_NAME, IMAGE)["spec"])["env"]

    assert env == [
        {
            "name": "FEATURESTORE_POSTGRES_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "pg", "key": "password"}},
        }
    ]


def test_job_for_other_store_rejected(feature_store, materialization):
    with pytest.raises(ValueError, match="names FeatureStore 'other'"):
        build_materialization_job(materialization(store="other"), feature_store(name="bc"), JOB_NAME, IMAGE)


def test_cronjob_defaults(feature_store, materialization):
    cronjob = build_materialization_cronjob(
        materialization(name="bc-hourly", schedule="@hourly"), feature_store(), IMAGE
    )
    spec = cronjob["spec"]

    assert cronjob["apiVersion"] == "batch/v1"
    assert cronjob["kind"] == "CronJob"
    assert cronjob["metadata"]["name"] == "bc-hourly"
    assert spec["schedule"] == "@hourly"
    assert spec["suspend"] is False
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["successfulJobsHistoryLimit"] == 3
    assert spec["failedJobsHistoryLimit"] == 1
    assert "timeZone" not in spec
    assert "startingDeadlineSeconds" not in spec


def test_cronjob_settings(feature_store, materialization):
    mat = materialization(
        schedule="*/15 * * * *",
        timeZone="Europe/Berlin",
        suspend=True,
        concurrencyPolicy="Replace",
        successfulJobsHistoryLimit=1,
        failedJobsHistoryLimit=5,
        startingDeadlineSeconds=120,
    )
    spec = build_materialization_cronjob(mat, feature_store(), IMAGE)["spec"]

    assert spec["schedule"] == "*/15 * * * *"
    assert spec["timeZone"] == "Europe/Berlin"
    assert spec["suspend"] is True
    assert spec["concurrencyPolicy"] == "Replace"
    assert spec["successfulJobsHistoryLimit"] == 1
    assert spec["failedJobsHistoryLimit"] == 5
    assert spec["startingDeadlineSeconds"] == 120


def test_cronjob_jobs_start_suspended(feature_store, materialization):
    cronjob = build_materialization_cronjob(materialization(schedule="@daily"), feature_store(), IMAGE)
    template = cronjob["spec"]["jobTemplate"]

    assert template["spec"]["suspend"] is True
    assert template["metadata"]["labels"] == cronjob["metadata"]["labels"]
    assert template["spec"]["template"]["metadata"]["labels"] == cronjob["metadata"]["labels"]
    assert materialize_args(template["spec"])[-2:] == ["--mode", "incremental"]


def test_cronjob_owned_by_materialization(feature_store, materialization):
    cronjob = build_materialization_cronjob(
        materialization(name="bc-daily", schedule="@daily"), feature_store(), IMAGE
    )

    assert cronjob["metadata"]["ownerReferences"][0]["name"] == "bc-daily"
    assert cronjob["metadata"]["labels"][api.LABEL_MATERIALIZATION] == "bc-daily"


def test_cronjob_name_fits_limit(feature_store, materialization):
    cronjob = build_materialization_cronjob(
        materialization(name="m" * 80, schedule="@daily"), feature_store(), IMAGE
    )

    assert len(cronjob["metadata"]["name"]) <= 52


def test_cronjob_without_schedule_rejected(feature_store, materialization):
    with pytest.raises(ValueError, match="no spec.schedule"):
        build_materialization_cronjob(materialization(), feature_store(), IMAGE)
