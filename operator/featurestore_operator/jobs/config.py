"""Load and validate feature_store.yaml with Feast's own config model.

Feast 0.67 (feast.repo_config.load_repo_config) runs os.path.expandvars over
the whole file before parsing it, so `${NAME}` takes the value of the
environment variable NAME; the operator passes credentials from Secrets that
way. This module does the same and reports every problem as an
InvalidConfig failure that names the key, its value and the fix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable

import yaml
from feast.errors import FeastError
from feast.infra.provider import get_provider
from feast.repo_config import (
    RegistryConfig,
    RepoConfig,
    get_batch_engine_config_from_type,
    get_feature_server_config_from_type,
    get_offline_config_from_type,
    get_online_config_from_type,
    get_registry_config_from_type,
)
from pydantic import ValidationError

from featurestore_operator.jobs.result import REASON_INVALID_CONFIG, TaskFailure

CONFIG_FILE_NAME = "feature_store.yaml"

# The fix, as it reads at the end of every message: the operator renders the
# file from the FeatureStore's spec.
FIX_HINT = "Fix it in the FeatureStore spec (registry, onlineStore, offlineStore) and apply again."

_UNRESOLVED_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _registry_config_class(section: dict[str, Any]) -> Callable[..., Any]:
    if "registry_type" in section:
        return get_registry_config_from_type(section["registry_type"])
    return RegistryConfig


# Sections that Feast validates with a class chosen by their "type", in the
# order RepoConfig resolves them, with the type Feast assumes when it is
# missing.
_SECTIONS: dict[str, Callable[[dict[str, Any]], Callable[..., Any]]] = {
    "registry": _registry_config_class,
    "online_store": lambda section: get_online_config_from_type(section.get("type", "sqlite")),
    "offline_store": lambda section: get_offline_config_from_type(section.get("type", "dask")),
    "batch_engine": lambda section: get_batch_engine_config_from_type(section.get("type", "local")),
    "feature_server": lambda section: get_feature_server_config_from_type(section["type"]),
}


def invalid_config(key: str, message: str) -> TaskFailure:
    return TaskFailure(
        REASON_INVALID_CONFIG,
        f"{CONFIG_FILE_NAME}: {message} {FIX_HINT}",
        user_error=True,
        key=key or None,
    )


def _join_key(*parts: Any) -> str:
    return ".".join(str(part) for part in parts if part not in (None, ""))


def _from_validation_error(error: ValidationError, section: str | None) -> TaskFailure:
    """Build the failure for the first error of a pydantic ValidationError."""
    first = error.errors()[0]
    key = _join_key(section, *first.get("loc", ()))
    if first.get("type") == "missing":
        return invalid_config(key, f"{key} is missing ({first.get('msg')}).")
    if first.get("type") == "extra_forbidden":
        return invalid_config(key, f"unknown key {key}: remove it or correct its spelling.")
    value = first.get("input")
    return invalid_config(key, f"invalid value {value!r} for {key}: {first.get('msg')}.")


def find_unresolved_variables(value: Any, key: str = "") -> list[tuple[str, str]]:
    """Find `${NAME}` references that expandvars left in place, as (key, NAME) pairs."""
    found = []
    if isinstance(value, dict):
        for child_key, child in value.items():
            found += find_unresolved_variables(child, _join_key(key, child_key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += find_unresolved_variables(child, _join_key(key, index))
    elif isinstance(value, str):
        found += [(key, name) for name in _UNRESOLVED_VARIABLE.findall(value)]
    return found


def parse_config_text(text: str) -> dict[str, Any]:
    """Expand environment variables in text and parse it as YAML, as Feast does."""
    try:
        raw = yaml.safe_load(os.path.expandvars(text))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise invalid_config("", f"invalid YAML{where}: {problem}.") from error
    if not isinstance(raw, dict):
        raise invalid_config("", f"expected a mapping of settings, got {type(raw).__name__}.")

    unresolved = find_unresolved_variables(raw)
    if unresolved:
        key, name = unresolved[0]
        raise invalid_config(
            key,
            f"{key} refers to the environment variable {name!r}, which is not set in the Job; "
            "set it through the secretRef or runner env that provides it.",
        )
    return raw


def _validate_sections(raw: dict[str, Any]) -> None:
    """Validate each store section with its own config class, so errors carry the section's key."""
    for section, config_class_for in _SECTIONS.items():
        value = raw.get(section)
        if not isinstance(value, dict):
            continue
        type_key = "registry_type" if section == "registry" else "type"
        try:
            config_class = config_class_for(value)
        except (FeastError, AssertionError, ImportError, KeyError, ValueError) as error:
            type_value = value.get(type_key)
            raise invalid_config(
                _join_key(section, type_key),
                f"invalid value {type_value!r} for {_join_key(section, type_key)}: "
                f"{str(error) or 'not a known type'}.",
            ) from error
        try:
            config_class(**value)
        except ValidationError as error:
            raise _from_validation_error(error, section) from error


def load_config(config_file: Path, repo: Path) -> RepoConfig:
    """Load config_file as the RepoConfig of the feature repo at repo, validating every section.

    Raises TaskFailure with reason InvalidConfig for any invalid key or value.
    """
    try:
        text = config_file.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise TaskFailure(
            REASON_INVALID_CONFIG,
            f"{config_file} not found: the Job needs the feature_store.yaml that the operator renders.",
            user_error=False,
        ) from error

    raw = parse_config_text(text)
    _validate_sections(raw)

    try:
        config = RepoConfig(**raw)
    except ValidationError as error:
        raise _from_validation_error(error, None) from error
    except FeastError as error:
        # RepoConfig raises FeastRegistryNotSetError without a registry key.
        raise invalid_config("registry", f"{error}.") from error
    config.repo_path = repo

    # RepoConfig resolves its sections lazily: resolve them now, so that an
    # invalid value fails here and not halfway through the task.
    for section, attribute in (
        ("registry", "registry"),
        ("online_store", "online_store"),
        ("offline_store", "offline_store"),
        ("batch_engine", "batch_engine"),
        ("auth", "auth_config"),
    ):
        try:
            getattr(config, attribute)
        except ValidationError as error:
            raise _from_validation_error(error, section) from error
        except (FeastError, ValueError) as error:
            raise invalid_config(section, f"invalid {section}: {error}.") from error

    try:
        get_provider(config)
    except FeastError as error:
        raise invalid_config(
            "provider", f"invalid value {config.provider!r} for provider: {error}."
        ) from error
    return config
