"""Pieces shared by the apply Job and the materialization Job and CronJob."""

from collections.abc import Mapping

from featurestore_operator import api
from featurestore_operator.repo_config import secret_env
from featurestore_operator.resources.names import repo_configmap_name, repo_pvc_name
from featurestore_operator.resources.spec import merge_env, s3_spec

ENV_S3_DATA_URL = "FEATURESTORE_S3_DATA_URL"

REPO_VOLUME = "repo"
SOURCE_VOLUME = "source"
GIT_CREDENTIALS_VOLUME = "git-credentials"

# Owner read-only: git refuses an SSH key that others can read.
GIT_CREDENTIALS_MODE = 0o400

JOBS_COMMAND = ["python", "-m", "featurestore_operator.jobs"]


def runner_image(runner: Mapping, default_image: str) -> str:
    """Return runner.image if set, else `default_image` (the operator's configured image)."""
    image = runner.get("image") or default_image
    if not image:
        raise ValueError("no runner image: set spec.runner.image or the operator's default image")
    return image


def s3_env(fs: Mapping) -> list[dict]:
    """Return the container variables for S3-compatible storage from spec.s3."""
    s3 = s3_spec(fs)
    if not s3:
        return []

    env = []
    if s3.get("endpointURL"):
        # boto3 (1.28 and later) and pyarrow (15 and later) read
        # AWS_ENDPOINT_URL; Feast 0.67 reads FEAST_S3_ENDPOINT_URL for a
        # registry file on S3.
        env.append({"name": "AWS_ENDPOINT_URL", "value": s3["endpointURL"]})
        env.append({"name": "FEAST_S3_ENDPOINT_URL", "value": s3["endpointURL"]})
    if s3.get("region"):
        env.append({"name": "AWS_DEFAULT_REGION", "value": s3["region"]})

    credentials = s3.get("credentialsSecretRef")
    if credentials:
        for variable, key_field in (
            ("AWS_ACCESS_KEY_ID", "accessKeyIDKey"),
            ("AWS_SECRET_ACCESS_KEY", "secretAccessKeyKey"),
        ):
            env.append(
                {
                    "name": variable,
                    "valueFrom": {
                        "secretKeyRef": {"name": credentials["name"], "key": credentials[key_field]}
                    },
                }
            )

    if s3.get("dataURL"):
        env.append({"name": ENV_S3_DATA_URL, "value": s3["dataURL"]})
    return env


def container_env(fs: Mapping, runner: Mapping) -> list[dict]:
    """Return a Job container's env: the Secret references, the S3 settings, then runner.env.

    A variable in runner.env replaces the operator's variable of the same name.
    """
    return merge_env(secret_env(fs) + s3_env(fs), list(runner.get("env") or []))


def repo_volumes(fs: Mapping, git_credentials_secret: str | None = None) -> tuple[list, list]:
    """Return the (volumes, volumeMounts) for the repo PVC, the repo ConfigMap and git credentials."""
    volumes = [
        {"name": REPO_VOLUME, "persistentVolumeClaim": {"claimName": repo_pvc_name(fs)}},
        {"name": SOURCE_VOLUME, "configMap": {"name": repo_configmap_name(fs)}},
    ]
    mounts = [
        {"name": REPO_VOLUME, "mountPath": api.REPO_MOUNT_PATH},
        {"name": SOURCE_VOLUME, "mountPath": api.SOURCE_MOUNT_PATH, "readOnly": True},
    ]

    if git_credentials_secret:
        volumes.append(
            {
                "name": GIT_CREDENTIALS_VOLUME,
                "secret": {
                    "secretName": git_credentials_secret,
                    "defaultMode": GIT_CREDENTIALS_MODE,
                },
            }
        )
        mounts.append(
            {
                "name": GIT_CREDENTIALS_VOLUME,
                "mountPath": api.GIT_CREDENTIALS_MOUNT_PATH,
                "readOnly": True,
            }
        )
    return volumes, mounts


def pod_failure_policy(container_name: str) -> dict:
    """Return a podFailurePolicy that fails the Job at once on a user error.

    Exit code api.EXIT_USER_ERROR means broken definitions or settings, which a
    retry cannot fix. A Pod disrupted by preemption or eviction is retried
    without counting towards backoffLimit.
    """
    return {
        "rules": [
            {
                "action": "FailJob",
                "onExitCodes": {
                    "containerName": container_name,
                    "operator": "In",
                    "values": [api.EXIT_USER_ERROR],
                },
            },
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
        ]
    }


def job_spec(
    fs: Mapping,
    runner: Mapping,
    labels: Mapping[str, str],
    container_name: str,
    image: str,
    args: list[str],
    git_credentials_secret: str | None = None,
) -> dict:
    """Build a suspended batch/v1 JobSpec that runs `featurestore_operator.jobs` with `args`.

    The Job starts suspended: the operator un-suspends it when no other writer
    of the same store is running.
    """
    volumes, mounts = repo_volumes(fs, git_credentials_secret)

    container = {
        "name": container_name,
        "image": runner_image(runner, image),
        "command": JOBS_COMMAND + list(args),
        "env": container_env(fs, runner),
        "volumeMounts": mounts,
        "terminationMessagePath": api.TERMINATION_MESSAGE_PATH,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    for field in ("imagePullPolicy", "resources", "envFrom"):
        if runner.get(field):
            container[field] = runner[field]

    # podFailurePolicy requires restartPolicy Never.
    pod_spec = {"restartPolicy": "Never", "containers": [container], "volumes": volumes}
    for field in ("serviceAccountName", "nodeSelector", "tolerations"):
        if runner.get(field):
            pod_spec[field] = runner[field]

    spec = {
        "suspend": True,
        "backoffLimit": runner["backoffLimit"],
        "podFailurePolicy": pod_failure_policy(container_name),
        "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
    }
    for field in ("activeDeadlineSeconds", "ttlSecondsAfterFinished"):
        if runner.get(field) is not None:
            spec[field] = runner[field]
    return spec
