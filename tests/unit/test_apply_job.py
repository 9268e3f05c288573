"""The apply Job builder."""

import json

import pytest

from featurestore_operator import api
from featurestore_operator.jobs.__main__ import build_parser
from featurestore_operator.resources.hashing import compute_apply_hash
from featurestore_operator.resources.jobs import build_apply_job
from featurestore_operator.resources.pod import JOBS_COMMAND

IMAGE = "registry.local/featurestore-runner:0.1.0"
APPLY_HASH = "89abcdef" + "0" * 56
GIT = {
    "url": "https://git.local/team/features.git",
    "ref": "v1.2.0",
    "path": "feature_repo",
    "credentialsSecretRef": {"name": "git-token"},
}


def container_of(job: dict) -> dict:
    containers = job["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def volumes_by_name(job: dict) -> dict:
    return {volume["name"]: volume for volume in job["spec"]["template"]["spec"]["volumes"]}


def mounts_by_path(job: dict) -> dict:
    return {mount["mountPath"]: mount for mount in container_of(job)["volumeMounts"]}


def env_by_name(job: dict) -> dict:
    return {variable["name"]: variable for variable in container_of(job)["env"]}


def test_apply_job_metadata(feature_store):
    job = build_apply_job(feature_store(name="bc", namespace="ml"), APPLY_HASH, IMAGE)
    metadata = job["metadata"]

    assert job["apiVersion"] == "batch/v1"
    assert job["kind"] == "Job"
    assert metadata["name"] == "bc-apply-89abcdef"
    assert metadata["namespace"] == "ml"
    assert metadata["annotations"] == {api.ANNOTATION_APPLY_HASH: APPLY_HASH}
    assert metadata["labels"][api.LABEL_TASK] == api.TASK_APPLY
    assert metadata["ownerReferences"][0]["uid"] == "uid-bc"


def test_apply_job_pods_carry_labels(feature_store):
    job = build_apply_job(feature_store(), APPLY_HASH, IMAGE)

    assert job["spec"]["template"]["metadata"]["labels"] == job["metadata"]["labels"]


def test_apply_job_starts_suspended(feature_store):
    assert build_apply_job(feature_store(), APPLY_HASH, IMAGE)["spec"]["suspend"] is True


def test_apply_job_fails_fast_on_user_error(feature_store):
    spec = build_apply_job(feature_store(), APPLY_HASH, IMAGE)["spec"]
    fail_job_rules = [rule for rule in spec["podFailurePolicy"]["rules"] if rule["action"] == "FailJob"]

    assert fail_job_rules == [
        {
            "action": "FailJob",
            "onExitCodes": {
                "containerName": "apply",
                "operator": "In",
                "values": [api.EXIT_USER_ERROR],
            },
        }
    ]
    # The API server accepts a podFailurePolicy only with restartPolicy Never.
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_apply_job_backoff_limit_default(feature_store):
    assert build_apply_job(feature_store(), APPLY_HASH, IMAGE)["spec"]["backoffLimit"] == 2


def test_apply_job_backoff_limit_from_runner(feature_store):
    job = build_apply_job(feature_store(runner={"backoffLimit": 0}), APPLY_HASH, IMAGE)

    assert job["spec"]["backoffLimit"] == 0


def test_apply_job_container(feature_store):
    container = container_of(build_apply_job(feature_store(), APPLY_HASH, IMAGE))

    assert container["name"] == "apply"
    assert container["image"] == IMAGE
    assert container["terminationMessagePath"] == api.TERMINATION_MESSAGE_PATH
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_apply_command_for_template(feature_store):
    command = container_of(build_apply_job(feature_store(), APPLY_HASH, IMAGE))["command"]

    assert command == JOBS_COMMAND + [
        "apply",
        "--repo",
        api.REPO_MOUNT_PATH,
        "--source-dir",
        api.SOURCE_MOUNT_PATH,
        "--termination-log",
        api.TERMINATION_MESSAGE_PATH,
    ]


def test_apply_command_for_git(feature_store):
    fs = feature_store(repo={"git": GIT})
    command = container_of(build_apply_job(fs, APPLY_HASH, IMAGE))["command"]

    assert command[-8:] == [
        "--git-url",
        GIT["url"],
        "--git-ref",
        "v1.2.0",
        "--git-path",
        "feature_repo",
        "--git-credentials-dir",
        api.GIT_CREDENTIALS_MOUNT_PATH,
    ]


def test_apply_command_git_defaults(feature_store):
    fs = feature_store(repo={"git": {"url": GIT["url"]}})
    command = container_of(build_apply_job(fs, APPLY_HASH, IMAGE))["command"]

    assert command[-6:] == ["--git-url", GIT["url"], "--git-ref", "main", "--git-path", "."]
    assert "--git-credentials-dir" not in command


@pytest.mark.parametrize(
    "repo",
    [{"template": {"name": "minimal"}}, {"configMap": {"name": "defs"}}, {"git": GIT}],
    ids=["template", "configmap", "git"],
)
def test_apply_command_parses_with_jobs_cli(feature_store, repo):
    command = container_of(build_apply_job(feature_store(repo=repo), APPLY_HASH, IMAGE))["command"]
    args = build_parser().parse_args(command[len(JOBS_COMMAND):])

    assert args.task == api.TASK_APPLY
    assert str(args.repo) == api.REPO_MOUNT_PATH
    assert str(args.source_dir) == api.SOURCE_MOUNT_PATH
    assert args.git_url == repo.get("git", {}).get("url")


def test_apply_job_volumes(feature_store):
    job = build_apply_job(feature_store(name="bc"), APPLY_HASH, IMAGE)
    volumes = volumes_by_name(job)
    mounts = mounts_by_path(job)

    assert volumes["repo"]["persistentVolumeClaim"] == {"claimName": "bc-repo"}
    assert volumes["source"]["configMap"] == {"name": "bc-repo"}
    assert mounts[api.REPO_MOUNT_PATH]["name"] == "repo"
    assert mounts[api.SOURCE_MOUNT_PATH] == {
        "name": "source",
        "mountPath": api.SOURCE_MOUNT_PATH,
        "readOnly": True,
    }
    assert "git-credentials" not in volumes


def test_apply_job_uses_existing_claim(feature_store):
    job = build_apply_job(feature_store(storage={"existingClaim": "team-data"}), APPLY_HASH, IMAGE)

    assert volumes_by_name(job)["repo"]["persistentVolumeClaim"] == {"claimName": "team-data"}


def test_apply_job_mounts_git_credentials(feature_store):
    job = build_apply_job(feature_store(repo={"git": GIT}), APPLY_HASH, IMAGE)

    assert volumes_by_name(job)["git-credentials"]["secret"] == {
        "secretName": "git-token",
        "defaultMode": 0o400,
    }
    assert mounts_by_path(job)[api.GIT_CREDENTIALS_MOUNT_PATH]["readOnly"] is True


def test_apply_job_env_order_and_override(feature_store):
    fs = feature_store(
        registry={"type": "sql", "sql": {"urlSecretRef": {"name": "db", "key": "url"}}},
        s3={
            "endpointURL": "http://127.0.0.1:9000",
            "region": "us-east-1",
            "credentialsSecretRef": {"name": "minio"},
            "dataURL": "s3://data/bc",
        },
        runner={"env": [{"name": "AWS_DEFAULT_REGION", "value": "eu-west-1"}, {"name": "A", "value": "1"}]},
    )
    env = container_of(build_apply_job(fs, APPLY_HASH, IMAGE))["env"]

    assert [variable["name"] for variable in env] == [
        "FEATURESTORE_REGISTRY_URL",
        "AWS_ENDPOINT_URL",
        "FEAST_S3_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "FEATURESTORE_S3_DATA_URL",
        "AWS_DEFAULT_REGION",
        "A",
    ]
    assert env[-2] == {"name": "AWS_DEFAULT_REGION", "value": "eu-west-1"}


def test_apply_job_s3_env(feature_store):
    fs = feature_store(
        s3={
            "endpointURL": "http://127.0.0.1:9000",
            "region": "us-east-1",
            "credentialsSecretRef": {"name": "minio", "accessKeyIDKey": "user"},
            "dataURL": "s3://data/bc",
        }
    )
    env = env_by_name(build_apply_job(fs, APPLY_HASH, IMAGE))

    assert env["AWS_ENDPOINT_URL"]["value"] == "http://127.0.0.1:9000"
    assert env["FEAST_S3_ENDPOINT_URL"]["value"] == "http://127.0.0.1:9000"
    assert env["AWS_DEFAULT_REGION"]["value"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"] == {"secretKeyRef": {"name": "minio", "key": "user"}}
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"] == {
        "secretKeyRef": {"name": "minio", "key": "AWS_SECRET_ACCESS_KEY"}
    }
    assert env["FEATURESTORE_S3_DATA_URL"]["value"] == "s3://data/bc"


def test_apply_job_secrets_only_as_references(feature_store):
    fs = feature_store(
        registry={"type": "sql", "sql": {"urlSecretRef": {"name": "db", "key": "url"}}},
        onlineStore={
            "type": "redis",
            "redis": {"address": "r:6379", "passwordSecretRef": {"name": "redis", "key": "pw"}},
        },
        s3={"credentialsSecretRef": {"name": "minio"}},
    )
    env = env_by_name(build_apply_job(fs, APPLY_HASH, IMAGE))
    secret_variables = [
        "FEATURESTORE_REGISTRY_URL",
        "FEATURESTORE_REDIS_PASSWORD",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ]

    for name in secret_variables:
        assert "value" not in env[name], name
        assert "secretKeyRef" in env[name]["valueFrom"], name


def test_apply_job_runner_fields(feature_store):
    runner = {
        "image": "custom:2",
        "imagePullPolicy": "IfNotPresent",
        "resources": {"limits": {"memory": "2Gi"}, "requests": {"cpu": "500m"}},
        "serviceAccountName": "feast",
        "envFrom": [{"configMapRef": {"name": "settings"}}],
        "activeDeadlineSeconds": 1800,
        "ttlSecondsAfterFinished": 600,
        "nodeSelector": {"pool": "batch"},
        "tolerations": [{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}],
    }
    job = build_apply_job(feature_store(runner=runner), APPLY_HASH, IMAGE)
    pod = job["spec"]["template"]["spec"]
    container = container_of(job)

    assert container["image"] == "custom:2"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["resources"] == runner["resources"]
    assert container["envFrom"] == runner["envFrom"]
    assert pod["serviceAccountName"] == "feast"
    assert pod["nodeSelector"] == {"pool": "batch"}
    assert pod["tolerations"] == runner["tolerations"]
    assert job["spec"]["activeDeadlineSeconds"] == 1800
    assert job["spec"]["ttlSecondsAfterFinished"] == 600


def test_apply_job_omits_unset_runner_fields(feature_store):
    job = build_apply_job(feature_store(), APPLY_HASH, IMAGE)

    assert "ttlSecondsAfterFinished" not in job["spec"]
    assert "activeDeadlineSeconds" not in job["spec"]
    assert "serviceAccountName" not in job["spec"]["template"]["spec"]
    assert "resources" not in container_of(job)


def test_apply_job_without_image_rejected(feature_store):
    with pytest.raises(ValueError, match="no runner image"):
        build_apply_job(feature_store(), APPLY_HASH, "")


def test_apply_job_name_for_long_store(feature_store):
    fs = feature_store(name="x" * 100)
    apply_hash = compute_apply_hash(fs, {}, IMAGE)
    job = build_apply_job(fs, apply_hash, IMAGE)

    assert len(job["metadata"]["name"]) <= 63
    assert job["metadata"]["name"].endswith(f"-apply-{apply_hash[:8]}")


def test_apply_job_is_json_serializable(feature_store):
    fs = feature_store(repo={"git": GIT}, runner={"env": [{"name": "A", "value": "1"}]})

    assert json.loads(json.dumps(build_apply_job(fs, APPLY_HASH, IMAGE)))["kind"] == "Job"
