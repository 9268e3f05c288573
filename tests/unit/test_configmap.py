"""The repo ConfigMap builder and the selection of files from a source ConfigMap."""

import pytest
import yaml

from featurestore_operator import api
from featurestore_operator.repo_config import FEATURE_STORE_YAML, render_feature_store_yaml
from featurestore_operator.resources.configmap import (
    MAX_CONFIGMAP_DATA_BYTES,
    build_repo_configmap,
    select_configmap_files,
)

DEFINITIONS = {"features.py": "from feast import Entity\n", "sources.py": "# sources\n"}

# Every Secret reference that a FeatureStore can have.
ALL_SECRETS = {
    "registry": {"type": "sql", "sql": {"urlSecretRef": {"name": "registry-db", "key": "url"}}},
    "onlineStore": {
        "type": "postgres",
        "postgres": {
            "host": "pg.db",
            "database": "feast",
            "user": "feast",
            "passwordSecretRef": {"name": "pg", "key": "password"},
        },
    },
    "s3": {"endpointURL": "http://127.0.0.1:9000", "credentialsSecretRef": {"name": "minio"}},
}


def test_configmap_holds_files_and_rendered_yaml(feature_store):
    fs = feature_store()
    configmap = build_repo_configmap(fs, DEFINITIONS)

    assert configmap["data"]["features.py"] == DEFINITIONS["features.py"]
    assert configmap["data"]["sources.py"] == DEFINITIONS["sources.py"]
    assert configmap["data"][FEATURE_STORE_YAML] == render_feature_store_yaml(fs)
    assert set(configmap["data"]) == {"features.py", "sources.py", FEATURE_STORE_YAML}


def test_configmap_metadata(feature_store):
    configmap = build_repo_configmap(feature_store(name="bc", namespace="ml"), DEFINITIONS)

    assert configmap["kind"] == "ConfigMap"
    assert configmap["metadata"]["name"] == "bc-repo"
    assert configmap["metadata"]["namespace"] == "ml"
    assert configmap["metadata"]["labels"][api.LABEL_FEATURESTORE] == "bc"
    assert configmap["metadata"]["ownerReferences"][0]["uid"] == "uid-bc"


def test_rendered_yaml_replaces_given_one(feature_store):
    fs = feature_store()
    configmap = build_repo_configmap(fs, {**DEFINITIONS, FEATURE_STORE_YAML: "project: other\n"})

    assert configmap["data"][FEATURE_STORE_YAML] == render_feature_store_yaml(fs)


def test_configmap_without_files(feature_store):
    configmap = build_repo_configmap(feature_store(), {})

    assert list(configmap["data"]) == [FEATURE_STORE_YAML]


@pytest.mark.parametrize("key", ["repo/features.py", "..", "feature view.py", "x" * 254])
def test_configmap_rejects_invalid_key(feature_store, key):
    with pytest.raises(ValueError, match="cannot be a ConfigMap key"):
        build_repo_configmap(feature_store(), {key: "x = 1\n"})


def test_configmap_rejects_oversized_data(feature_store):
    files = {"big.py": "#" * MAX_CONFIGMAP_DATA_BYTES}

    with pytest.raises(ValueError, match="use a git source"):
        build_repo_configmap(feature_store(), files)


def test_configmap_holds_no_secret_value(feature_store):
    configmap = build_repo_configmap(feature_store(**ALL_SECRETS), DEFINITIONS)
    config = yaml.safe_load(configmap["data"][FEATURE_STORE_YAML])

    assert config["registry"]["path"] == "${FEATURESTORE_REGISTRY_URL}"
    assert config["online_store"]["password"] == "${FEATURESTORE_POSTGRES_PASSWORD}"
    assert "minio" not in configmap["data"][FEATURE_STORE_YAML]


def test_redis_password_is_a_reference(feature_store):
    fs = feature_store(
        onlineStore={
            "type": "redis",
            "redis": {"address": "redis:6379", "passwordSecretRef": {"name": "r", "key": "pw"}},
        }
    )
    config = yaml.safe_load(build_repo_configmap(fs, {})["data"][FEATURE_STORE_YAML])

    assert config["online_store"]["connection_string"] == (
        "redis:6379,password=${FEATURESTORE_REDIS_PASSWORD}"
    )


def test_select_all_configmap_files(feature_store):
    fs = feature_store(repo={"configMap": {"name": "defs"}})

    assert select_configmap_files(fs, DEFINITIONS) == DEFINITIONS


def test_select_configmap_keys(feature_store):
    fs = feature_store(repo={"configMap": {"name": "defs", "keys": ["features.py"]}})

    assert select_configmap_files(fs, DEFINITIONS) == {"features.py": DEFINITIONS["features.py"]}


def test_select_missing_key_lists_available(feature_store):
    fs = feature_store(repo={"configMap": {"name": "defs", "keys": ["features.py", "views.py"]}})

    with pytest.raises(LookupError, match="no key 'views.py'.*features.py, sources.py"):
        select_configmap_files(fs, DEFINITIONS)


def test_select_rejects_other_source(feature_store):
    fs = feature_store(repo={"template": {"name": "minimal"}})

    with pytest.raises(ValueError, match="from template"):
        select_configmap_files(fs, DEFINITIONS)
