"""feature_store.yaml rendering, checked by loading each result with Feast itself."""

import re

import pytest
import yaml

from featurestore_operator.repo_config import (
    ENV_POSTGRES_PASSWORD,
    ENV_REDIS_PASSWORD,
    ENV_REGISTRY_URL,
    PROJECT_PATTERN,
    render_feature_store_yaml,
    secret_env,
)

SECRET_REF = {"name": "store-secrets", "key": "value"}

# One spec fragment per store setting that the renderer handles.
STORE_SPECS = {
    "defaults": {},
    "file-registry-cache": {"registry": {"path": "registry/main.db", "cacheTtlSeconds": 0}},
    "sql-registry": {"registry": {"type": "sql", "sql": {"urlSecretRef": SECRET_REF}}},
    "sqlite-path": {"onlineStore": {"type": "sqlite", "path": "online/store.db"}},
    "redis": {"onlineStore": {"type": "redis", "redis": {"address": "redis.cache:6379"}}},
    "redis-password-ssl-cluster": {
        "onlineStore": {
            "type": "redis",
            "redis": {
                "address": "r1:6379,r2:6379",
                "passwordSecretRef": SECRET_REF,
                "ssl": True,
                "redisType": "redis_cluster",
            },
        }
    },
    "postgres": {
        "onlineStore": {
            "type": "postgres",
            "postgres": {"host": "pg.db", "database": "feast", "user": "feast"},
        }
    },
    "postgres-password-schema": {
        "onlineStore": {
            "type": "postgres",
            "postgres": {
                "host": "pg.db",
                "port": 6432,
                "database": "feast",
                "user": "feast",
                "passwordSecretRef": SECRET_REF,
                "schema": "features",
                "sslmode": "verify-full",
            },
        }
    },
    "duckdb": {"offlineStore": {"type": "duckdb"}},
}

# Dummy secret values with characters that YAML would misread if the
# references were not quoted.
DUMMY_SECRETS = {
    ENV_REGISTRY_URL: "postgresql+psycopg://feast:p#ss: word@pg.db:5432/registry",
    ENV_REDIS_PASSWORD: "s3cr#t: x",
    ENV_POSTGRES_PASSWORD: "p@ss: #word",
}


def env_for(fs: dict) -> dict[str, str]:
    return {variable["name"]: DUMMY_SECRETS[variable["name"]] for variable in secret_env(fs)}


def test_default_rendering(feature_store):
    config = yaml.safe_load(render_feature_store_yaml(feature_store(project="bc")))

    assert config == {
        "project": "bc",
        "provider": "local",
        "registry": {"registry_type": "file", "path": "data/registry.db"},
        "online_store": {"type": "sqlite", "path": "data/online_store.db"},
        "offline_store": {"type": "file"},
        "entity_key_serialization_version": 3,
    }


@pytest.mark.parametrize("name", sorted(STORE_SPECS))
def test_rendered_yaml_loads_with_feast(feature_store, load_with_feast, name):
    fs = feature_store(project="bc", **STORE_SPECS[name])
    loaded = load_with_feast(render_feature_store_yaml(fs), env_for(fs))

    assert loaded["ok"], loaded.get("error")
    assert loaded["project"] == "bc"
    assert loaded["entity_key_serialization_version"] == 3


def test_feast_reads_file_stores(feature_store, load_with_feast):
    fs = feature_store(**STORE_SPECS["file-registry-cache"], **STORE_SPECS["sqlite-path"])
    loaded = load_with_feast(render_feature_store_yaml(fs))

    assert loaded["registry"]["registry_type"] == "file"
    assert loaded["registry"]["path"] == "registry/main.db"
    assert loaded["registry"]["cache_ttl_seconds"] == 0
    assert loaded["online_store"]["path"] == "online/store.db"
    assert loaded["offline_store"]["type"] in ("file", "dask")


def test_feast_substitutes_sql_registry_url(feature_store, load_with_feast):
    fs = feature_store(**STORE_SPECS["sql-registry"])
    loaded = load_with_feast(render_feature_store_yaml(fs), env_for(fs))

    assert loaded["registry"]["registry_type"] == "sql"
    assert loaded["registry"]["path"] == DUMMY_SECRETS[ENV_REGISTRY_URL]


def test_feast_substitutes_redis_password(feature_store, load_with_feast):
    fs = feature_store(**STORE_SPECS["redis-password-ssl-cluster"])
    loaded = load_with_feast(render_feature_store_yaml(fs), env_for(fs))

    assert loaded["online_store"]["redis_type"] == "redis_cluster"
    assert loaded["online_store"]["connection_string"] == (
        f"r1:6379,r2:6379,password={DUMMY_SECRETS[ENV_REDIS_PASSWORD]},ssl=true"
    )


def test_feast_substitutes_postgres_password(feature_store, load_with_feast):
    fs = feature_store(**STORE_SPECS["postgres-password-schema"])
    loaded = load_with_feast(render_feature_store_yaml(fs), env_for(fs))
    online = loaded["online_store"]

    assert online["password"] == DUMMY_SECRETS[ENV_POSTGRES_PASSWORD]
    assert online["host"] == "pg.db"
    assert online["port"] == 6432
    assert online["db_schema"] == "features"
    assert online["sslmode"] == "verify-full"


def test_postgres_without_password_secret(feature_store, load_with_feast):
    loaded = load_with_feast(render_feature_store_yaml(feature_store(**STORE_SPECS["postgres"])))

    assert loaded["online_store"]["password"] == ""
    assert loaded["online_store"]["port"] == 5432


def test_unset_secret_variable_stays_literal(feature_store, load_with_feast):
    # Without the variable, Feast keeps the literal reference: the Job must get
    # the variables from secret_env().
    fs = feature_store(**STORE_SPECS["postgres-password-schema"])
    loaded = load_with_feast(render_feature_store_yaml(fs))

    assert loaded["online_store"]["password"] == "${FEATURESTORE_POSTGRES_PASSWORD}"


@pytest.mark.parametrize("name", sorted(STORE_SPECS))
def test_secret_env_covers_every_reference(feature_store, name):
    fs = feature_store(**STORE_SPECS[name])
    referenced = set(re.findall(r"\$\{([A-Z0-9_]+)\}", render_feature_store_yaml(fs)))

    assert {variable["name"] for variable in secret_env(fs)} == referenced


def test_secret_env_uses_secret_key_refs(feature_store):
    fs = feature_store(**STORE_SPECS["sql-registry"], **STORE_SPECS["redis-password-ssl-cluster"])

    assert secret_env(fs) == [
        {"name": ENV_REGISTRY_URL, "valueFrom": {"secretKeyRef": SECRET_REF}},
        {"name": ENV_REDIS_PASSWORD, "valueFrom": {"secretKeyRef": SECRET_REF}},
    ]


def test_rendered_yaml_has_only_references_with_dollar(feature_store):
    fs = feature_store(**STORE_SPECS["sql-registry"], **STORE_SPECS["postgres-password-schema"])
    text = render_feature_store_yaml(fs)

    assert text.count("$") == 2
    assert "'${FEATURESTORE_REGISTRY_URL}'" in text
    assert "'${FEATURESTORE_POSTGRES_PASSWORD}'" in text


@pytest.mark.parametrize(
    "spec",
    [
        {"registry": {"path": "data/$HOME.db"}},
        {"onlineStore": {"type": "postgres", "postgres": {"host": "pg", "database": "${DB}", "user": "u"}}},
        {"onlineStore": {"type": "redis", "redis": {"address": "$REDIS:6379"}}},
    ],
    ids=["registry-path", "postgres-database", "redis-address"],
)
def test_dollar_in_value_rejected(feature_store, spec):
    with pytest.raises(ValueError, match="contains '\\$'"):
        render_feature_store_yaml(feature_store(**spec))


@pytest.mark.parametrize("path", ["/data/registry.db", "../registry.db", "data/../../x.db", ""])
def test_path_outside_repo_rejected(feature_store, path):
    with pytest.raises(ValueError, match="relative to the feature repo"):
        render_feature_store_yaml(feature_store(registry={"path": path}))


def test_sql_registry_requires_secret(feature_store):
    with pytest.raises(ValueError, match="urlSecretRef"):
        render_feature_store_yaml(feature_store(registry={"type": "sql"}))


def test_online_store_type_requires_settings(feature_store):
    with pytest.raises(ValueError, match="needs onlineStore.redis"):
        render_feature_store_yaml(feature_store(onlineStore={"type": "redis"}))


@pytest.mark.parametrize("project", ["fraud-detection", "_private", "bad name", "x" * 64])
def test_invalid_project_rejected(feature_store, project):
    with pytest.raises(ValueError, match="project"):
        render_feature_store_yaml(feature_store(project=project))


@pytest.mark.parametrize(
    "project", ["bc", "breast_cancer", "Team1", "1st", "a-b", "_a", "-a", "a.b", "a b", "a$b"]
)
def test_project_pattern_agrees_with_feast(feature_store, load_with_feast, project):
    config = {"project": project, "provider": "local", "registry": "data/registry.db"}
    loaded = load_with_feast(yaml.safe_dump(config))

    assert loaded["ok"] == bool(re.match(PROJECT_PATTERN, project)), loaded.get("error")
