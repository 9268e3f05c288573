"""Reading spec sections with defaults, from plain dicts and from read-only mappings."""

from types import MappingProxyType

import pytest

from featurestore_operator.resources.jobs import build_apply_job
from featurestore_operator.resources.spec import (
    materialization_spec,
    online_store_spec,
    repo_source,
    runner_spec,
    s3_spec,
    storage_spec,
)


def read_only(value):
    """Wrap dicts recursively in read-only mappings, as kopf passes bodies."""
    if isinstance(value, dict):
        return MappingProxyType({key: read_only(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(read_only(item) for item in value)
    return value


def test_storage_defaults(feature_store):
    assert storage_spec(feature_store()) == {
        "size": "1Gi",
        "accessModes": ["ReadWriteOnce"],
        "reclaimPolicy": "Retain",
    }


def test_nested_store_defaults(feature_store):
    online = online_store_spec(
        feature_store(
            onlineStore={"type": "redis", "redis": {"address": "r:6379"}, "postgres": None}
        )
    )

    assert online["redis"] == {"address": "r:6379", "ssl": False, "redisType": "redis"}
    assert online["path"] == "data/online_store.db"


def test_s3_credential_key_defaults(feature_store):
    s3 = s3_spec(feature_store(s3={"credentialsSecretRef": {"name": "minio"}}))

    assert s3["credentialsSecretRef"] == {
        "name": "minio",
        "accessKeyIDKey": "AWS_ACCESS_KEY_ID",
        "secretAccessKeyKey": "AWS_SECRET_ACCESS_KEY",
    }


def test_s3_unset(feature_store):
    assert s3_spec(feature_store()) is None


def test_git_source_defaults(feature_store):
    kind, source = repo_source(feature_store(repo={"git": {"url": "https://git.local/f.git"}}))

    assert kind == "git"
    assert source == {"url": "https://git.local/f.git", "ref": "main", "path": "."}


@pytest.mark.parametrize(
    "repo",
    [{}, {"git": {"url": "u"}, "template": {"name": "minimal"}}],
    ids=["none", "two"],
)
def test_repo_source_needs_exactly_one(feature_store, repo):
    with pytest.raises(ValueError, match="exactly one of configMap, git, template"):
        repo_source(feature_store(repo=repo))


def test_runner_without_materialization(feature_store):
    assert runner_spec(feature_store()) == {"backoffLimit": 2}


def test_runner_ignores_null_overrides(feature_store, materialization):
    runner = runner_spec(
        feature_store(runner={"image": "store:1"}),
        materialization(runner={"image": None}),
    )

    assert runner["image"] == "store:1"


def test_materialization_defaults(materialization):
    assert materialization_spec(materialization(store="bc")) == {
        "featureStore": "bc",
        "mode": "incremental",
        "suspend": False,
        "concurrencyPolicy": "Forbid",
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 1,
    }


def test_builder_accepts_read_only_body(feature_store):
    fs = feature_store(
        runner={"env": [{"name": "A", "value": "1"}], "tolerations": [{"operator": "Exists"}]}
    )
    job = build_apply_job(read_only(fs), "ab" * 32, "runner:1")

    assert job == build_apply_job(fs, "ab" * 32, "runner:1")
    assert isinstance(job["spec"]["template"]["spec"]["tolerations"], list)
