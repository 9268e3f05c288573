"""The apply task: sync the definitions into the repo and register them with Feast.

The steps run under the repo's writer lock. The task validates the rendered
feature_store.yaml and syncs the definition files from the ConfigMap volume
or a git checkout. Then it backs up a file registry, imports the definitions
and applies them through Feast's Python API. If that fails, it restores the
registry.

A failed apply leaves the new definition files in the repo, but the
registry, which every reader of the store uses, stays as it was.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feast
from feast import FeatureStore
from feast.errors import (
    ConflictingFeatureViewNames,
    DataSourceNoNameException,
    DataSourceRepeatNamesException,
    EntityTimestampInferenceException,
    FeastObjectNotFoundException,
    FeatureViewMissingDuringFeatureServiceInference,
    RegistryInferenceFailure,
)
from feast.repo_operations import apply_total_with_repo_instance

from featurestore_operator.jobs import git_source
from featurestore_operator.jobs.backup import back_up_registry, store_files
from featurestore_operator.jobs.config import CONFIG_FILE_NAME, load_config
from featurestore_operator.jobs.definitions import load_definitions
from featurestore_operator.jobs.lock import writer_lock
from featurestore_operator.jobs.result import (
    REASON_DEFINITION_ERROR,
    REASON_SOURCE_ERROR,
    TaskFailure,
    describe_error,
)
from featurestore_operator.jobs.sync import collect_files, sync_files

logger = logging.getLogger(__name__)

TASK = "apply"

# Errors that Feast raises while applying definitions that it imported
# without error: inconsistent definitions, which a retry cannot fix.
DEFINITION_APPLY_ERRORS = (
    ConflictingFeatureViewNames,
    DataSourceNoNameException,
    DataSourceRepeatNamesException,
    EntityTimestampInferenceException,
    FeastObjectNotFoundException,
    FeatureViewMissingDuringFeatureServiceInference,
    RegistryInferenceFailure,
    TypeError,
    ValueError,
)


@dataclass
class GitSource:
    """The git repository, ref and path of the definitions, and the credentials directory."""

    url: str
    ref: str
    path: str = ""
    credentials_dir: Path | None = None


def _collect_source(
    source_dir: Path, git: GitSource | None, work_dir: Path
) -> tuple[dict[str, Path], str | None]:
    """Return the files to sync, by repo-relative path, and the git revision if any."""
    config_file = source_dir / CONFIG_FILE_NAME
    if git is None:
        files = collect_files(source_dir)
        revision = None
    else:
        checkout = git_source.checkout(
            git.url, git.ref, git.path, git.credentials_dir, work_dir
        )
        files = collect_files(checkout.definitions_dir)
        revision = checkout.revision

    if not any(relative.endswith(".py") for relative in files):
        raise TaskFailure(
            REASON_SOURCE_ERROR,
            "The source has no .py definition file. Add the feature definitions to the "
            "FeatureStore's repo source.",
            user_error=True,
        )
    files[CONFIG_FILE_NAME] = config_file.resolve()
    return files, revision


def _names(objects: list[Any]) -> list[str]:
    return sorted({item.name for item in objects})


def describe_registry(store: FeatureStore) -> dict[str, Any]:
    """List what the registry holds for the store's project, as the result's lists."""
    store.refresh_registry()
    return {
        "featureViews": _names(store.list_all_feature_views()),
        "entities": _names(store.list_entities()),
        "dataSources": _names(store.list_data_sources()),
        "featureServices": _names(store.list_feature_services()),
    }


def _apply_to_feast(repo: Path, config) -> FeatureStore:
    contents = load_definitions(repo, config)
    project = contents.projects[0].name
    store = FeatureStore(repo_path=str(repo), config=config)
    logger.info(
        "Applying %d feature views and %d entities to project %s",
        len(contents.feature_views)
        + len(contents.stream_feature_views)
        + len(contents.on_demand_feature_views),
        len(contents.entities) - 1,  # parse_repo adds Feast's dummy entity
        project,
    )
    try:
        apply_total_with_repo_instance(
            store, project, store.registry, contents, skip_source_validation=False
        )
    except DEFINITION_APPLY_ERRORS as error:
        raise TaskFailure(
            REASON_DEFINITION_ERROR,
            f"Feast rejected the definitions: {describe_error(error)}. Fix the definitions in "
            "the source and apply again.",
            user_error=True,
        ) from error
    return store


def run_apply(
    repo: Path,
    source_dir: Path,
    git: GitSource | None = None,
) -> dict[str, Any]:
    """Sync and apply the feature repo at repo; return the success result.

    Raises TaskFailure for every failure that has a reason; any other
    exception is a FeastError for the caller to report.
    """
    started = time.monotonic()
    repo = repo.resolve()
    repo.mkdir(parents=True, exist_ok=True)

    with writer_lock(repo, TASK):
        # Validate the rendered config before the sync writes anything.
        config = load_config(source_dir / CONFIG_FILE_NAME, repo)

        with tempfile.TemporaryDirectory(prefix="featurestore-git-") as work_dir:
            files, revision = _collect_source(source_dir, git, Path(work_dir))
            sync_files(repo, files, protected=store_files(config, repo))

        backup = back_up_registry(config, repo)
        try:
            store = _apply_to_feast(repo, config)
        except BaseException:
            if backup is not None:
                backup.restore()
            raise
        if backup is not None:
            backup.discard()

        result: dict[str, Any] = {
            "task": TASK,
            "ok": True,
            "project": config.project,
            **describe_registry(store),
            "feastVersion": feast.__version__,
            "durationSeconds": round(time.monotonic() - started, 2),
        }
        if revision is not None:
            result["sourceRevision"] = revision
        return result

