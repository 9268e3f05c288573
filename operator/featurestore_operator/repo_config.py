"""Rendering of feature_store.yaml from a FeatureStore spec.

Credentials never appear in the rendered file. Each one is an ${ENV_VAR}
reference, and secret_env() returns the Job container's variables that fill
them from Secrets. Feast 0.67 substitutes them in
feast.repo_config.load_repo_config(), which runs os.path.expandvars() on the
whole file text before parsing it as YAML. Two consequences follow:

- The substitution is textual, so each reference is written inside single
  quotes and the secret value must not contain a single quote.
- Any "$NAME" or "${NAME}" in the file is substituted, so no value taken from
  the spec may contain "$"; render_feature_store_yaml() rejects such values.
"""

import posixpath
import re
from collections.abc import Mapping

import yaml

from featurestore_operator.resources.spec import (
    object_name,
    offline_store_spec,
    online_store_spec,
    project_name,
    registry_spec,
)

FEATURE_STORE_YAML = "feature_store.yaml"

# Feast 0.67 defaults to version 3 and deprecates anything lower.
ENTITY_KEY_SERIALIZATION_VERSION = 3

# Feast 0.67 accepts letters, digits, '_' and '-', not first '_' or '-'
# (feast.repo_operations.is_valid_name; this operator allows ASCII letters
# only). RepoConfig also rejects '-' with every online store, because its
# SQLite-only check reads online_store before pydantic has validated that field
# and so always finds none. Feast sets no maximum length; 63 is this
# operator's limit.
PROJECT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_]*$"
PROJECT_MAX_LENGTH = 63

ENV_REGISTRY_URL = "FEATURESTORE_REGISTRY_URL"
ENV_REDIS_PASSWORD = "FEATURESTORE_REDIS_PASSWORD"
ENV_POSTGRES_PASSWORD = "FEATURESTORE_POSTGRES_PASSWORD"


class EnvReference(str):
    """A string with "${NAME}" references, written single-quoted into the YAML."""


class _Dumper(yaml.SafeDumper):
    pass


def _represent_env_reference(dumper: yaml.SafeDumper, value: EnvReference) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="'")


_Dumper.add_representer(EnvReference, _represent_env_reference)


def env_reference(name: str) -> str:
    return "${" + name + "}"


def _checked_value(fs: Mapping, field: str, value):
    if isinstance(value, str) and "$" in value:
        raise ValueError(
            f"FeatureStore {object_name(fs)!r}: {field} {value!r} contains '$', which Feast "
            f"would replace with an environment variable; remove the '$'"
        )
    return value


def _checked_repo_path(fs: Mapping, field: str, path: str) -> str:
    _checked_value(fs, field, path)
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts:
        raise ValueError(
            f"FeatureStore {object_name(fs)!r}: {field} {path!r} must be a path relative to "
            f"the feature repo, without '..', such as 'data/registry.db'"
        )
    return posixpath.normpath(path)


def _registry_config(fs: Mapping) -> dict:
    registry = registry_spec(fs)

    if registry["type"] == "sql":
        if not (registry.get("sql") or {}).get("urlSecretRef"):
            raise ValueError(
                f"FeatureStore {object_name(fs)!r}: registry.type sql needs "
                f"registry.sql.urlSecretRef naming the Secret key that holds the database URL"
            )
        config = {"registry_type": "sql", "path": EnvReference(env_reference(ENV_REGISTRY_URL))}
    elif registry["type"] == "file":
        path = _checked_repo_path(fs, "registry.path", registry["path"])
        config = {"registry_type": "file", "path": path}
    else:
        raise ValueError(
            f"FeatureStore {object_name(fs)!r}: registry.type {registry['type']!r} is "
            f"unknown: use file or sql"
        )

    if registry.get("cacheTtlSeconds") is not None:
        config["cache_ttl_seconds"] = registry["cacheTtlSeconds"]
    return config


def _redis_config(fs: Mapping, redis: Mapping) -> dict:
    address = _checked_value(fs, "onlineStore.redis.address", redis["address"])

    # Feast's Redis connection string: "host:port[,host:port...],key=value,...".
    # NOTE: Feast splits it on ',' and parses each value as JSON when it can,
    # so a password that contains ',' or reads as a JSON number breaks it.
    parts = [address]
    if redis.get("passwordSecretRef"):
        parts.append("password=" + env_reference(ENV_REDIS_PASSWORD))
    if redis.get("ssl"):
        parts.append("ssl=true")

    connection_string = ",".join(parts)
    if redis.get("passwordSecretRef"):
        connection_string = EnvReference(connection_string)

    return {
        "type": "redis",
        "redis_type": redis["redisType"],
        "connection_string": connection_string,
    }


def _postgres_config(fs: Mapping, postgres: Mapping) -> dict:
    config = {"type": "postgres"}
    for field, key in (("host", "host"), ("database", "database"), ("user", "user")):
        config[key] = _checked_value(fs, f"onlineStore.postgres.{field}", postgres[field])
    config["port"] = postgres["port"]

    # Feast requires a password; an empty one suits trust or certificate
    # authentication.
    if postgres.get("passwordSecretRef"):
        config["password"] = EnvReference(env_reference(ENV_POSTGRES_PASSWORD))
    else:
        config["password"] = ""

    if postgres.get("schema"):
        config["db_schema"] = _checked_value(fs, "onlineStore.postgres.schema", postgres["schema"])
    if postgres.get("sslmode"):
        config["sslmode"] = postgres["sslmode"]
    return config


def _online_store_config(fs: Mapping) -> dict:
    online = online_store_spec(fs)
    store_type = online["type"]

    if store_type == "sqlite":
        return {"type": "sqlite", "path": _checked_repo_path(fs, "onlineStore.path", online["path"])}

    settings = online.get(store_type)
    if store_type not in ("redis", "postgres"):
        raise ValueError(
            f"FeatureStore {object_name(fs)!r}: onlineStore.type {store_type!r} is unknown: "
            f"use sqlite, redis or postgres"
        )
    if not settings:
        raise ValueError(
            f"FeatureStore {object_name(fs)!r}: onlineStore.type {store_type} needs "
            f"onlineStore.{store_type}: add its settings"
        )

    if store_type == "redis":
        return _redis_config(fs, settings)
    return _postgres_config(fs, settings)


def _offline_store_config(fs: Mapping) -> dict:
    offline = offline_store_spec(fs)
    if offline["type"] not in ("file", "duckdb"):
        raise ValueError(
            f"FeatureStore {object_name(fs)!r}: offlineStore.type {offline['type']!r} is "
            f"unknown: use file or duckdb"
        )
    return {"type": offline["type"]}


def _checked_project(fs: Mapping) -> str:
    project = project_name(fs)
    if len(project) > PROJECT_MAX_LENGTH or not re.match(PROJECT_PATTERN, project):
        raise ValueError(
            f"FeatureStore {object_name(fs)!r}: project {project!r} is invalid: Feast project "
            f"names use letters, digits and '_', start with a letter or digit and here have "
            f"at most {PROJECT_MAX_LENGTH} characters"
        )
    return project


def feature_store_config(fs: Mapping) -> dict:
    """Build the content of feature_store.yaml as a dict, with paths relative to the feature repo."""
    return {
        "project": _checked_project(fs),
        "provider": "local",
        "registry": _registry_config(fs),
        "online_store": _online_store_config(fs),
        "offline_store": _offline_store_config(fs),
        "entity_key_serialization_version": ENTITY_KEY_SERIALIZATION_VERSION,
    }


def render_feature_store_yaml(fs: Mapping) -> str:
    """Render feature_store.yaml for FeatureStore `fs`; raise ValueError on an invalid setting."""
    return yaml.dump(
        feature_store_config(fs),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
    )


def secret_env(fs: Mapping) -> list[dict]:
    """Return the container variables, taken from Secrets, that feature_store.yaml references."""
    env = []

    registry = registry_spec(fs)
    if registry["type"] == "sql":
        env.append(_secret_variable(ENV_REGISTRY_URL, registry["sql"]["urlSecretRef"]))

    online = online_store_spec(fs)
    settings = online.get(online["type"]) or {}
    if online["type"] == "redis" and settings.get("passwordSecretRef"):
        env.append(_secret_variable(ENV_REDIS_PASSWORD, settings["passwordSecretRef"]))
    if online["type"] == "postgres" and settings.get("passwordSecretRef"):
        env.append(_secret_variable(ENV_POSTGRES_PASSWORD, settings["passwordSecretRef"]))
    return env


def _secret_variable(name: str, secret_ref: Mapping) -> dict:
    return {
        "name": name,
        "valueFrom": {"secretKeyRef": {"name": secret_ref["name"], "key": secret_ref["key"]}},
    }
