"""Sync definition files from a source directory into the feature repo.

The repo on the PVC also contains files that the sync must never touch: data
files, the registry, the online store. So the sync records the files it wrote
in `<repo>/.featurestore/synced-files.json`, and on the next run removes only
those recorded files that the source no longer has.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from featurestore_operator.jobs.lock import STATE_DIR_NAME
from featurestore_operator.jobs.result import REASON_SOURCE_ERROR, TaskFailure

logger = logging.getLogger(__name__)

MANIFEST_NAME = "synced-files.json"
CONFIG_FILE_NAME = "feature_store.yaml"

# Directories never synced: git's own data and Python's byte-code caches.
SKIPPED_DIR_NAMES = frozenset({".git", "__pycache__"})


@dataclass
class SyncReport:
    """The relative paths that one sync wrote, left unchanged and removed."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return sorted(self.written + self.unchanged)


def manifest_path(repo: Path) -> Path:
    return repo / STATE_DIR_NAME / MANIFEST_NAME


def _is_kubernetes_entry(name: str) -> bool:
    # A ConfigMap volume contains `..data` and `..<timestamp>` entries next to
    # the keys. A key itself cannot start with "..".
    return name.startswith("..")


def collect_files(root: Path, *, skip_config: bool = True) -> dict[str, Path]:
    """Map each file under root, by its POSIX path relative to root, to its real location.

    Skips Kubernetes' `..` entries of ConfigMap volumes, `.git` and
    `__pycache__` directories, the operator's state directory and, with
    skip_config, a feature_store.yaml at the top, because the operator's
    rendering of that file wins. Symbolic links are followed only when they
    point inside root, so a source cannot copy files from elsewhere.
    """
    root_resolved = root.resolve()
    files: dict[str, Path] = {}
    for directory, dir_names, file_names in os.walk(root):
        dir_names[:] = sorted(
            name
            for name in dir_names
            if not _is_kubernetes_entry(name)
            and name not in SKIPPED_DIR_NAMES
            and not (Path(directory) == root and name == STATE_DIR_NAME)
        )
        for name in sorted(file_names):
            if _is_kubernetes_entry(name):
                continue
            path = Path(directory) / name
            relative = path.relative_to(root).as_posix()
            if skip_config and relative == CONFIG_FILE_NAME:
                continue

            resolved = path.resolve()
            if not resolved.is_relative_to(root_resolved):
                logger.warning("Skipped %s: it links outside the source directory", relative)
                continue
            if not resolved.is_file():
                continue
            files[relative] = resolved
    return files


def _safe_relative(relative: str) -> bool:
    path = PurePosixPath(relative)
    return bool(relative) and not path.is_absolute() and ".." not in path.parts


def read_manifest(repo: Path) -> list[str]:
    """Return the relative paths that the previous sync wrote, or [] if there was none."""
    path = manifest_path(repo)
    try:
        recorded = json.loads(path.read_text(encoding="utf-8")).get("files", [])
    except FileNotFoundError:
        return []
    except (OSError, ValueError, AttributeError) as error:
        logger.warning("Ignored the unreadable sync manifest %s: %s", path, error)
        return []
    return [item for item in recorded if isinstance(item, str) and _safe_relative(item)]


def _write_atomically(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remove_empty_parents(path: Path, repo: Path) -> None:
    parent = path.parent
    while parent != repo and parent.is_relative_to(repo):
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent


def sync_files(
    repo: Path, files: dict[str, Path], protected: frozenset[Path] = frozenset()
) -> SyncReport:
    """Copy files (relative path to source file) into repo and remove stale synced files.

    Paths in protected (the registry, the online store) are never written,
    nor is anything under the operator's state directory.
    """
    report = SyncReport()
    protected_resolved = {path.resolve() for path in protected}
    previous = set(read_manifest(repo))

    for relative, source in sorted(files.items()):
        target = repo / relative
        if (
            not _safe_relative(relative)
            or PurePosixPath(relative).parts[0] == STATE_DIR_NAME
            or target.resolve() in protected_resolved
        ):
            logger.warning("Skipped %s: the operator keeps that path to itself", relative)
            report.skipped.append(relative)
            continue
        if target.is_dir() and not target.is_symlink():
            raise TaskFailure(
                REASON_SOURCE_ERROR,
                f"Cannot sync {relative}: the feature repo has a directory at that path. "
                "Rename the file in the source or remove the directory from the repo.",
                user_error=True,
                file=relative,
            )

        content = source.read_bytes()
        if target.is_file() and not target.is_symlink() and target.read_bytes() == content:
            report.unchanged.append(relative)
            continue
        _write_atomically(target, content)
        report.written.append(relative)

    current = set(report.files)
    for relative in sorted(previous - current):
        target = repo / relative
        if PurePosixPath(relative).parts[0] == STATE_DIR_NAME or (
            target.resolve() in protected_resolved
        ):
            continue
        if target.is_symlink() or target.is_file():
            target.unlink()
            _remove_empty_parents(target, repo)
            report.removed.append(relative)

    _write_atomically(
        manifest_path(repo),
        json.dumps({"files": report.files}, indent=2).encode("utf-8") + b"\n",
    )
    logger.info(
        "Synced definitions into %s: %d written, %d unchanged, %d removed",
        repo,
        len(report.written),
        len(report.unchanged),
        len(report.removed),
    )
    for relative in report.removed:
        logger.info("Removed %s, which the source no longer has", relative)
    return report
