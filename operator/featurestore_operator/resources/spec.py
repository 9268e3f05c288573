"""Spec sections of FeatureStore and Materialization objects with defaults applied.

The CRDs declare the same defaults, but builders also receive objects that
never passed the API server's defaulting, such as those built in tests. So
every builder reads the spec through these functions.
A unit test checks that these dictionaries match the defaults in crds/.
"""

import copy
from collections.abc import Mapping
from typing import Any

STORAGE_DEFAULTS = {
    "size": "1Gi",
    "accessModes": ["ReadWriteOnce"],
    "reclaimPolicy": "Retain",
}
GIT_DEFAULTS = {"ref": "main", "path": "."}
REGISTRY_DEFAULTS = {"type": "file", "path": "data/registry.db"}
ONLINE_STORE_DEFAULTS = {"type": "sqlite", "path": "data/online_store.db"}
REDIS_DEFAULTS = {"ssl": False, "redisType": "redis"}
POSTGRES_DEFAULTS = {"port": 5432}
OFFLINE_STORE_DEFAULTS = {"type": "file"}
S3_CREDENTIALS_DEFAULTS = {
    "accessKeyIDKey": "AWS_ACCESS_KEY_ID",
    "secretAccessKeyKey": "AWS_SECRET_ACCESS_KEY",
}
RUNNER_DEFAULTS = {"backoffLimit": 2}
MATERIALIZATION_DEFAULTS = {
    "mode": "incremental",
    "suspend": False,
    "concurrencyPolicy": "Forbid",
    "successfulJobsHistoryLimit": 3,
    "failedJobsHistoryLimit": 1,
}

REPO_SOURCES = ("configMap", "git", "template")


def to_plain(value: Any) -> Any:
    """Copy a value into plain dicts and lists.

    kopf passes bodies as read-only mapping views; builders return plain data
    that the Kubernetes client can serialize and that callers may change.
    """
    if isinstance(value, Mapping):
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    return copy.deepcopy(value)


def with_defaults(section: Mapping | None, defaults: Mapping) -> dict:
    """Return a plain copy of `section` with each missing or null key set from `defaults`."""
    merged = to_plain(section) if section else {}
    for key, value in defaults.items():
        if merged.get(key) is None:
            merged[key] = copy.deepcopy(value)
    return merged


def object_name(obj: Mapping) -> str:
    return obj["metadata"]["name"]


def object_namespace(obj: Mapping) -> str | None:
    return obj["metadata"].get("namespace")


def spec_of(obj: Mapping) -> Mapping:
    return obj.get("spec") or {}


def project_name(fs: Mapping) -> str:
    project = spec_of(fs).get("project")
    if not project:
        raise ValueError(
            f"FeatureStore {object_name(fs)!r} has no spec.project: set the Feast project name"
        )
    return project


def storage_spec(fs: Mapping) -> dict:
    return with_defaults(spec_of(fs).get("storage"), STORAGE_DEFAULTS)


def repo_source(fs: Mapping) -> tuple[str, dict]:
    """Return the repo source kind ("configMap", "git" or "template") and its settings.

    Raises ValueError unless spec.repo sets exactly one source.
    """
    repo = spec_of(fs).get("repo") or {}
    kinds = [kind for kind in REPO_SOURCES if repo.get(kind) is not None]
    if len(kinds) != 1:
        raise ValueError(
            f"FeatureStore {object_name(fs)!r} sets {kinds or 'no source'} in spec.repo: "
            f"set exactly one of {', '.join(REPO_SOURCES)}"
        )

    kind = kinds[0]
    if kind == "git":
        return kind, with_defaults(repo["git"], GIT_DEFAULTS)
    return kind, to_plain(repo[kind])


def registry_spec(fs: Mapping) -> dict:
    return with_defaults(spec_of(fs).get("registry"), REGISTRY_DEFAULTS)


def online_store_spec(fs: Mapping) -> dict:
    online = with_defaults(spec_of(fs).get("onlineStore"), ONLINE_STORE_DEFAULTS)
    if online.get("redis") is not None:
        online["redis"] = with_defaults(online["redis"], REDIS_DEFAULTS)
    if online.get("postgres") is not None:
        online["postgres"] = with_defaults(online["postgres"], POSTGRES_DEFAULTS)
    return online


def offline_store_spec(fs: Mapping) -> dict:
    return with_defaults(spec_of(fs).get("offlineStore"), OFFLINE_STORE_DEFAULTS)


def s3_spec(fs: Mapping) -> dict | None:
    """Return spec.s3 with the credential key defaults applied, or None when unset."""
    s3 = spec_of(fs).get("s3")
    if s3 is None:
        return None

    s3 = to_plain(s3)
    if s3.get("credentialsSecretRef") is not None:
        s3["credentialsSecretRef"] = with_defaults(
            s3["credentialsSecretRef"], S3_CREDENTIALS_DEFAULTS
        )
    return s3


def runner_spec(fs: Mapping, mat: Mapping | None = None) -> dict:
    """Return the runner settings for a Job of `fs`, overridden by `mat`'s runner if given.

    Each field set in the Materialization's runner replaces the store's field,
    except `env`, which is merged by variable name (the Materialization's
    variable wins) and `nodeSelector`, which is merged by key.
    """
    runner = with_defaults(spec_of(fs).get("runner"), RUNNER_DEFAULTS)
    if mat is None:
        return runner

    overrides = to_plain(spec_of(mat).get("runner") or {})
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "env":
            runner["env"] = merge_env(runner.get("env") or [], value)
        elif key == "nodeSelector":
            runner["nodeSelector"] = {**(runner.get("nodeSelector") or {}), **value}
        else:
            runner[key] = value
    return runner


def merge_env(base: list[dict], overrides: list[dict]) -> list[dict]:
    """Return `base` without the variables that `overrides` sets, followed by `overrides`.

    The overriding variables come last so that they can refer to the base ones
    with Kubernetes' $(NAME) syntax, which expands only variables defined earlier.
    """
    overridden = {item["name"] for item in overrides}
    return [item for item in base if item["name"] not in overridden] + list(overrides)


def materialization_spec(mat: Mapping) -> dict:
    return with_defaults(spec_of(mat), MATERIALIZATION_DEFAULTS)
