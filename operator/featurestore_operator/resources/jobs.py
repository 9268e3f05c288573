"""The apply Job: syncs the definitions into the repo PVC and runs `feast apply`."""

from collections.abc import Mapping

from featurestore_operator import api
from featurestore_operator.resources.labels import child_labels, child_metadata
from featurestore_operator.resources.names import apply_job_name
from featurestore_operator.resources.pod import job_spec
from featurestore_operator.resources.spec import object_name, repo_source, runner_spec

APPLY_CONTAINER = "apply"


def apply_args(fs: Mapping) -> list[str]:
    """Return the arguments after `python -m featurestore_operator.jobs` for an apply."""
    args = [
        api.TASK_APPLY,
        "--repo",
        api.REPO_MOUNT_PATH,
        "--source-dir",
        api.SOURCE_MOUNT_PATH,
        "--termination-log",
        api.TERMINATION_MESSAGE_PATH,
    ]

    kind, source = repo_source(fs)
    if kind == "git":
        args += ["--git-url", source["url"], "--git-ref", source["ref"], "--git-path", source["path"]]
        if git_credentials_secret(fs):
            args += ["--git-credentials-dir", api.GIT_CREDENTIALS_MOUNT_PATH]
    return args


def git_credentials_secret(fs: Mapping) -> str | None:
    """Return the name of the git credentials Secret, or None without git credentials."""
    kind, source = repo_source(fs)
    if kind != "git":
        return None
    return (source.get("credentialsSecretRef") or {}).get("name")


def build_apply_job(fs: Mapping, apply_hash: str, image: str) -> dict:
    """Build the suspended apply Job of `fs` for the definitions that hash to `apply_hash`.

    `image` is the operator's default runner image; spec.runner.image wins if set.
    """
    name = object_name(fs)
    labels = child_labels(name, api.TASK_APPLY)

    metadata = child_metadata(apply_job_name(name, apply_hash), fs, labels)
    metadata["annotations"] = {api.ANNOTATION_APPLY_HASH: apply_hash}

    spec = job_spec(
        fs,
        runner_spec(fs),
        labels,
        APPLY_CONTAINER,
        image,
        apply_args(fs),
        git_credentials_secret=git_credentials_secret(fs),
    )
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}
