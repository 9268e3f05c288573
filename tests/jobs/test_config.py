"""Validation of feature_store.yaml: each invalid value is an InvalidConfig naming its key."""

from __future__ import annotations

import pytest

from featurestore_operator.jobs.config import load_config
from featurestore_operator.jobs.result import TaskFailure
from tests.jobs.support import render_feature_store_yaml

VALID = render_feature_store_yaml("demo")


def load(tmp_path, text: str):
    path = tmp_path / "feature_store.yaml"
    path.write_text(text)
    return load_config(path, tmp_path)


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        (VALID.replace("project: demo", "project: _demo"), "project", "'_demo'"),
        (VALID + "entity_key_serialization_version: three\n", "entity_key_serialization_version", "'three'"),
        (VALID.replace("type: sqlite", "type: nosuch"), "online_store.type", "'nosuch'"),
        (VALID.replace("type: file", "type: nosuch"), "offline_store.type", "'nosuch'"),
        (VALID.replace("  path: data/online_store.db", "  path: 5"), "online_store.path", "5"),
        (VALID.replace("  path: data/online_store.db", "  pth: x"), "online_store.pth", None),
        (VALID.replace("provider: local", "provider: nosuch"), "provider", "'nosuch'"),
        (
            VALID.replace("registry: data/registry.db", "registry:\n  path: r.db\n  cache_ttl_seconds: soon"),
            "registry.cache_ttl_seconds",
            "'soon'",
        ),
    ],
)
def test_invalid_value_names_key(tmp_path, text, key, value):
    with pytest.raises(TaskFailure) as raised:
        load(tmp_path, text)

    assert raised.value.reason == "InvalidConfig"
    assert raised.value.user_error is True
    assert raised.value.fields["key"] == key
    assert key in raised.value.message
    if value is not None:
        assert value in raised.value.message


def test_valid_config_loads(tmp_path):
    config = load(tmp_path, VALID)

    assert config.project == "demo"
    assert config.repo_path == tmp_path
    assert config.online_store.path == "data/online_store.db"


def test_environment_variable_expands(tmp_path, monkeypatch):
    monkeypatch.setenv("FEATURESTORE_TEST_ONLINE_PATH", "data/from_env.db")
    text = VALID.replace("data/online_store.db", "${FEATURESTORE_TEST_ONLINE_PATH}")

    config = load(tmp_path, text)

    assert config.online_store.path == "data/from_env.db"


def test_unset_environment_variable_rejected(tmp_path, monkeypatch):
    monkeypatch.delenv("FEATURESTORE_TEST_UNSET", raising=False)
    text = VALID.replace("data/online_store.db", "${FEATURESTORE_TEST_UNSET}/online.db")

    with pytest.raises(TaskFailure) as raised:
        load(tmp_path, text)

    assert raised.value.fields["key"] == "online_store.path"
    assert "FEATURESTORE_TEST_UNSET" in raised.value.message


def test_invalid_yaml_reports_line(tmp_path):
    with pytest.raises(TaskFailure) as raised:
        load(tmp_path, "project: demo\nregistry: [unclosed\n")

    assert raised.value.reason == "InvalidConfig"
    assert "line" in raised.value.message


def test_missing_registry_rejected(tmp_path):
    with pytest.raises(TaskFailure) as raised:
        load(tmp_path, "project: demo\nprovider: local\n")

    assert raised.value.fields["key"] == "registry"


def test_missing_file_is_not_user_error(tmp_path):
    with pytest.raises(TaskFailure) as raised:
        load_config(tmp_path / "absent.yaml", tmp_path)

    assert raised.value.user_error is False
