"""Back up a file registry before an apply and restore it if the apply fails.

Only a registry file on the repo's own file system is backed up: a registry
in object storage or a SQL database is left to that service.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from feast.repo_config import RepoConfig

from featurestore_operator.jobs.lock import STATE_DIR_NAME

logger = logging.getLogger(__name__)

BACKUP_NAME = "registry.db.backup"


def _local_path(path: str | None, repo: Path) -> Path | None:
    """Return path as an absolute local path, or None if it is empty or a URL."""
    if not path or urlsplit(path).scheme not in ("", "file"):
        return None
    local = Path(urlsplit(path).path) if path.startswith("file:") else Path(path)
    return local if local.is_absolute() else repo / local


def registry_file(config: RepoConfig, repo: Path) -> Path | None:
    """Return the local file of a file registry, or None for any other registry."""
    registry = config.registry
    if getattr(registry, "registry_type", "file") != "file":
        return None
    return _local_path(getattr(registry, "path", None), repo)


def store_files(config: RepoConfig, repo: Path) -> frozenset[Path]:
    """Return the local files of the registry and the online store, which a sync must not overwrite."""
    files = {registry_file(config, repo)}
    online_store = config.online_store
    if online_store is not None and getattr(online_store, "type", None) == "sqlite":
        files.add(_local_path(getattr(online_store, "path", None), repo))
    return frozenset(path for path in files if path is not None)


@dataclass
class RegistryBackup:
    """A registry file and its backup copy, or no copy when the registry did not exist yet."""

    registry: Path
    copy: Path | None

    def restore(self) -> None:
        """Put the registry back as it was before the apply."""
        if self.copy is None:
            # The apply created the registry: remove whatever part it wrote.
            self.registry.unlink(missing_ok=True)
            logger.info("Removed the registry %s, which the failed apply created", self.registry)
            return
        staged = self.registry.with_name(f".{self.registry.name}.restore")
        shutil.copy2(self.copy, staged)
        os.replace(staged, self.registry)
        logger.info("Restored the registry %s from %s", self.registry, self.copy)

    def discard(self) -> None:
        if self.copy is not None:
            self.copy.unlink(missing_ok=True)


def back_up_registry(config: RepoConfig, repo: Path) -> RegistryBackup | None:
    """Copy a local file registry into the repo's state directory; None if it is not local."""
    registry = registry_file(config, repo)
    if registry is None:
        logger.info("The registry is not a local file: no backup is taken before the apply")
        return None
    if not registry.exists():
        return RegistryBackup(registry=registry, copy=None)

    copy = repo / STATE_DIR_NAME / BACKUP_NAME
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(registry, copy)
    logger.info("Backed up the registry %s to %s", registry, copy)
    return RegistryBackup(registry=registry, copy=copy)
