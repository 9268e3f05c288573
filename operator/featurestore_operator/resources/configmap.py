"""The repo ConfigMap: feature_store.yaml and the definition files that the apply Job syncs."""

import re
from collections.abc import Mapping

from featurestore_operator.repo_config import FEATURE_STORE_YAML, render_feature_store_yaml
from featurestore_operator.resources.labels import child_labels, child_metadata
from featurestore_operator.resources.names import repo_configmap_name
from featurestore_operator.resources.spec import object_name, repo_source

# Kubernetes' rules for ConfigMap keys (k8s.io/apimachinery IsConfigMapKey)
# and for the total size of a ConfigMap's data (1 MiB).
_CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
MAX_CONFIGMAP_KEY_LENGTH = 253
MAX_CONFIGMAP_DATA_BYTES = 1024 * 1024


def validate_configmap_key(key: str) -> None:
    """Raise ValueError unless `key` is a valid ConfigMap key, and so a flat file name."""
    if (
        not _CONFIGMAP_KEY.match(key)
        or key in (".", "..")
        or len(key) > MAX_CONFIGMAP_KEY_LENGTH
    ):
        raise ValueError(
            f"file name {key!r} cannot be a ConfigMap key: use at most "
            f"{MAX_CONFIGMAP_KEY_LENGTH} letters, digits, '-', '_' or '.', with no '/' "
            f"(a ConfigMap holds a flat list of files, so put definitions in the repo's top level)"
        )


def select_configmap_files(fs: Mapping, data: Mapping[str, str]) -> dict[str, str]:
    """Return the files of the source ConfigMap `data` that spec.repo.configMap selects.

    Without `keys` every file is selected. Raises LookupError naming any key
    that the ConfigMap lacks, together with the keys it has.
    """
    kind, source = repo_source(fs)
    if kind != "configMap":
        raise ValueError(
            f"FeatureStore {object_name(fs)!r} takes its repo from {kind}, not from a ConfigMap"
        )

    keys = source.get("keys")
    if not keys:
        return dict(data)

    missing = [key for key in keys if key not in data]
    if missing:
        raise LookupError(
            f"ConfigMap {source['name']!r} has no key {', '.join(map(repr, missing))}: "
            f"fix spec.repo.configMap.keys; the ConfigMap has {', '.join(sorted(data)) or 'no keys'}"
        )
    return {key: data[key] for key in keys}


def build_repo_configmap(fs: Mapping, files: Mapping[str, str]) -> dict:
    """Build the repo ConfigMap: `files` plus the rendered feature_store.yaml.

    A feature_store.yaml in `files` is replaced by the rendered one, because the
    FeatureStore spec is the single source of the store settings.
    Raises ValueError for a file name that is not a valid ConfigMap key or when
    the data exceeds the ConfigMap size limit.
    """
    data = {key: value for key, value in files.items() if key != FEATURE_STORE_YAML}
    for key in data:
        validate_configmap_key(key)
    data[FEATURE_STORE_YAML] = render_feature_store_yaml(fs)

    size = sum(len(key.encode()) + len(value.encode()) for key, value in data.items())
    if size > MAX_CONFIGMAP_DATA_BYTES:
        raise ValueError(
            f"the definition files of FeatureStore {object_name(fs)!r} take {size} bytes, more "
            f"than a ConfigMap holds ({MAX_CONFIGMAP_DATA_BYTES}): use a git source instead"
        )

    name = repo_configmap_name(fs)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": child_metadata(name, fs, child_labels(object_name(fs))),
        "data": dict(sorted(data.items())),
    }
