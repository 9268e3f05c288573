"""The CRD files: structural schemas, descriptions everywhere, and defaults equal to the code's."""

from pathlib import Path

import pytest
import yaml

from featurestore_operator import api, templates
from featurestore_operator.repo_config import PROJECT_MAX_LENGTH, PROJECT_PATTERN
from featurestore_operator.resources import spec as defaults

CRD_DIR = Path(__file__).resolve().parents[2] / "crds"
CRD_FILES = {
    api.FEATURESTORE_KIND: CRD_DIR / "featurestores.yaml",
    api.MATERIALIZATION_KIND: CRD_DIR / "materializations.yaml",
}

# Keys that the apiextensions API forbids inside anyOf/allOf/oneOf/not of a
# structural schema.
FORBIDDEN_IN_JUNCTORS = {"description", "type", "default", "additionalProperties", "nullable"}


def load_crd(kind: str) -> dict:
    documents = list(yaml.safe_load_all(CRD_FILES[kind].read_text()))
    assert len(documents) == 1, f"{CRD_FILES[kind].name} must hold exactly one document"
    return documents[0]


def root_schema(kind: str) -> dict:
    return load_crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def walk(schema: dict, path: str = ""):
    """Yield (path, schema) for `schema` and every schema nested in it."""
    yield path, schema
    for name, child in (schema.get("properties") or {}).items():
        yield from walk(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from walk(schema["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize("kind", sorted(CRD_FILES))
def test_crd_names(kind):
    crd = load_crd(kind)
    plural = {api.FEATURESTORE_KIND: api.FEATURESTORE_PLURAL, api.MATERIALIZATION_KIND: api.MATERIALIZATION_PLURAL}[kind]
    short_name = {api.FEATURESTORE_KIND: "fst", api.MATERIALIZATION_KIND: "mat"}[kind]

    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{plural}.{api.GROUP}"
    assert crd["spec"]["group"] == api.GROUP
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"]["kind"] == kind
    assert crd["spec"]["names"]["plural"] == plural
    assert crd["spec"]["names"]["shortNames"] == [short_name]
    assert crd["spec"]["names"]["categories"] == ["mlops"]


@pytest.mark.parametrize("kind", sorted(CRD_FILES))
def test_crd_version_has_status_subresource(kind):
    versions = load_crd(kind)["spec"]["versions"]

    assert [version["name"] for version in versions] == [api.VERSION]
    assert versions[0]["served"] is True
    assert versions[0]["storage"] is True
    assert versions[0]["subresources"] == {"status": {}}


@pytest.mark.parametrize("kind", sorted(CRD_FILES))
def test_every_property_has_description(kind):
    undocumented = [
        path
        for path, schema in walk(root_schema(kind))
        # metadata is the standard ObjectMeta, described by Kubernetes itself.
        if path and path != ".metadata" and not schema.get("description")
        and not path.endswith(("[]", "{}"))
    ]
    assert undocumented == []


@pytest.mark.parametrize("kind", sorted(CRD_FILES))
def test_schema_is_structural(kind):
    problems = []
    for path, schema in walk(root_schema(kind)):
        if "type" not in schema and not schema.get("x-kubernetes-int-or-string"):
            problems.append(f"{path or '<root>'}: no type")
        if "properties" in schema and "additionalProperties" in schema:
            problems.append(f"{path}: both properties and additionalProperties")
        if schema.get("type") == "array" and "items" not in schema:
            problems.append(f"{path}: array without items")
        for junctor in ("anyOf", "allOf", "oneOf", "not"):
            members = schema.get(junctor) or []
            for member in members if isinstance(members, list) else [members]:
                forbidden = FORBIDDEN_IN_JUNCTORS & set(member)
                # int-or-string is the one allowed use of type inside anyOf.
                if schema.get("x-kubernetes-int-or-string") and set(member) == {"type"}:
                    continue
                if forbidden:
                    problems.append(f"{path}.{junctor}: {sorted(forbidden)}")
    assert problems == []


@pytest.mark.parametrize("kind", sorted(CRD_FILES))
def test_status_schema_is_typed(kind):
    status = root_schema(kind)["properties"]["status"]

    assert status["type"] == "object"
    assert not status.get("x-kubernetes-preserve-unknown-fields")
    assert "phase" in status["properties"]
    assert "conditions" in status["properties"]
    assert status["properties"]["conditions"]["x-kubernetes-list-map-keys"] == ["type"]


def test_featurestore_printer_columns():
    columns = load_crd(api.FEATURESTORE_KIND)["spec"]["versions"][0]["additionalPrinterColumns"]

    assert [(column["name"], column["jsonPath"], column["type"]) for column in columns] == [
        ("Project", ".spec.project", "string"),
        ("Phase", ".status.phase", "string"),
        ("Feature Views", ".status.featureViewCount", "integer"),
        ("Last Applied", ".status.lastAppliedTime", "date"),
        ("Age", ".metadata.creationTimestamp", "date"),
    ]


def test_materialization_printer_columns():
    columns = load_crd(api.MATERIALIZATION_KIND)["spec"]["versions"][0]["additionalPrinterColumns"]

    assert [(column["name"], column["jsonPath"], column["type"]) for column in columns] == [
        ("Store", ".spec.featureStore", "string"),
        ("Mode", ".spec.mode", "string"),
        ("Schedule", ".spec.schedule", "string"),
        ("Phase", ".status.phase", "string"),
        ("Last Success", ".status.lastSuccessTime", "date"),
        ("Age", ".metadata.creationTimestamp", "date"),
    ]


def declared_defaults(schema: dict) -> dict:
    return {
        name: child["default"]
        for name, child in schema["properties"].items()
        if "default" in child
    }


def test_featurestore_defaults_match_code():
    spec = root_schema(api.FEATURESTORE_KIND)["properties"]["spec"]["properties"]
    online = spec["onlineStore"]["properties"]

    assert declared_defaults(spec["storage"]) == defaults.STORAGE_DEFAULTS
    assert declared_defaults(spec["repo"]["properties"]["git"]) == defaults.GIT_DEFAULTS
    assert declared_defaults(spec["registry"]) == defaults.REGISTRY_DEFAULTS
    assert declared_defaults(spec["onlineStore"]) == defaults.ONLINE_STORE_DEFAULTS
    assert declared_defaults(online["redis"]) == defaults.REDIS_DEFAULTS
    assert declared_defaults(online["postgres"]) == defaults.POSTGRES_DEFAULTS
    assert declared_defaults(spec["offlineStore"]) == defaults.OFFLINE_STORE_DEFAULTS
    assert (
        declared_defaults(spec["s3"]["properties"]["credentialsSecretRef"])
        == defaults.S3_CREDENTIALS_DEFAULTS
    )
    assert declared_defaults(spec["runner"]) == defaults.RUNNER_DEFAULTS


def test_materialization_defaults_match_code():
    spec = root_schema(api.MATERIALIZATION_KIND)["properties"]["spec"]

    assert declared_defaults(spec) == defaults.MATERIALIZATION_DEFAULTS


def test_materialization_runner_has_no_defaults():
    # A default here would always override the FeatureStore's runner field.
    runner = root_schema(api.MATERIALIZATION_KIND)["properties"]["spec"]["properties"]["runner"]
    defaulted = [path for path, schema in walk(runner) if "default" in schema]

    assert defaulted == []


def strip(schema, keys=("default", "description")):
    if isinstance(schema, dict):
        return {key: strip(value, keys) for key, value in schema.items() if key not in keys}
    if isinstance(schema, list):
        return [strip(item, keys) for item in schema]
    return schema


def test_materialization_runner_matches_store_runner():
    store_runner = root_schema(api.FEATURESTORE_KIND)["properties"]["spec"]["properties"]["runner"]
    mat_runner = root_schema(api.MATERIALIZATION_KIND)["properties"]["spec"]["properties"]["runner"]

    assert strip(mat_runner) == strip(store_runner)


def test_project_rule_matches_code():
    project = root_schema(api.FEATURESTORE_KIND)["properties"]["spec"]["properties"]["project"]

    assert project["pattern"] == PROJECT_PATTERN
    assert project["maxLength"] == PROJECT_MAX_LENGTH
    assert PROJECT_PATTERN in project["x-kubernetes-validations"][0]["rule"]


def test_template_enum_matches_template_directories(monkeypatch):
    monkeypatch.delenv(templates.TEMPLATE_DIR_ENV, raising=False)
    template = root_schema(api.FEATURESTORE_KIND)["properties"]["spec"]["properties"]["repo"]
    names = template["properties"]["template"]["properties"]["name"]["enum"]

    assert sorted(names) == templates.template_names()


@pytest.mark.parametrize("kind", sorted(CRD_FILES))
def test_cel_rules_have_messages(kind):
    missing = [
        f"{path}: {rule['rule']}"
        for path, schema in walk(root_schema(kind))
        for rule in schema.get("x-kubernetes-validations") or []
        if not (rule.get("message") or rule.get("messageExpression"))
    ]
    assert missing == []
